"""A local web server for tests: pages, feeds and redirects from a dict, on 127.0.0.1 and a free port."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Site:
    """path -> (status, content type, body or a redirect's Location); `hits` counts the requests per path."""

    routes: dict[str, tuple[int, str, bytes | str]]
    url: str = ""
    hits: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def serve(routes: dict[str, tuple[int, str, bytes | str]]) -> Iterator[Site]:
    site = Site(routes)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            site.hits[self.path] = site.hits.get(self.path, 0) + 1
            status, content_type, body = site.routes.get(self.path, (404, "text/plain", b"not found"))
            if 300 <= status < 400:
                self.send_response(status)
                self.send_header("Location", str(body))
                self.end_headers()
                return
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
