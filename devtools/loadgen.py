"""One load driver for the benchmark (`devtools/bench.py`) and `eval/loadtest.py`: N keep-alive clients asking
questions.

Each client is an asyncio task that sends one request at a time (POST /ask, or GET /search) with the questions
in turn, until a time limit or a request budget runs out; latencies of successful answers give p50/p95/p99,
failures are counted by kind.

Keep-alive: the clients keep connections open, as a browser or a proxy does, but let an idle connection go after
KEEPALIVE_EXPIRY_S, shorter than the server's keep-alive timeout (uvicorn's default 5 s, `serve`'s
QA_KEEP_ALIVE_S). With equal timeouts (httpx's default expiry is 5 s, uvicorn's default 5 s) a client can send a
request on a connection in the same instant the server closes it, and gets a `ReadError`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from qa_service.evaluation.metrics import percentile

KEEPALIVE_EXPIRY_S = 2.0
QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
FALLBACK_QUESTIONS = [
    "Who met Dorothy Shea?",
    "Which water agreement did India suspend?",
    "Who led the Indian parliamentary delegation visiting the US?",
    "When did the hostilities between India and Pakistan end?",
]

Endpoint = Literal["ask", "search"]


def seed_questions(path: Path = QUESTIONS) -> list[str]:
    """The evaluation questions of this checkout (a few fixed ones when the file is not there)."""
    if not path.is_file():
        return list(FALLBACK_QUESTIONS)
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in fh if line.strip()]


@dataclass
class LoadResult:
    """One concurrency level: latencies of the 200s (ms), failures by kind, wall time."""

    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    busy_ms: list[float] = field(default_factory=list)  # how long a 503 (QA_MAX_IN_FLIGHT) took to come back
    errors: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    first_error: str | None = None

    def record_error(self, kind: str, detail: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        self.first_error = self.first_error or detail

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def requests(self) -> int:
        return self.ok + sum(self.errors.values())

    def summary(self) -> dict[str, object]:
        def ms(q: float) -> float | None:
            value = percentile(self.latencies_ms, q)
            return None if value is None else round(value, 1)

        return {
            "clients": self.clients,
            "requests": self.requests,
            "errors": dict(self.errors),
            "seconds": round(self.elapsed_s, 1),
            "rps": round(self.ok / self.elapsed_s, 2) if self.elapsed_s else 0.0,
            "p50_ms": ms(50),
            "p95_ms": ms(95),
            "p99_ms": ms(99),
            "max_ms": round(max(self.latencies_ms), 1) if self.latencies_ms else None,
            "busy_p50_ms": _round(percentile(self.busy_ms, 50)),
            "busy_p99_ms": _round(percentile(self.busy_ms, 99)),
        }

    def line(self) -> str:
        s = self.summary()

        def fmt(value: object) -> str:
            return "n/a" if value is None else f"{value}"

        status = "zero errors" if not self.errors else f"ERRORS {self.errors} (first: {self.first_error})"
        if self.busy_ms:
            status += f"; 503s came back in p50 {fmt(s['busy_p50_ms'])} ms, p99 {fmt(s['busy_p99_ms'])} ms"
        return (
            f"{self.clients:>4} clients  {s['requests']:>6} requests in {s['seconds']:>5} s  {s['rps']:>7} req/s  "
            f"p50 {fmt(s['p50_ms']):>7} ms  p95 {fmt(s['p95_ms']):>7} ms  p99 {fmt(s['p99_ms']):>7} ms  "
            f"max {fmt(s['max_ms']):>7} ms  {status}"
        )


async def _client(
    http: httpx.AsyncClient,
    result: LoadResult,
    questions: Sequence[str],
    offset: int,
    deadline: float,
    budget: list[int],
    endpoint: Endpoint,
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
            result.record_error(type(exc).__name__, f"{type(exc).__name__}: {exc}")
            continue
        if response.status_code == 200:
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
        else:
            if response.status_code == 503:
                result.busy_ms.append((time.perf_counter() - started) * 1000)
            result.record_error(f"HTTP {response.status_code}", f"HTTP {response.status_code}: {response.text[:200]}")


async def run_load(
    url: str,
    *,
    clients: int,
    duration_s: float,
    max_requests: int = 1_000_000,
    questions: Sequence[str] | None = None,
    endpoint: Endpoint = "ask",
    headers: dict[str, str] | None = None,
    timeout_s: float = 60.0,
    warm_up: int = 2,
) -> LoadResult:
    """`clients` concurrent keep-alive clients for `duration_s` seconds or `max_requests` requests in all."""
    questions = list(questions or seed_questions())
    limits = httpx.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=KEEPALIVE_EXPIRY_S
    )
    result = LoadResult(clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=timeout_s) as http:
        for question in questions[:warm_up]:  # not measured: first requests pay one-off costs
            await http.post("/ask", json={"question": question})
        budget = [max_requests]
        started = time.monotonic()
        deadline = started + duration_s
        await asyncio.gather(
            *(_client(http, result, questions, i * 7, deadline, budget, endpoint) for i in range(clients))
        )
        result.elapsed_s = time.monotonic() - started
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def drive(url: str, **kwargs: object) -> LoadResult:
    """`run_load` from synchronous code (a fresh event loop)."""
    return asyncio.run(run_load(url, **kwargs))  # type: ignore[arg-type]
