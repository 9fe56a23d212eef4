"""TCP_NODELAY on every served connection: no Nagle/delayed-ACK stall with `serve --workers N`."""

from __future__ import annotations

import asyncio
import socket

import pytest
from typer.testing import CliRunner

from qa_service.api.nodelay import NoDelayHTTPProtocol, set_nodelay


def _accepted_nodelay(listener: socket.socket, *, fix: bool) -> int:
    """Serve one connection on `listener` the way uvicorn's workers do; TCP_NODELAY of the accepted socket."""
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if fix:
                set_nodelay(transport)
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    asyncio.run(main())
    return seen[0]


def _listener() -> socket.socket:
    sock = socket.socket(family=socket.AF_INET)  # as uvicorn binds it for --workers: protocol 0
    sock.bind(("127.0.0.1", 0))
    return sock


def test_a_socket_bound_like_uvicorns_workers_needs_the_fix() -> None:
    assert _accepted_nodelay(_listener(), fix=False) == 0  # asyncio skipped it: the stall's cause
    assert _accepted_nodelay(_listener(), fix=True) != 0


def test_the_protocol_is_uvicorns_own_with_the_fix() -> None:
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    assert issubclass(NoDelayHTTPProtocol, AutoHTTPProtocol)
    assert "connection_made" in NoDelayHTTPProtocol.__dict__


def test_serve_gives_uvicorn_the_nodelay_protocol_for_any_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the 1-vs-2-worker latency figure guarded (`python -m devtools.nodelaybench` prints it): `serve` hands
    uvicorn the protocol that sets TCP_NODELAY, with one worker and with several."""
    import uvicorn

    from qa_service.api import workers as workers_module
    from qa_service.cli import commands as cli
    from qa_service.cli import serve

    seen: list[object] = []
    monkeypatch.setattr(serve, "check_port", lambda host, port: None)
    monkeypatch.setattr(serve, "ensure_index", lambda settings: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.append(options["http"]))

    def run_workers(config: uvicorn.Config) -> int:
        seen.append(config.http)
        return 0

    monkeypatch.setattr(workers_module, "run_workers", run_workers)
    for workers in ("1", "2"):
        result = CliRunner().invoke(cli.app, ["serve", "--workers", workers])
        assert result.exit_code == 0, result.output
    assert seen == [NoDelayHTTPProtocol, NoDelayHTTPProtocol]
