"""Production edges: API keys, size and rate limits, CORS, metrics and logs; crash safety, workers, start-up errors."""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.devserver import ServerStartError, free_port, local_server, measured_env
from qa_service.embedding import Embedder
from qa_service.service import QAService
from qa_service.store import IndexStore

from .conftest import ROOT, SEEDS, make_settings, server_env

KEY = "s3cret-key"
SHEA = "000_f6e0c52e4f6527ee"
SHEA_FILE = SEEDS / f"{SHEA}.txt"


def api(service: QAService, **overrides: object) -> TestClient:
    """A client for an app around `service` whose HTTP edge has these settings."""
    return TestClient(create_app(make_settings(service.settings.index_dir, **overrides), service))


def article(n: int) -> str:
    return (
        f"The town council of Riverton {n} approved a budget for a new public library on Monday. "
        f"Construction will start in spring {2030 + n} and the library will hold {n + 1}0,000 books."
    )


# ---- access control ---------------------------------------------------------------------------------


def test_everything_is_open_without_a_key(fresh_service: QAService) -> None:
    with api(fresh_service) as client:
        created = client.post("/documents", json={"text": article(1), "doc_id": "open-1"})
        assert created.status_code == 201, created.text
        assert client.get("/documents/open-1").status_code == 200
        assert client.delete("/documents/open-1").status_code == 204


def test_writes_need_the_key_reads_stay_open(fresh_service: QAService) -> None:
    with api(fresh_service, api_key=KEY) as client:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"X-API-Key": "wrong"},
            {"Authorization": f"Basic {KEY}"},
            {"Authorization": "Bearer"},
            {"X-API-Key": "schlüssel".encode()},  # non-ASCII must be a 401, not a 500
        ):
            response = client.post("/documents", json={"text": article(2)}, headers=headers)
            assert response.status_code == 401, headers
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert "API key" in response.json()["detail"]
        created = client.post("/documents", json={"text": article(2), "doc_id": "k-2"}, headers={"X-API-Key": KEY})
        assert created.status_code == 201, created.text
        assert client.delete("/documents/k-2").status_code == 401
        assert client.delete("/documents/k-2", headers={"Authorization": f"Bearer {KEY}"}).status_code == 204
        assert client.get("/documents").status_code == 200
        assert client.get("/search", params={"q": "library"}).status_code == 200
        assert client.post("/ask", json={"question": "When will construction start?"}).status_code == 200


def test_reads_need_the_key_when_configured(seed_service: QAService) -> None:
    with api(seed_service, api_key=KEY, require_key_for_reads=True) as client:
        reads = [
            ("POST", "/ask", {"json": {"question": "Who met Dorothy Shea?"}}),
            ("GET", "/search", {"params": {"q": "Fu Cong"}}),
            ("GET", "/documents", {}),
            ("GET", f"/documents/{SHEA}", {}),
            ("GET", "/metrics", {}),
        ]
        for method, path, kwargs in reads:
            assert client.request(method, path, **kwargs).status_code == 401, path
            assert client.request(method, path, headers={"Authorization": f"Bearer {KEY}"}, **kwargs).status_code == 200
        assert client.get("/health").status_code == 200
        assert client.get("/").status_code == 200


def _security(client: TestClient) -> dict[str, bool]:
    paths = client.get("/openapi.json").json()["paths"]
    return {f"{m.upper()} {p}": "security" in op for p, ops in paths.items() for m, op in ops.items()}


def test_openapi_declares_exactly_the_enforced_security(seed_service: QAService) -> None:
    with api(seed_service) as client:
        assert not any(_security(client).values())
    with api(seed_service, api_key=KEY) as client:
        declared = _security(client)
        assert {op for op, guarded in declared.items() if guarded} == {"POST /documents", "DELETE /documents/{doc_id}"}
    with api(seed_service, api_key=KEY, require_key_for_reads=True) as client:
        assert {op for op, guarded in _security(client).items() if not guarded} == {"GET /health"}


