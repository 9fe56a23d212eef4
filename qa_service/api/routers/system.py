"""Liveness and index facts for operators and the compose healthcheck."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from qa_service.api.deps import ServiceDep

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    embedding_model: str


@router.get("/health", response_model=Health)
def health(service: ServiceDep) -> Health:
    stats = service.stats()
    return Health(status="ok", embedding_model=service.embedder.name, **stats)
