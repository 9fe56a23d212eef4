"""Serving in front of people: one private log line per request, slow bodies, proxies, overload (issue 12)."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from devtools.devserver import LocalServer, local_server
from qa_service.api import create_app
from qa_service.api.limits import THREAD_RESERVE
from qa_service.config import Settings
from qa_service.service import QAService
from tests.conftest import ROOT, SEED_QUESTION, SEEDS, LogLines, make_settings, server_env

if TYPE_CHECKING:
    import httpx2

SHEA_FILE = SEEDS / "000_f6e0c52e4f6527ee.txt"
QUESTION = {"question": SEED_QUESTION}


@pytest.fixture
def records() -> Iterator[LogLines]:
    handler = LogLines()
    loggers = [logging.getLogger("qa_service.access"), logging.getLogger("qa_service.api")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


# ---- the client address behind a proxy ---------------------------------------------------------------


# The strings below are what the environment gives (QA_TRUSTED_PROXIES); the setting's before-validator splits them,
# but the pydantic mypy plugin types `Settings(...)` by the field (list[str]): hence the arg-type ignores.
def test_trusted_proxies_setting_takes_ips_and_networks() -> None:
    assert Settings(_env_file=None, trusted_proxies="10.0.0.0/8, 192.0.2.7").trusted_proxies == [  # type: ignore[arg-type]
        "10.0.0.0/8",
        "192.0.2.7",
    ]
    assert Settings(_env_file=None, trusted_proxies='["fd00::/8"]').trusted_proxies == ["fd00::/8"]  # type: ignore[arg-type]
    assert Settings(_env_file=None).trusted_proxies == []
    with pytest.raises(ValidationError, match="proxy.example"):
        Settings(_env_file=None, trusted_proxies="10.0.0.1,proxy.example")  # type: ignore[arg-type]


def _ask_from(app: Any, peer: str, forwarded_for: str) -> int:  # a FastAPI app
    with TestClient(app, client=(peer, 40000)) as client:
        return client.post("/ask", json=QUESTION, headers={"X-Forwarded-For": forwarded_for}).status_code


def test_forwarded_clients_get_their_own_rate_limit_behind_a_trusted_proxy(
    seed_service: QAService, records: LogLines
) -> None:
    settings = make_settings(seed_service.settings.index_dir, rate_limit="1/minute", trusted_proxies="10.0.0.0/8")
    app = create_app(settings, seed_service)
    assert _ask_from(app, "10.1.2.3", "203.0.113.5") == 200
    assert _ask_from(app, "10.1.2.3", "203.0.113.6") == 200  # another user behind the same proxy
    assert _ask_from(app, "10.9.9.9", "203.0.113.5") == 429  # the first user again, through another proxy
    logged = [json.loads(line)["client"] for line in records.lines if line.startswith("{")]
    assert logged == ["203.0.113.5", "203.0.113.6", "203.0.113.5"]


def test_forwarded_for_from_an_untrusted_peer_is_ignored(seed_service: QAService, records: LogLines) -> None:
    settings = make_settings(seed_service.settings.index_dir, rate_limit="1/minute", trusted_proxies="10.0.0.0/8")
    app = create_app(settings, seed_service)
    assert _ask_from(app, "192.0.2.50", "203.0.113.5") == 200
    assert _ask_from(app, "192.0.2.50", "203.0.113.6") == 429  # a made-up header buys no new budget
    logged = [json.loads(line)["client"] for line in records.lines if line.startswith("{")]
    assert logged == ["192.0.2.50", "192.0.2.50"]


# ---- a bounded number of questions in flight ------------------------------------------------------------


class _Blocked:
    """The seed service, but every answer waits for `release` (a question holding its slot and its thread)."""

    def __init__(self, service: QAService, release: threading.Event) -> None:
        self._service = service
        self._release = release

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        self._release.wait(30)
        return self._service.ask(*args, **kwargs)


def test_questions_beyond_max_in_flight_get_503_with_retry_after_at_once(
    seed_service: QAService, records: LogLines
) -> None:
    """The two questions let in hold their slots until the test releases them, so the four refusals must come back
    while both are still held (no time is asserted: a refusal that waited for a slot would come after them)."""
    settings = make_settings(seed_service.settings.index_dir, max_in_flight=2)
    release = threading.Event()
    app = create_app(settings, _Blocked(seed_service, release))  # type: ignore[arg-type]
    with TestClient(app) as client:

        def ask() -> tuple[httpx2.Response, bool]:  # starlette's TestClient is httpx2's client
            response = client.post("/ask", json=QUESTION)
            return response, release.is_set()

        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = [pool.submit(ask) for _ in range(6)]
            results = []
            try:
                for future in as_completed(futures, timeout=120):  # only a guard against hanging the suite
                    results.append(future.result())
                    if len(results) == 4:
                        release.set()  # the four refusals are in: let the two held questions finish
            finally:
                release.set()
        assert [(r.status_code, released) for r, released in results[:4]] == [(503, False)] * 4
        assert [r.status_code for r, _ in results[4:]] == [200, 200]
        for response, _ in results[:4]:
            assert response.headers["Retry-After"] == "1"
            assert "busy" in response.json()["detail"]
        assert client.post("/ask", json=QUESTION).status_code == 200  # slots are given back
        metrics = client.get("/metrics").text
    assert "qa_questions_refused_busy_total 4.0" in metrics
    assert "qa_questions_in_flight 0.0" in metrics
    warnings = [line for line in records.lines if line.startswith("busy:")]
    assert len(warnings) == 1 and "QA_MAX_IN_FLIGHT=2" in warnings[0]  # one warning, not one per refusal


def test_a_question_over_the_limit_is_refused_even_while_every_thread_is_taken(seed_service: QAService) -> None:
    """The limit is checked on the event loop before anything waits for a thread: as a dependency it came after
    synchronous ones that queued for AnyIO's pool, and with 256 clients a 503 took 4.9 s to come back."""
    settings = make_settings(seed_service.settings.index_dir, max_in_flight=1)
    release = threading.Event()
    app = create_app(settings, _Blocked(seed_service, release))  # type: ignore[arg-type]

    async def scenario() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                first = asyncio.create_task(client.post("/ask", json=QUESTION))
                while app.state.in_flight.in_flight == 0:
                    await asyncio.sleep(0.01)
                threads = anyio.to_thread.current_default_thread_limiter()
                holders = [object() for _ in range(int(threads.available_tokens))]
                for holder in holders:  # every thread of the pool is now busy
                    await threads.acquire_on_behalf_of(holder)
                try:
                    refused = await asyncio.wait_for(client.post("/ask", json=QUESTION), timeout=20)
                    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
                finally:
                    for holder in holders:
                        threads.release_on_behalf_of(holder)
                    release.set()
                assert (await first).status_code == 200

    asyncio.run(scenario())