def test_no_endpoint_reads_a_client_given_path(fresh_service: QAService) -> None:
    with api(fresh_service) as client:
        for doc_id in ("../../etc/passwd", "/etc/passwd", "a/b", "..", ".hidden"):
            assert client.post("/documents", json={"text": article(3), "doc_id": doc_id}).status_code == 422
        assert client.get("/documents/..%2F..%2Fpyproject.toml").status_code in (404, 422)
        assert client.get("/documents/%2E%2E").status_code in (404, 422)
        # qa_service/config.py is one level above the static folder, so a handler that followed `..` would serve it.
        # (A literal `/static/../config.py` never arrives: HTTP clients resolve `..` before sending.)
        assert client.get("/static/app.js").status_code == 200
        assert client.get("/static/%2E%2E/config.py").status_code == 404
        assert client.get("/static/..%2Fconfig.py").status_code == 404


# ---- limits -----------------------------------------------------------------------------------------


def test_request_bodies_over_the_limit_get_413(fresh_service: QAService) -> None:
    with api(fresh_service, max_request_bytes=2_000, max_document_bytes=6_000) as client:
        question = {"question": "Who?", "padding": "x" * 3_000}
        response = client.post("/ask", json=question)
        assert response.status_code == 413 and "2000 bytes" in response.json()["detail"]
        # streamed (chunked) without Content-Length: counted while it arrives
        chunks = iter([b'{"question": "', b"x" * 1_500, b"y" * 1_500, b'"}'])
        streamed = client.post("/ask", content=chunks, headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413 and "detail" in streamed.json()
        assert client.post("/documents", json={"text": "word " * 1_400}).status_code == 413
        # a document may be bigger than a question
        created = client.post("/documents", json={"text": article(4) + " More." * 400, "doc_id": "big-4"})
        assert created.status_code == 201, created.text


def test_rate_limit_gives_429_with_retry_after(seed_service: QAService) -> None:
    app = create_app(make_settings(seed_service.settings.index_dir, rate_limit="2/minute"), seed_service)
    with TestClient(app, client=("10.0.0.1", 5000)) as client, TestClient(app, client=("10.0.0.2", 5000)) as other:
        assert client.post("/ask", json={"question": "Who met Dorothy Shea?"}).status_code == 200
        assert client.get("/search", params={"q": "Fu Cong"}).status_code == 200
        limited = client.post("/ask", json={"question": "Who met Dorothy Shea?"})
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert "rate limit" in limited.json()["detail"]
        assert other.post("/ask", json={"question": "Who met Dorothy Shea?"}).status_code == 200  # per client
        assert client.get("/health").status_code == 200  # only questions are limited


def test_cors_only_when_configured(seed_service: QAService) -> None:
    preflight = {"Origin": "https://news.example", "Access-Control-Request-Method": "POST"}
    with api(seed_service) as client:
        assert (
            "access-control-allow-origin" not in client.get("/health", headers={"Origin": "https://x.example"}).headers
        )
        assert client.options("/ask", headers=preflight).status_code == 405
    with api(seed_service, cors_origins=["https://news.example"]) as client:
        allowed = client.options("/ask", headers=preflight)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://news.example"
        assert "X-API-Key" in allowed.headers["access-control-allow-headers"]
        other = client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


# ---- observability ----------------------------------------------------------------------------------


def test_metrics_by_route_template_and_index_gauges(seed_service: QAService) -> None:
    with api(seed_service) as client:
        client.get(f"/documents/{SHEA}")
        client.get("/documents/no-such-doc")
        client.get("/no/such/path/12345")
        client.post("/ask", json={"question": "Who met Dorothy Shea?"})
        response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'qa_http_requests_total{endpoint="/documents/{doc_id}",method="GET",status="200"} 1.0' in text
    assert 'qa_http_requests_total{endpoint="/documents/{doc_id}",method="GET",status="404"} 1.0' in text
    assert 'qa_http_requests_total{endpoint="<unmatched>",method="GET",status="404"} 1.0' in text
    assert re.search(
        r'qa_http_request_duration_seconds_bucket\{endpoint="/ask",le="1.0",method="POST",status="200"\}', text
    )
    assert SHEA not in text and "12345" not in text
    assert "qa_index_documents 5.0" in text
    chunks = seed_service.stats()["chunks"]
    assert f"qa_index_chunks {float(chunks)}" in text
    assert f'qa_worker_info{{pid="{os.getpid()}"}} 1.0' in text


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_one_json_access_log_line_per_request(seed_service: QAService) -> None:
    records = _Records()
    logger = logging.getLogger("qa_service.access")
    with api(seed_service) as client:
        logger.addHandler(records)
        try:
            client.get("/search", params={"q": "private question"})
            client.get("/documents/nope")
        finally:
            logger.removeHandler(records)
    assert len(records.lines) == 2
    first, second = (json.loads(line) for line in records.lines)
    assert set(first) == {"method", "path", "status", "latency_ms", "client"}
    assert first["method"] == "GET" and first["path"] == "/search" and first["status"] == 200
    assert first["latency_ms"] > 0 and first["client"] == "testclient"
    assert "private" not in records.lines[0]  # the query string is not logged
    assert second["path"] == "/documents/nope" and second["status"] == 404


# ---- concurrency ------------------------------------------------------------------------------------


def _check_shea_answer(body: dict, shea_text: str) -> None:
    assert body["answerable"], body
    assert body["citations"][0]["doc_id"] == SHEA
    for citation in body["citations"]:
        if citation["doc_id"] == SHEA:
            assert shea_text[citation["start"] : citation["end"]] == citation["quote"]


def test_answers_stay_correct_while_documents_are_added_and_deleted(fresh_service: QAService) -> None:
    fresh_service.ingest_paths([SHEA_FILE], progress=False)
    shea_text = fresh_service.get_document(SHEA).text
    writes_done = threading.Event()
    with api(fresh_service) as client:

        def reader() -> int:
            """Asks until the writes are done; returns how many answers came back while they were going on."""
            asked = during_writes = 0
            while not writes_done.is_set() or asked < 3:
                response = client.post("/ask", json={"question": "Who met Dorothy Shea?"})
                assert response.status_code == 200, response.text
                _check_shea_answer(response.json(), shea_text)
                asked += 1
                during_writes += not writes_done.is_set()
            return during_writes

        def writer() -> None:
            try:
                for n in range(4):
                    created = client.post("/documents", json={"text": article(n), "doc_id": f"lib-{n}"})
                    assert created.status_code == 201, created.text
                for n in range(0, 4, 2):
                    assert client.delete(f"/documents/lib-{n}").status_code == 204
            finally:
                writes_done.set()

        with ThreadPoolExecutor(max_workers=4) as pool:
            readers = [pool.submit(reader) for _ in range(3)]
            pool.submit(writer).result(timeout=300)
            during_writes = [r.result(timeout=300) for r in readers]
        assert all(during_writes), f"answers while the writes went on, per reader: {during_writes}"
        assert {d["doc_id"] for d in client.get("/documents").json()} == {SHEA, "lib-1", "lib-3"}


# ---- processes: start-up errors, several workers, crashes -------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "garble", "remove"])
def test_damaged_index_file_stops_serve_with_a_clear_message(fresh_service: QAService, damage: str) -> None:
    fresh_service.ingest_paths([SHEA_FILE], progress=False)
    index_dir = fresh_service.settings.index_dir
    victim = index_dir / IndexStore(index_dir).current_name() / "chunks.faiss"
    data = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "garble":
        victim.write_bytes(data[:100] + bytes(b ^ 0xFF for b in data[100:200]) + data[200:])
    else:
        victim.unlink()
    result = subprocess.run(
        [sys.executable, "-m", "qa_service", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=server_env(index_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert str(victim) in result.stderr and "--rebuild" in result.stderr
    assert "Traceback" not in result.stderr, result.stderr


@pytest.mark.slow
def test_two_workers_see_a_document_added_through_either(fresh_service: QAService) -> None:
    fresh_service.ingest_paths([SHEA_FILE], progress=False)
    index_dir = fresh_service.settings.index_dir
    with local_server(server_env(index_dir), args=["--workers", "2"], cwd=ROOT) as server:
        url = server.url
        created = httpx.post(f"{url}/documents", json={"text": article(7), "doc_id": "lib-7"}, timeout=60)
        assert created.status_code == 201, created.text
        seen: dict[str, str] = {}  # worker pid -> documents gauge in its latest scrape

        def scrape() -> None:
            with httpx.Client(timeout=30) as fresh_connection:  # a new connection may land on either worker
                text = fresh_connection.get(f"{url}/metrics").text
                ask = fresh_connection.get(f"{url}/documents/lib-7")
            assert ask.status_code == 200
            pid = re.search(r'qa_worker_info\{pid="(\d+)"\}', text).group(1)
            seen[pid] = re.search(r"^qa_index_documents (\S+)$", text, re.M).group(1)

        deadline = time.monotonic() + 120
        with ThreadPoolExecutor(max_workers=4) as pool:
            while len(seen) < 2:
                assert time.monotonic() < deadline, f"only saw workers {seen}"
                list(pool.map(lambda _: scrape(), range(8)))
        assert set(seen.values()) == {"2.0"}, seen


CRASH_CHILD = r"""
import json, sys, time
from pathlib import Path
from qa_service import store
from qa_service.config import Settings
from qa_service.ingest import load_file
from qa_service.service import QAService

# A slow disk: each fsync takes 50 ms longer, so a kill can land inside saving, and "saving" says when it starts.
real_fsync, real_save = store._fsync, store.IndexStore.save
def slow_fsync(path):
    time.sleep(0.05)
    real_fsync(path)
def announced_save(self, snapshot):
    print("saving", flush=True)
    return real_save(self, snapshot)
store._fsync, store.IndexStore.save = slow_fsync, announced_save

index_dir, seeds = sys.argv[1], Path(sys.argv[2])
service = QAService(Settings(index_dir=index_dir, seeds_dir=seeds, _env_file=None)).load()
documents = [load_file(path) for path in sorted(seeds.glob("*.txt"))]
print("ready", flush=True)
while True:  # add the articles one by one, then delete them one by one, and again
    for document in documents:
        present = {d.doc_id for d in service.list_documents()}
        target = present ^ {document.doc_id}
        print("begin " + json.dumps(sorted(target)), flush=True)
        if document.doc_id in present:
            service.delete_document(document.doc_id)
        else:
            service.add_documents([document])
        print("done", flush=True)
"""


class _ChildLog:
    """Follows the crash child's stdout: which corpus it last published, and which one it is publishing."""

    def __init__(self, stream: Iterator[str], committed: set[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.committed = committed
        self.in_flight: set[str] | None = None
        self.reader = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.reader.start()

    def _pump(self, stream: Iterator[str]) -> None:
        for line in stream:
            self.lines.put(line.strip())
        self.lines.put("<eof>")

    def next_line(self) -> str:
        line = self.lines.get(timeout=180)
        self.seen.append(line)
        assert line != "<eof>", "the child died on its own:\n" + "\n".join(self.seen)
        self.follow(line)
        return line

    def follow(self, line: str) -> None:
        if line.startswith("begin "):
            self.in_flight = set(json.loads(line.removeprefix("begin ")))
        elif line == "done" and self.in_flight is not None:
            self.committed, self.in_flight = self.in_flight, None

    def drain(self) -> None:
        self.reader.join(timeout=30)
        while not self.lines.empty():
            line = self.lines.get_nowait()
            self.seen.append(line)
            self.follow(line)

    @property
    def last(self) -> str:
        return next((line for line in reversed(self.seen) if line != "<eof>"), "")


def _assert_consistent(service: QAService, reference: QAService) -> set[str]:
    """Every document fully in (text, chunks, sentences and their vectors all match a clean build) or fully out."""
    snapshot, clean = service.engine.snapshot, reference.engine.snapshot
    assert len(snapshot.chunk_vectors) == len(snapshot.chunks)
    assert len(snapshot.sentence_vectors) == len(snapshot.sentences)
    assert {c.doc_id for c in snapshot.chunks} == set(snapshot.documents)
    assert {s.doc_id for s in snapshot.sentences} == set(snapshot.documents)
    for doc_id, document in snapshot.documents.items():
        assert document == clean.documents[doc_id]
        mine = [i for i, c in enumerate(snapshot.chunks) if c.doc_id == doc_id]
        theirs = [i for i, c in enumerate(clean.chunks) if c.doc_id == doc_id]
        spans = [(c.start, c.end, c.text) for c in (snapshot.chunks[i] for i in mine)]
        assert spans == [(c.start, c.end, c.text) for c in (clean.chunks[i] for i in theirs)]
        assert np.allclose(snapshot.chunk_vectors[mine], clean.chunk_vectors[theirs], atol=1e-4)
        mine_s = [i for i, s in enumerate(snapshot.sentences) if s.doc_id == doc_id]
        theirs_s = [i for i, s in enumerate(clean.sentences) if s.doc_id == doc_id]
        assert [(s.start, s.end) for s in (snapshot.sentences[i] for i in mine_s)] == [
            (s.start, s.end) for s in (clean.sentences[i] for i in theirs_s)
        ]
        assert np.allclose(snapshot.sentence_vectors[mine_s], clean.sentence_vectors[theirs_s], atol=1e-4)
    return set(snapshot.documents)


@pytest.mark.slow
def test_sigkill_mid_ingest_never_leaves_a_half_written_index(
    tmp_path: Path, embedder: Embedder, seed_service: QAService
) -> None:
    index_dir = tmp_path / "index"
    rng = random.Random(20250603)
    committed: set[str] = set()  # the corpus after the child's last finished write
    iterations, in_write, rolled_back, in_save = 8, 0, 0, 0
    for iteration in range(iterations):
        child = subprocess.Popen(
            [sys.executable, "-c", CRASH_CHILD, str(index_dir), str(SEEDS)],
            cwd=ROOT,
            env=server_env(index_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log = _ChildLog(child.stdout, committed)
        while log.next_line() != "ready":
            pass
        for _ in range(rng.randint(1, 6)):  # let it start a few writes, then kill it inside (or just after) one
            while not log.next_line().startswith("begin "):
                pass
        if iteration % 2:  # every other kill lands inside saving: files half written, renames not yet done
            while log.next_line() != "saving":
                pass
            time.sleep(rng.uniform(0.0, 0.3))
        else:  # the others anywhere: while embedding, saving or between writes
            time.sleep(rng.uniform(0.0, 0.8))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        log.drain()
        committed, in_flight = log.committed, log.in_flight
        in_save += log.last == "saving"

        loaded = _assert_consistent(QAService(make_settings(index_dir), embedder=embedder).load(), seed_service)
        # a write the child finished stays; the one it was inside may have landed or not, never half
        assert loaded in (committed, in_flight), (loaded, committed, in_flight)
        in_write += in_flight is not None
        rolled_back += in_flight is not None and loaded == committed and in_flight != committed
        committed = loaded
    print(f"{iterations} SIGKILLs: {in_write} inside a write ({in_save} inside saving), {rolled_back} rolled back")
    assert in_write >= 1 and in_save >= 1


def test_corrupt_index_is_a_clear_start_up_error_in_process(fresh_service: QAService, embedder: Embedder) -> None:
    """The same check as the subprocess test, fast: the lifespan fails with the file's name and the fix."""
    fresh_service.ingest_paths([SHEA_FILE], progress=False)
    index_dir = fresh_service.settings.index_dir
    victim = index_dir / IndexStore(index_dir).current_name() / "sentences.npy"
    victim.write_bytes(victim.read_bytes()[:-10])
    app = create_app(make_settings(index_dir), QAService(make_settings(index_dir), embedder=embedder))
    with pytest.raises(Exception, match=r"sentences\.npy.*--rebuild"), TestClient(app):
        pass
    assert app.state.startup_error.startswith("cannot start: index file ")


def test_local_server_reports_a_failed_start_with_its_log(tmp_path: Path) -> None:
    env = server_env(tmp_path / "index", QA_CHUNK_SIZE="100", QA_CHUNK_OVERLAP="200")
    expected = r"(?s)exited with status [1-9].*QA_CHUNK_OVERLAP \(200\)"
    with (
        pytest.raises(ServerStartError, match=expected),
        local_server(env, log_path=tmp_path / "server.log", cwd=ROOT, timeout_s=120),
    ):
        pass


def test_measured_server_has_no_rate_limit_and_stays_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QA_RATE_LIMIT", "1/minute")
    monkeypatch.setenv("QA_EMBEDDING_MODEL", "my-model")
    env = measured_env(tmp_path, QA_LOG_LEVEL="warning")
    assert env["QA_RATE_LIMIT"] == "" and env["HF_HUB_OFFLINE"] == "1"
    assert env["QA_INDEX_DIR"] == str(tmp_path) and env["QA_LOG_LEVEL"] == "warning"
    assert env["QA_EMBEDDING_MODEL"] == "my-model"  # the user's other settings are what gets measured
