"""Faults a deployment meets (issue 22): a disk that refuses writes, a start-up that fails with several workers.

Each runs the real server as a subprocess, because the fault is in the process (its file-size limit, its exit
status), not in a handler.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.bench import long_article
from devtools.devserver import LocalServer, free_port, local_server

from .conftest import ROOT, SEED_QUESTION, SEEDS, server_env

QUESTION = {"question": SEED_QUESTION}


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, Path]]:
    workdir = tmp_path_factory.mktemp("faults")
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = server_env(workdir / "index", QA_LOG_LEVEL="info", PYTHONPATH=pythonpath)
    log_path = workdir / "server.log"
    with local_server(env, log_path=log_path, cwd=workdir, timeout_s=180) as running:
        yield running, log_path


@pytest.mark.slow
def test_a_disk_that_refuses_writes_gets_507_and_the_service_keeps_serving(
    seeded_server: tuple[LocalServer, Path],
) -> None:
    """`ulimit -f` below the database's size: SQLite's "disk I/O error" was a bare 500 or a reset connection."""
    running, log_path = seeded_server
    article = long_article(SEEDS, 30_000)
    _, hard = resource.prlimit(running.process.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(running.process.pid, resource.RLIMIT_FSIZE, (64 * 1024, hard))
    try:
        with httpx.Client(base_url=running.url, timeout=120) as client:
            for attempt in range(2):
                refused = client.post("/documents", json={"text": article, "doc_id": f"full-{attempt}"})
                assert refused.status_code == 507, refused.text
                assert "not added" in refused.json()["detail"] and "free space" in refused.json()["detail"]
            assert client.get("/health").json()["documents"] == 5
            assert client.post("/ask", json=QUESTION).json()["answerable"] is True
            assert client.get("/documents/full-0").status_code == 404
    finally:
        resource.prlimit(running.process.pid, resource.RLIMIT_FSIZE, (hard, hard))
    with httpx.Client(base_url=running.url, timeout=120) as client:  # space again: writes work again
        assert client.post("/documents", json={"text": article, "doc_id": "full-later"}).status_code == 201
        assert client.get("/health").json()["documents"] == 6
    assert "507: document 'full-0' was not added" in log_path.read_text(encoding="utf-8")


@pytest.mark.slow
def test_ingest_on_a_disk_that_refuses_writes_says_so_in_one_line(tmp_path: Path) -> None:
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = server_env(tmp_path / "index", PYTHONPATH=pythonpath)
    command = [sys.executable, "-m", "qa_service", "ingest"]
    subprocess.run([*command, str(SEEDS)], env=env, cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "long.txt").write_text(long_article(SEEDS, 30_000), encoding="utf-8")

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    more = [*command, str(tmp_path / "more")]
    done = subprocess.run(more, env=env, cwd=tmp_path, capture_output=True, text=True, preexec_fn=small_files)
    assert done.returncode == 1
    assert "error: ingest stopped; the batches committed before stay: the index could not be written" in done.stderr
    assert "Traceback" not in done.stderr
    listed = subprocess.run(more, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert listed.returncode == 0 and "1 added" in listed.stdout  # the same command, with space, finishes it


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["damaged store", "Milvus Lite held by the other worker"])
def test_serve_with_two_workers_exits_3_when_they_cannot_start(tmp_path: Path, fault: str) -> None:
    """One worker exited 3 on a failed start; with `--workers 2` uvicorn's supervisor stopped and `serve` exited 0."""
    index_dir = tmp_path / "index"
    extra = {}
    if fault == "damaged store":
        index_dir.mkdir()
        (index_dir / "store.sqlite3").write_bytes(b"this is not a database\n" * 400)
    else:  # Milvus Lite runs inside one process; a second opening the same file is refused
        extra = {"QA_STORE": "milvus"}
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "qa_service", "serve", "--workers", "2", "--port", str(free_port())],
        cwd=tmp_path,
        env=server_env(index_dir, PYTHONPATH=pythonpath, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3, result.stderr[-3000:]
    assert "failed to start" in result.stderr
