"""The corpus as a resource: list, read, add and delete articles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from pydantic import Field

from qa_service.api.deps import ReadAccess, ServiceDep, WriteAccess
from qa_service.api.responses import errors
from qa_service.api.routers.qa import NOT_BLANK
from qa_service.api.validation import JSON_BODY, CalendarDate, StrictBody
from qa_service.ingest import DOC_ID_PATTERN, MAX_DOC_ID_LENGTH, content_hash, make_document
from qa_service.schemas import Document, DocumentSummary

router = APIRouter(prefix="/documents", tags=["documents"])

# SQLite integers are 64-bit; no archive comes near this, and a larger offset would be a 500.
MAX_OFFSET = 2**62

DocIdPath = Path(min_length=1, max_length=MAX_DOC_ID_LENGTH, pattern=DOC_ID_PATTERN.pattern)


class DocumentIn(StrictBody):
    text: str = Field(
        min_length=1, json_schema_extra=NOT_BLANK, description="Raw article text; it is cleaned like an ingested file."
    )
    doc_id: str | None = Field(default=None, min_length=1, max_length=MAX_DOC_ID_LENGTH, pattern=DOC_ID_PATTERN.pattern)
    title: str | None = Field(default=None, max_length=500)
    date: CalendarDate | None = Field(default=None, description="A calendar date, YYYY-MM-DD.")


@router.get("", response_model=list[DocumentSummary], responses=errors(401, 503))
def list_documents(
    service: ServiceDep,
    _access: ReadAccess,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Skip this many articles (in the order they were added).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many per page.")] = 1000,
) -> list[DocumentSummary]:
    """The articles in the order they were added, a page at a time."""
    return service.list_documents(offset=offset, limit=limit)


@router.get("/{doc_id}", response_model=Document, responses=errors(401, 404, 503))
def get_document(service: ServiceDep, _access: ReadAccess, doc_id: str = DocIdPath) -> Document:
    return service.get_document(doc_id)


@router.post(
    "",
    response_model=DocumentSummary,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 408, 409, 413, 415, 503),
    dependencies=[JSON_BODY],
)
def add_document(body: DocumentIn, service: ServiceDep, _access: WriteAccess) -> DocumentSummary:
    """Add one article (409 if the id, or the same text under another id, already exists)."""
    doc_id = body.doc_id or f"doc-{content_hash(body.text)[:16]}"
    document = make_document(body.text, doc_id, title=body.title, date=body.date, source="api")
    service.add_document(document)
    return service.summary(doc_id)


@router.delete("/{doc_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 404, 503))
def delete_document(service: ServiceDep, _access: WriteAccess, doc_id: str = DocIdPath) -> None:
    service.delete_document(doc_id)
