"""`python -m devtools.nodelaybench`: median `/ask` latency over one keep-alive connection, 1 vs 2 workers.

Numbers, not a test (a loaded machine moves them by tens of milliseconds). Without TCP_NODELAY on the workers'
connections (qa_service/api/nodelay.py) Nagle's algorithm and the client's delayed ACK added ~40 ms to every
request with `--workers 2`; the fake embedder keeps a request at a few milliseconds so that stall would show.
The setting itself is asserted in tests/test_nodelay.py.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import httpx
import typer

from devtools.devserver import local_server, measured_env

ROOT = Path(__file__).resolve().parent.parent


def median_ask_ms(url: str, requests: int) -> float:
    """Median latency of POST /ask over one keep-alive connection (where Nagle + delayed ACK bite)."""
    latencies = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(requests + 10):
            started = time.perf_counter()
            response = client.post("/ask", json={"question": f"Who met Dorothy Shea on day {i}?"})
            response.raise_for_status()
            if i >= 10:  # warm-up
                latencies.append((time.perf_counter() - started) * 1000)
    return statistics.median(latencies)


def main(requests: int = typer.Option(80, min=1, help="Timed requests per worker count.")) -> None:
    """Print the median per worker count; the two should be within a few milliseconds of each other."""
    with tempfile.TemporaryDirectory(prefix="nodelaybench-") as tmp:
        env = measured_env(
            Path(tmp) / "index",
            QA_EMBEDDING_MODEL="hashing-fake",
            QA_LOG_LEVEL="warning",
            QA_SEEDS_DIR=str(ROOT / "seeds"),
        )
        for workers in (1, 2):
            with local_server(env, args=["--workers", str(workers)], cwd=ROOT) as server:
                print(f"--workers {workers}: median /ask {median_ask_ms(server.url, requests):.1f} ms", flush=True)


if __name__ == "__main__":
    typer.run(main)
