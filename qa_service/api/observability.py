"""One JSON access-log line per request (`qa_service.access` logger) and Prometheus metrics at `/metrics`.

Metrics live in a registry per app, so per process: with `serve --workers N` each scrape reaches one worker
and shows its own counts (`qa_worker_info{pid=...}` says which); sum over workers in Prometheus by
scraping each, or run one worker per container. The index gauges are the same in every worker.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOGGER = "qa_service.access"
UNMATCHED = "<unmatched>"  # one label for every 404, so random paths cannot grow the metric set

access_log = logging.getLogger(ACCESS_LOGGER)

# Query answers take tens of milliseconds to a few seconds on CPU; document writes may take longer.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def configure_access_log(level: str) -> None:
    """Give the access logger its own plain stdout handler once (uvicorn configures only its own loggers)."""
    access_log.setLevel(logging.getLevelNamesMapping().get(level.upper(), logging.INFO))
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.propagate = False


class Metrics:
    """The app's Prometheus registry and the series it exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "qa_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds",
            "HTTP request latency by method, route template and status.",
            ["method", "endpoint", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.documents = Gauge("qa_index_documents", "Documents in the live index.", registry=self.registry)
        self.chunks = Gauge("qa_index_chunks", "Chunks (retrieval passages) in the live index.", registry=self.registry)
        self.in_flight = Gauge(
            "qa_questions_in_flight", "/ask and /search requests this worker is answering now.", registry=self.registry
        )
        self.busy = Counter(
            "qa_questions_refused_busy",
            "Questions answered 503 because QA_MAX_IN_FLIGHT were already in flight in this worker.",
            registry=self.registry,
        )
        worker = Gauge(
            "qa_worker_info", "The worker process that answered this scrape.", ["pid"], registry=self.registry
        )
        worker.labels(pid=str(os.getpid())).set(1)

    def questions_in_flight(self, in_flight: int, refused: bool) -> None:
        self.in_flight.set(in_flight)
        if refused:
            self.busy.inc()

    def observe(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        labels = {"method": method, "endpoint": endpoint, "status": str(status)}
        self.requests.labels(**labels).inc()
        self.latency.labels(**labels).observe(seconds)

    def render(self, stats: dict[str, int]) -> Response:
        self.documents.set(stats["documents"])
        self.chunks.set(stats["chunks"])
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """`/documents/{doc_id}`, not `/documents/abc`: bounded label values whatever clients send."""
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


class ObservabilityMiddleware:
    """Pure ASGI, outermost but for error rendering: times each request, logs it, counts it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe(scope["method"], route_template(scope), status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info(
                    json.dumps(
                        {
                            "method": scope["method"],
                            "path": scope["path"],  # no query string: questions may be private
                            "status": status,
                            "latency_ms": round(elapsed * 1000, 2),
                            "client": client[0] if client else None,
                        },
                        ensure_ascii=False,
                    )
                )