def test_the_thread_pool_holds_every_question_let_in(seed_service: QAService) -> None:
    """A QA_MAX_IN_FLIGHT above the pool's 40 threads let questions in only to queue for a thread."""
    settings = make_settings(seed_service.settings.index_dir, max_in_flight=100)
    app = create_app(settings, seed_service)

    async def pool_size() -> int:
        async with app.router.lifespan_context(app):
            return int(anyio.to_thread.current_default_thread_limiter().total_tokens)

    assert asyncio.run(pool_size()) >= 100 + THREAD_RESERVE


# ---- a real server: its log, a slow body, forwarded headers from the same machine -----------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, Path]]:
    """`qa-service serve` over one seed article, body timeout 2 s, no trusted proxy."""
    workdir = tmp_path_factory.mktemp("serving")
    seeds = workdir / "seeds"
    seeds.mkdir()
    (seeds / SHEA_FILE.name).write_bytes(SHEA_FILE.read_bytes())
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = server_env(
        workdir / "index",
        QA_SEEDS_DIR=str(seeds),
        QA_LOG_LEVEL="info",
        QA_BODY_TIMEOUT_S="2",
        QA_RATE_LIMIT="2/minute",
        PYTHONPATH=pythonpath,
    )
    log_path = workdir / "server.log"
    with local_server(env, log_path=log_path, cwd=workdir, timeout_s=180) as running:
        yield running, log_path


