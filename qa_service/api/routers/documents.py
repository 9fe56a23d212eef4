"""The corpus as a resource: list, read, add and delete articles."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from qa_service.api.deps import ReadAccess, ServiceDep, SettingsDep, WriteAccess
from qa_service.api.filters import QueryFilters
from qa_service.api.responses import errors
from qa_service.api.routers.qa import NOT_BLANK
from qa_service.api.validation import JSON_BODY, KNOWN_QUERY, CalendarDate, StrictBody
from qa_service.config import Settings
from qa_service.errors import QAServiceError
from qa_service.ingest.clean import DOC_ID_PATTERN, MAX_DOC_ID_LENGTH, derived_id, doc_id_from_url, make_document
from qa_service.ingest.indexer import DuplicatePolicy, Incoming
from qa_service.schemas import Document, DocumentSummary, IngestReport
from qa_service.service import QAService

if TYPE_CHECKING:  # fetch.py (httpx) is imported when a page is first fetched
    from qa_service.ingest.fetch import Fetched, FetchPool

router = APIRouter(prefix="/documents", tags=["documents"], dependencies=[KNOWN_QUERY])

# SQLite integers are 64-bit; no archive comes near this, and a larger offset would be a 500.
MAX_OFFSET = 2**62

DocIdPath = Path(min_length=1, max_length=MAX_DOC_ID_LENGTH, pattern=DOC_ID_PATTERN.pattern)


class DocumentIn(StrictBody):
    text: str | None = Field(
        default=None,
        min_length=1,
        json_schema_extra=NOT_BLANK,
        description="Raw article text; it is cleaned like an ingested file. Without it, the page at `url` is fetched.",
    )
    url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://",
        description="With `text`: where it was published. Alone: an http(s) page to fetch; its article text, title, "
        "date and outlet are extracted (public addresses only unless QA_FETCH_ALLOW_PRIVATE=true).",
    )
    doc_id: str | None = Field(default=None, min_length=1, max_length=MAX_DOC_ID_LENGTH, pattern=DOC_ID_PATTERN.pattern)
    title: str | None = Field(default=None, max_length=500)
    date: CalendarDate | None = Field(default=None, description="A calendar date, YYYY-MM-DD.")
    source: str | None = Field(default=None, max_length=200, description="The outlet that published it.")
    author: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _text_or_url(self) -> DocumentIn:
        if self.text is None and self.url is None:
            raise ValueError("give the article's `text`, or the `url` of a page to fetch")
        if self.text is not None and not self.text.strip():
            raise ValueError("`text` must not be blank")
        return self


MAX_BATCH = 1000
BATCH_TYPES = ("application/json", "application/x-ndjson", "application/jsonl", "application/json-lines")


@router.get("", response_model=list[DocumentSummary], responses=errors(401, 503))
def list_documents(
    service: ServiceDep,
    _access: ReadAccess,
    filters: QueryFilters,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Skip this many articles (in the order they were added).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many per page.")] = 1000,
) -> list[DocumentSummary]:
    """The articles in the order they were added, a page at a time; `date_from`, `date_to`, `source` and
    `doc_id` list only those (as `POST /ask`'s `filters`)."""
    return service.list_documents(offset=offset, limit=limit, filters=filters)


@router.get("/{doc_id}", response_model=Document, responses=errors(401, 404, 503))
def get_document(service: ServiceDep, _access: ReadAccess, doc_id: str = DocIdPath) -> Document:
    return service.get_document(doc_id)


@router.post(
    "",
    response_model=DocumentSummary,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 408, 409, 413, 415, 422, 502, 503, 507),
    dependencies=[JSON_BODY],
)
async def add_document(
    request: Request, body: DocumentIn, service: ServiceDep, settings: SettingsDep, _access: WriteAccess
) -> DocumentSummary:
    """Add one article, as text or the `url` of a page to fetch (409 if the id, or the same text under another
    id, already exists; 413 if its cleaned text is over QA_MAX_DOCUMENT_CHARS or indexing it would cost more than
    QA_DOCUMENT_CPU_S of CPU; 422 for a refused URL or a page with no article, 502 when it cannot be fetched)."""
    fetched = None if body.url is None or body.text is not None else await fetch_pool(request).fetch(body.url)
    item = await run_in_threadpool(_document, body, settings, service, fetched)
    await run_in_threadpool(service.write, [item], DuplicatePolicy.FAIL)
    return await run_in_threadpool(service.summary, item.document.doc_id)


