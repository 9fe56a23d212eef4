"""A local web server for tests, on 127.0.0.1 and a free port: pages, feeds and redirects from a dict (`serve`),
or any answer a test writes itself (`loopback`: held, dripped, compressed)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Respond = Callable[[BaseHTTPRequestHandler], None]


@contextlib.contextmanager
def loopback(respond: Respond) -> Iterator[str]:
    """A server answering every GET with `respond(handler)`; yields its URL. A client that hangs up mid-answer
    (what a refused fetch does) is no error."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            with contextlib.suppress(OSError):
                respond(self)

        def log_message(self, *_: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def send(
    handler: BaseHTTPRequestHandler, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
) -> None:
    """One whole answer, with its length."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@dataclass
class Site:
    """path -> (status, content type, body or a redirect's Location); `hits` counts the requests per path."""

    routes: dict[str, tuple[int, str, bytes | str]]
    url: str = ""
    hits: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def serve(routes: dict[str, tuple[int, str, bytes | str]]) -> Iterator[Site]:
    site = Site(routes)

    def respond(handler: BaseHTTPRequestHandler) -> None:
        site.hits[handler.path] = site.hits.get(handler.path, 0) + 1
        status, content_type, body = site.routes.get(handler.path, (404, "text/plain", b"not found"))
        if 300 <= status < 400:
            handler.send_response(status)
            handler.send_header("Location", str(body))
            handler.end_headers()
            return
        send(handler, status, content_type, body.encode("utf-8") if isinstance(body, str) else body)

    with loopback(respond) as url:
        site.url = url
        yield site