def _log_lines(log_path: Path, after: int) -> list[str]:
    return log_path.read_text(encoding="utf-8", errors="replace").splitlines()[after:]


@pytest.mark.slow
def test_one_json_line_per_request_and_no_query_string_in_the_log(server: tuple[LocalServer, Path]) -> None:
    running, log_path = server
    before = len(_log_lines(log_path, 0))
    with httpx.Client(base_url=running.url, timeout=60) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/search", params={"q": "my private worry"}).status_code == 200
        assert client.get("/documents/no-such-document").status_code == 404
    deadline = time.monotonic() + 10
    while len([line for line in _log_lines(log_path, before) if line.startswith("{")]) < 3:
        assert time.monotonic() < deadline, _log_lines(log_path, before)
        time.sleep(0.1)
    time.sleep(0.5)  # a second line per request, if there were one, would be written by now
    lines = _log_lines(log_path, before)
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    # the last three lines are this test's requests, one each (an earlier /health may be the start-up probe's)
    assert [(e["method"], e["path"], e["status"]) for e in entries][-3:] == [
        ("GET", "/health", 200),
        ("GET", "/search", 200),
        ("GET", "/documents/no-such-document", 404),
    ]
    assert [e["path"] for e in entries].count("/search") == 1
    assert not any("private" in line or "HTTP/1.1" in line for line in lines), lines  # uvicorn's access log is off


@pytest.mark.slow
def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(server: tuple[LocalServer, Path]) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default; `serve` believes only QA_TRUSTED_PROXIES."""
    running, log_path = server
    before = len(_log_lines(log_path, 0))
    with httpx.Client(base_url=running.url, timeout=60) as client:
        codes = [
            client.post("/ask", json=QUESTION, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n in range(3)
        ]
    assert 429 in codes, codes  # one bucket (127.0.0.1) whatever the header says; fresh addresses would all pass
    time.sleep(0.5)
    clients = {json.loads(line)["client"] for line in _log_lines(log_path, before) if line.startswith("{")}
    assert clients == {"127.0.0.1"}


def _raw_request(url: str, head: str) -> socket.socket:
    host, port = re.match(r"http://([\d.]+):(\d+)", url).groups()  # type: ignore[union-attr]
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(head.encode())
    return sock


@pytest.mark.slow
def test_a_body_sent_slowly_gets_408_and_the_connection_closes(server: tuple[LocalServer, Path]) -> None:
    running, _ = server
    body = json.dumps({**QUESTION, "top_k": 5}, indent=40).encode()  # ~300 bytes: more than a minute at 4 a second
    head = f"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    sock = _raw_request(running.url, head)
    reply = b""
    sent = 0
    sock.setblocking(False)
    try:
        for byte in body:  # a byte every 0.25 s
            try:
                sock.send(bytes([byte]))
            except OSError:
                break  # the server closed the connection
            sent += 1
            time.sleep(0.25)
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                break  # closed by the server while our bytes were unread: Linux hands over what came first
            reply += chunk
            if not chunk or b"\r\n\r\n" in reply:
                break
        sock.setblocking(True)
        sock.settimeout(10)
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break  # a close with unread bytes is a reset (seen on CI after the whole reply had been read)
            if not chunk:
                break  # closed by the server
            reply += chunk
    finally:
        sock.close()
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert b"QA_BODY_TIMEOUT_S" in reply
    assert sent < len(body), "the server waited for the whole slow body"  # no time asserted: what was sent counts


@pytest.mark.slow
def test_serve_keeps_idle_connections_longer_than_uvicorns_5_s(server: tuple[LocalServer, Path]) -> None:
    """A client (or proxy) reusing a connection after 6 idle seconds must not meet a server closing it."""
    running, _ = server
    host, port = re.match(r"http://([\d.]+):(\d+)", running.url).groups()  # type: ignore[union-attr]
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", "/health")
        first = connection.getresponse()
        first.read()
        sock = connection.sock
        time.sleep(6)
        connection.request("GET", "/health")  # http.client would reconnect silently if the socket were gone
        second = connection.getresponse()
        second.read()
        assert second.status == 200 and connection.sock is sock
    finally:
        connection.close()
