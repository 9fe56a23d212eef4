"""The outlets the articles come from, with counts: what the chat page's outlet picker offers."""

from __future__ import annotations

from fastapi import APIRouter

from qa_service.api.deps import ReadAccess, ServiceDep
from qa_service.api.filters import QueryFilters
from qa_service.api.responses import errors
from qa_service.api.validation import KNOWN_QUERY
from qa_service.schemas import SourceCount

router = APIRouter(tags=["documents"], dependencies=[KNOWN_QUERY])


@router.get("/sources", response_model=list[SourceCount], responses=errors(401, 503))
def sources(service: ServiceDep, _access: ReadAccess, filters: QueryFilters) -> list[SourceCount]:
    """Each outlet with its number of articles, most first (`source: null` counts those without one); the same
    query parameters as `GET /documents` narrow the count (e.g. one month)."""
    return service.sources(filters)