@router.post(
    "/batch",
    response_model=IngestReport,
    responses=errors(400, 401, 408, 413, 415, 422, 503, 507),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "application/x-ndjson": {"schema": {"type": "string", "description": "One export row per line."}},
            },
        }
    },
)
async def add_documents(
    request: Request, service: ServiceDep, settings: SettingsDep, _access: WriteAccess
) -> IngestReport:
    """Add up to 1,000 articles in one call: a JSON array, or JSON Lines (one per line, `application/x-ndjson`),
    of export rows read as `qa-service ingest archive.jsonl` reads them (`text`, `title`, `date` in any form it
    reads, `source`, `url`, `author`, `doc_id`; other fields are ignored with a note), or of `{"url": ...}` pages
    to fetch. Their URLs are fetched side by side (QA_FETCH_CONCURRENCY at a time, all within QA_FETCH_BATCH_S);
    one bad row is an error of its own, by item number, and the rest go on. They are embedded together (with every
    core, as `ingest` does) and committed QA_INGEST_BATCH at a time, so a batch stopped part-way keeps the groups
    committed before. The report says what was added and, per item, what was not (existing ids are not replaced:
    `conflicts`; the same text under another id: `duplicates`; `errors` by item number, from 0, a repeated id or
    text within the batch included)."""
    items = _parse_batch(await request.body(), request.headers.get("content-type", "application/json"))
    urls = {
        n: str(item["url"])
        for n, item in enumerate(items)
        if isinstance(item, dict) and item.get("text") is None and isinstance(item.get("url"), str) and item["url"]
    }
    pages = dict(zip(urls, await fetch_pool(request).fetch_all(list(urls.values())), strict=True))
    return await run_in_threadpool(_add_batch, items, pages, service, settings)


def fetch_pool(request: Request) -> FetchPool:
    """The app's pool for fetching pages (made on first use): fetches never wait in the questions' threads."""
    from qa_service.ingest.fetch import FetchPool

    pool: FetchPool | None = getattr(request.app.state, "fetch_pool", None)
    if pool is None:  # on the event loop: no other request runs between the check and the assignment
        pool = request.app.state.fetch_pool = FetchPool(request.app.state.settings)
    return pool


def _document(body: DocumentIn, settings: Settings, service: QAService, fetched: Fetched | None = None) -> Incoming:
    """The cleaned document with its CPU budget (QA_DOCUMENT_CPU_S, QA_MAX_DOCUMENT_CHARS), charged from the
    extraction and cleaning on; a `url` item's page comes `fetched` (its download is not charged)."""
    if body.text is not None:
        doc_id = body.doc_id or derived_id(body.url, body.text)
        budget = service.indexer.budget(doc_id)
        with budget.active():
            document = make_document(
                body.text,
                doc_id,
                title=body.title,
                date=body.date,
                source=body.source,
                url=body.url,
                author=body.author,
            )
        return Incoming(document, budget=budget)
    from dataclasses import replace

    from qa_service.ingest.clean import article_document
    from qa_service.ingest.converters import html

    assert body.url is not None and fetched is not None
    doc_id = body.doc_id or doc_id_from_url(body.url)
    budget = service.indexer.budget(doc_id)
    with budget.active():
        article = html.convert(fetched.content, body.url, url=fetched.url)
        given = {k: v for k, v in body.model_dump(include={"title", "date", "source", "author"}).items() if v}
        doc_id = body.doc_id or doc_id_from_url(article.url or fetched.url)  # the canonical URL, as `ingest` does
        document = article_document(replace(article, **given), doc_id)
    return Incoming(document, budget=budget)


