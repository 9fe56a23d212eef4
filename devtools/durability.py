"""Kill a real server during concurrent writes, start it again, and count what it had acknowledged and what is there.

The default Milvus set-up runs Milvus Lite inside the API server, so SIGKILL takes the engine down with it and the
next start recovers from Lite's own files; that is what this exercises (the crash tests in tests/store/ kill a
writer whose engine is another process). `eval/killtest.py` runs it as many times as asked and prints the
counts; tests/test_durability.py runs it ten times. The embedding is the deterministic fake: what is measured is
the store, not the model.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.devserver import ServerStartError, local_server

WRITERS = 4


@dataclass
class KillRun:
    """One kill: the documents the server answered 201 for, those present after the restart, and how the
    restarted server's chunk count compares with its documents' (rows of unfinished writes left behind)."""

    acknowledged: set[str] = field(default_factory=set)
    present: set[str] = field(default_factory=set)
    in_flight: int = 0  # requests sent and not answered when the kill came
    orphan_chunks: int = 0
    repaired: bool = False  # the restart removed index files the kill left torn
    restart_error: str | None = None  # the server could not start again: everything is out of reach

    @property
    def lost(self) -> set[str]:
        return self.acknowledged - self.present

    def line(self) -> str:
        if self.restart_error is not None:
            return f"acknowledged {len(self.acknowledged):3d}, the server did not start again: {self.restart_error}"
        return (
            f"acknowledged {len(self.acknowledged):3d}, present {len(self.acknowledged & self.present):3d}, "
            f"lost {len(self.lost)}, in flight at the kill {self.in_flight}, orphan chunks after restart "
            f"{self.orphan_chunks}" + ("; torn index files removed at the restart" if self.repaired else "")
        )


def article(run: int, writer: int, n: int) -> dict[str, str]:
    town = f"Town{run}x{writer}x{n}"
    text = (
        f"{town} council news\n\nThe council of {town} approved {n + 2} new homes on Monday. "
        f"Work starts in {2026 + n % 9}, the mayor, Kim Vale{writer}, said.\n\nThe vote was 7 to {n % 4}."
    )
    return {"doc_id": f"r{run}-w{writer}-{n}", "text": text}


def kill_run(env: Mapping[str, str], run: int, *, cwd: Path, log_path: Path, rng: random.Random) -> KillRun:
    """Start a server, let WRITERS clients add documents for a random 0.3-2 s, SIGKILL it, start it again, count."""
    result = KillRun()
    lock = threading.Lock()
    stop = threading.Event()
    pending = [0]

    def writer(url: str, number: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            n = 0
            while not stop.is_set():
                body = article(run, number, n)
                n += 1
                with lock:
                    pending[0] += 1
                try:
                    status = client.post("/documents", json=body).status_code
                except httpx.HTTPError:
                    return  # the server is gone
                with lock:
                    pending[0] -= 1
                    if status == 201:
                        result.acknowledged.add(body["doc_id"])

    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(local_server(env, cwd=cwd, log_path=log_path))
        except ServerStartError:  # the stop after the previous run left the store unable to open
            result.restart_error = "(at the start of this run) " + _cannot_start(log_path)
            return result
        threads = [threading.Thread(target=writer, args=(server.url, w), daemon=True) for w in range(WRITERS)]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.3, 2.0))
        with lock:  # what was acknowledged up to this instant is what the kill must not lose
            os.killpg(server.process.pid, signal.SIGKILL)
            result.in_flight = pending[0]
            stop.set()
        server.process.wait(timeout=30)
        for thread in threads:
            thread.join(timeout=60)
    restart_log = log_path.with_suffix(".restart.log")
    try:
        with local_server(env, cwd=cwd, log_path=restart_log) as server:
            listed = httpx.get(f"{server.url}/documents", params={"limit": 10_000}, timeout=60).json()
            health = httpx.get(f"{server.url}/health", timeout=60).json()
    except ServerStartError:
        result.restart_error = _cannot_start(restart_log)
        return result
    result.repaired = "torn index file" in restart_log.read_text(encoding="utf-8", errors="replace")
    result.present = {d["doc_id"] for d in listed}
    result.orphan_chunks = health["chunks"] - sum(d["chunks"] for d in listed)
    return result


def _cannot_start(log_path: Path) -> str:
    lines = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines() or ["(no log)"]
    return next((line for line in reversed(lines) if "cannot start" in line), lines[-1])


def kill_loop(
    index_dir: Path, runs: int, *, seed: int = 22, extra_env: Mapping[str, str] | None = None
) -> list[KillRun]:
    """`runs` kills of a server over `index_dir` with QA_STORE=milvus and no URI (Milvus Lite in the server); fewer
    when a restart fails (the last run says why)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("QA_")}
    env.update(
        HF_HUB_OFFLINE="1",
        QA_INDEX_DIR=str(index_dir),
        QA_SEEDS_DIR=str(index_dir / "no-seeds"),
        QA_STORE="milvus",
        QA_EMBEDDING_MODEL="hashing-fake",
        QA_MILVUS_ORPHAN_GRACE_S="0",
        QA_MILVUS_SWEEP_INTERVAL_S="0",
        QA_LOG_LEVEL="warning",  # the restart's log says whether torn index files were removed
        **(extra_env or {}),
    )
    rng = random.Random(seed)
    done: list[KillRun] = []
    for run in range(runs):
        done.append(kill_run(env, run, cwd=index_dir.parent, log_path=index_dir.parent / f"server-{run}.log", rng=rng))
        if done[-1].restart_error is not None:
            break  # the store no longer opens: later runs would only repeat that
    return done
