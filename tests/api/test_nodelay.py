"""TCP_NODELAY on every served connection: no Nagle/delayed-ACK stall with `serve --workers N`."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from pathlib import Path

import httpx
import pytest

from devtools.devserver import local_server
from qa_service.api.nodelay import NoDelayHTTPProtocol, set_nodelay
from tests.conftest import ROOT, server_env


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


def _median_ask_ms(url: str, requests: int = 80) -> float:
    """Median latency of POST /ask over one keep-alive connection (where Nagle + delayed ACK bite)."""
    latencies = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(requests + 10):
            started = time.perf_counter()
            response = client.post("/ask", json={"question": f"Who met Dorothy Shea on day {i}?"})
            assert response.status_code == 200, response.text
            if i >= 10:  # warm-up
                latencies.append((time.perf_counter() - started) * 1000)
    return statistics.median(latencies)


@pytest.mark.slow
def test_two_workers_are_not_slower_per_request_than_one(tmp_path: Path) -> None:
    """The stall added ~40 ms to every keep-alive request with two workers; 15 ms of slack cannot hide it.

    The fake embedder keeps each request at a few milliseconds, so the stall would dominate the median.
    """
    env = server_env(tmp_path / "index", QA_EMBEDDING_MODEL="hashing-fake", QA_LOG_LEVEL="warning")
    medians = {}
    for workers in (1, 2):
        with local_server(env, args=["--workers", str(workers)], cwd=ROOT, log_path=tmp_path / f"{workers}.log") as s:
            medians[workers] = _median_ask_ms(s.url)
    assert medians[2] <= medians[1] + 15, medians