def _parse_batch(raw: bytes, content_type: str) -> list[object]:
    """The batch's items: each a parsed JSON value, or an `ArticleError` for a JSON Lines line that is not JSON
    (one bad row of an export is its own error, as in `ingest`; a JSON array that does not parse is a 400, one
    with an item that is no object a 422, as its schema says)."""
    from qa_service.ingest.converters.article import ArticleError

    media = content_type.split(";", 1)[0].strip().lower()
    if media not in BATCH_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"send a JSON array or JSON Lines ({', '.join(BATCH_TYPES)})"
        )
    values: list[object] = []
    try:
        if media == "application/json":
            parsed = json.loads(raw)
            if not isinstance(parsed, list):
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "send a JSON array of articles")
            not_objects = [n for n, value in enumerate(parsed) if not isinstance(value, dict)]
            if not_objects:  # the declared schema: an array of objects (a bad field of one is that item's error)
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT, f"item {not_objects[0]} is not a JSON object"
                )
            values = parsed
        else:
            for number, line in enumerate(line for line in raw.decode("utf-8-sig").splitlines() if line.strip()):
                try:
                    values.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    values.append(ArticleError(str(number), f"not a JSON object ({exc.msg} at column {exc.colno})"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # '[' * 100000: json's parser recurses per level
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not valid JSON: nested too deeply") from None
    if len(values) > MAX_BATCH:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"at most {MAX_BATCH} articles per batch")
    return values


def _add_batch(
    items: list[object], pages: dict[int, Fetched | QAServiceError], service: QAService, settings: Settings
) -> IngestReport:
    """Read each item as `ingest` reads an export row (`converters.exports.row_article`: extra fields ignored
    with a note, dates in any form it reads), or take its fetched page when it has a `url` and no `text`; one bad
    item, or a page not fetched, is an error of its own. An id an earlier item has (the same text without an id
    gives the same id) is an error of the later one, by number. Then embed and commit the rest together."""
    from qa_service.ingest.clean import article_document
    from qa_service.ingest.converters.article import ArticleError
    from qa_service.ingest.converters.exports import COLUMNS, ignored_columns, row_article

    documents: list[Incoming] = []
    errors_by_item: dict[str, str] = {}
    notes: dict[str, str] = {}
    first_by_id: dict[str, tuple[int, str]] = {}  # doc_id -> the first item with it, and its text's hash
    for number, item in enumerate(items):
        where = str(number)
        if isinstance(item, ArticleError):
            errors_by_item[where] = item.message
            continue
        try:
            page = pages.get(number)
            if isinstance(page, QAServiceError):
                raise page
            if page is not None:  # a page to fetch, fetched
                incoming = _document(DocumentIn.model_validate(item), settings, service, page)
            else:
                if isinstance(item, dict) and (extra := ignored_columns(item)):
                    notes[where] = f"ignored {', '.join(f'`{k}`' for k in extra)} (read: {', '.join(COLUMNS)})"
                article = row_article(item, where)
                if isinstance(article, ArticleError):
                    errors_by_item[where] = article.message
                    continue
                budget = service.indexer.budget(article.doc_id or where)
                with budget.active():
                    incoming = Incoming(article_document(article), budget=budget)
        except ValidationError as exc:
            errors_by_item[where] = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            continue
        except QAServiceError as exc:
            errors_by_item[where] = str(exc)
            continue
        document = incoming.document
        earlier = first_by_id.get(document.doc_id)
        if earlier is not None:  # the same text under another id is the indexer's to report (`duplicates`)
            first, content_hash = earlier
            errors_by_item[where] = (
                f"a duplicate of item {first} (the same text); not added again"
                if content_hash == document.content_hash
                else f"doc_id {document.doc_id!r} is item {first}'s too; give one of the two another doc_id"
            )
            continue
        first_by_id[document.doc_id] = (number, document.content_hash)
        documents.append(incoming)
    report = service.write(documents, DuplicatePolicy.SKIP)
    report.errors.update(errors_by_item)
    report.notes.update(notes)
    return report


@router.delete("/{doc_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 404, 503, 507))
def delete_document(service: ServiceDep, _access: WriteAccess, doc_id: str = DocIdPath) -> None:
    service.delete_document(doc_id)
