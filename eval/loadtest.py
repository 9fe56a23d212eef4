"""Load test: N concurrent clients asking questions for a fixed time; errors, requests/s and latency percentiles.

    .venv/bin/python eval/loadtest.py                          # starts a server on 127.0.0.1 over ./index
    .venv/bin/python eval/loadtest.py --clients 8 32 --duration 60 --workers 2
    .venv/bin/python eval/loadtest.py --url http://127.0.0.1:8000 --api-key "$QA_API_KEY"

Each client sends `POST /ask` (or `GET /search` with --endpoint search) with the seed questions in turn, one
request at a time, until --duration seconds or --max-requests per level. Exit status 1 if any request failed.
A server it starts itself has no rate limit (QA_RATE_LIMIT is set empty in its environment).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from qa_service.devserver import local_server, measured_env

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions.jsonl"


@dataclass
class Level:
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def record_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def summary(self) -> dict[str, float | int | dict[str, int]]:
        done = len(self.latencies_ms)
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive") if done >= 2 else [0.0] * 99
        return {
            "clients": self.clients,
            "requests": done + sum(self.errors.values()),
            "errors": dict(self.errors),
            "seconds": round(self.elapsed_s, 1),
            "rps": round(done / self.elapsed_s, 2) if self.elapsed_s else 0.0,
            "p50_ms": round(cuts[49], 1),
            "p95_ms": round(cuts[94], 1),
            "p99_ms": round(cuts[98], 1),
            "max_ms": round(max(self.latencies_ms, default=0.0), 1),
        }


def load_questions() -> list[str]:
    with QUESTIONS.open(encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in fh if line.strip()]


async def client_loop(
    http: httpx.AsyncClient,
    level: Level,
    questions: list[str],
    offset: int,
    deadline: float,
    budget: list[int],
    endpoint: str,
) -> None:
    n = offset
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        question = questions[n % len(questions)]
        n += 1
        started = time.perf_counter()
        try:
            if endpoint == "ask":
                response = await http.post("/ask", json={"question": question})
            else:
                response = await http.get("/search", params={"q": question})
        except httpx.HTTPError as exc:
            level.record_error(type(exc).__name__)
            continue
        if response.status_code == 200:
            level.latencies_ms.append((time.perf_counter() - started) * 1000)
        else:
            level.record_error(f"HTTP {response.status_code}")


async def run_level(url: str, clients: int, duration: float, max_requests: int, args: argparse.Namespace) -> Level:
    questions = load_questions()
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    level = Level(clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=args.timeout) as http:
        for question in questions[:2]:  # warm-up, not measured
            await http.post("/ask", json={"question": question})
        budget = [max_requests]
        started = time.monotonic()
        deadline = started + duration
        await asyncio.gather(
            *(client_loop(http, level, questions, i * 7, deadline, budget, args.endpoint) for i in range(clients))
        )
        level.elapsed_s = time.monotonic() - started
    return level


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running server (default: start one on 127.0.0.1)")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32], help="concurrency levels (default 8 32)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per level (default 60)")
    parser.add_argument("--max-requests", type=int, default=50_000, help="request cap per level (default 50000)")
    parser.add_argument("--endpoint", choices=["ask", "search"], default="ask")
    parser.add_argument("--workers", type=int, default=1, help="server workers when starting one (default 1)")
    parser.add_argument("--index-dir", type=Path, help="index for a server it starts (default QA_INDEX_DIR or ./index)")
    parser.add_argument("--api-key", default=os.environ.get("QA_API_KEY"), help="sent as a Bearer token if set")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.duration <= 0 or args.duration > 3600 or any(c < 1 or c > 1024 for c in args.clients):
        parser.error("--duration must be in (0, 3600] and each --clients value in [1, 1024]")

    with contextlib.ExitStack() as stack:
        if args.url:
            url = args.url
        else:
            server_args = ["--workers", str(args.workers)]
            url = stack.enter_context(local_server(measured_env(args.index_dir), args=server_args, cwd=ROOT)).url
        results = []
        for clients in args.clients:
            level = asyncio.run(run_level(url, clients, args.duration, args.max_requests, args))
            summary = level.summary()
            results.append(summary)
            status = "OK, zero errors" if not level.errors else f"ERRORS {level.errors}"
            print(
                f"{clients:>4} clients  {summary['requests']:>6} requests in {summary['seconds']:>5} s  "
                f"{summary['rps']:>7} req/s  p50 {summary['p50_ms']:>7} ms  p95 {summary['p95_ms']:>7} ms  "
                f"p99 {summary['p99_ms']:>7} ms  max {summary['max_ms']:>7} ms  {status}",
                flush=True,
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"url": args.url or "own server", "levels": results}, indent=2))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
