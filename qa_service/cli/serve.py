"""`serve`: the REST API and the chat page, after checking the port and building the index on first start."""

from __future__ import annotations

import errno
import socket
import time
from typing import Annotated, Any

import typer

from qa_service.cli.shared import count, fail, load_service, print_skipped
from qa_service.config import Settings, get_settings


def ensure_index(settings: Settings) -> None:
    """First start: build the index from the seeds folder so `serve` works out of the box.

    Only a store that does not exist yet gets the seeds: an existing one, even empty, is the user's.
    """
    from qa_service.store import store_exists

    if store_exists(settings):
        return
    seeds = settings.seeds_dir
    if seeds.is_dir() and any(seeds.iterdir()):
        typer.echo(
            f"no index in {settings.index_dir}/: building it from {seeds}/ (once; the model loads first) ...", err=True
        )
        started = time.perf_counter()
        service = load_service(settings)
        try:
            report = service.ingest_paths([seeds])
            stats = service.stats()
        finally:
            service.close()
        print_skipped(report.errors)
        typer.echo(
            f"indexed {count(report.counts.get('added', 0), 'article')} ({count(stats['chunks'], 'chunk')}) "
            f"from {seeds}/ in {time.perf_counter() - started:.1f} s; starting the server",
            err=True,
        )


def check_port(host: str, port: int) -> None:
    """Stop with a hint when `host:port` cannot be listened on (another server has it), before the model loads.

    Bound the way uvicorn binds (SO_REUSEADDR), so a port left in TIME_WAIT by a stopped server counts as free.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {port} is in use: stop the other server or pass --port (or set QA_PORT)")
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1, QA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000, QA_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes sharing one index.")] = 1,
) -> None:
    """Serve the REST API and the chat page (builds the index from the seeds on first start)."""
    import uvicorn

    from qa_service.api.nodelay import NoDelayHTTPProtocol

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    check_port(host, port)
    ensure_index(settings)
    options: dict[str, Any] = {
        "factory": True,
        "http": NoDelayHTTPProtocol,  # TCP_NODELAY for every worker count: no 40 ms Nagle/delayed-ACK stall
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": settings.log_level.lower(),
        "access_log": False,  # the app logs one JSON line per request, without query strings (observability.py)
        "proxy_headers": False,  # X-Forwarded-For is believed only from QA_TRUSTED_PROXIES (the app applies it)
        "timeout_keep_alive": settings.keep_alive_s,
    }
    if workers == 1:
        uvicorn.run("qa_service.api:create_app", **options)  # exits with status 3 itself if start-up fails
        return
    from qa_service.api.workers import run_workers

    status = run_workers(uvicorn.Config("qa_service.api:create_app", **options))
    if status:
        raise typer.Exit(status)
