"""Liveness and index facts for operators and the compose healthcheck; Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from qa_service.api.deps import ReadAccess, ServiceDep
from qa_service.api.observability import Metrics
from qa_service.api.responses import errors
from qa_service.api.validation import KNOWN_QUERY

router = APIRouter(tags=["system"], dependencies=[KNOWN_QUERY])


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    embedding_model: str


@router.get("/health", response_model=Health, responses=errors(503))
def health(service: ServiceDep) -> Health:
    """Always open (no key): container and load-balancer probes call it."""
    stats = service.stats()
    return Health(status="ok", embedding_model=service.embedder.name, **stats)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, service: ServiceDep, _access: ReadAccess) -> Response:
    """Prometheus text format; this worker's request counters and latency histograms, and index gauges."""
    counters: Metrics = request.app.state.metrics
    return counters.render(service.stats())
