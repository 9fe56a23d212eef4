"""Questions and retrieval. Plain `def` endpoints: model work blocks, so FastAPI runs them in a thread pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictInt, field_validator
from pydantic.config import JsonDict

from qa_service.api.deps import AskRateLimit, ReadAccess, ServiceDep, SettingsDep
from qa_service.api.filters import QueryFilters
from qa_service.api.responses import errors
from qa_service.api.validation import JSON_BODY, KNOWN_QUERY, StrictBody
from qa_service.schemas import Answer, Filters, SearchResult

router = APIRouter(tags=["questions"], dependencies=[KNOWN_QUERY])

MAX_QUESTION_CHARS = 1000
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())  # what str.strip() removes
NOT_BLANK: JsonDict = {"pattern": f"[^{_WHITESPACE}]"}
"""Publishes "has a character `str.strip()` keeps" in the schema; `_not_blank` enforces it with a clear message."""


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value.strip()


def _whole_float_to_int(value: object) -> object:
    """JSON Schema counts 5.0 as an integer, so accept it; 2.5, "5" and true stay errors (strict int)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class AskRequest(StrictBody):
    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, json_schema_extra=NOT_BLANK, examples=["Who met Dorothy Shea?"]
    )
    top_k: Annotated[StrictInt, Field(ge=1, le=20), BeforeValidator(_whole_float_to_int)] | None = Field(
        default=None, description="Passages to retrieve; unset means the server's QA_TOP_K."
    )
    filters: Filters | None = Field(
        default=None, description="Only these articles: a date range, outlets, doc ids (applied inside the store)."
    )
    explain: StrictBool = Field(
        default=False,
        description="Add `explanation`: the candidate sentences weighed, their scores, the deciding rule.",
    )

    _check_question = field_validator("question")(_not_blank)


class SearchRequest(StrictBody):
    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, json_schema_extra=NOT_BLANK)
    top_k: Annotated[StrictInt, Field(ge=1, le=20), BeforeValidator(_whole_float_to_int)] | None = None
    filters: Filters | None = None

    _check_query = field_validator("query")(_not_blank)


@router.post(
    "/ask", response_model=Answer, responses=errors(400, 401, 408, 413, 415, 429, 503), dependencies=[JSON_BODY]
)
def ask(
    request: AskRequest,
    service: ServiceDep,
    settings: SettingsDep,
    _access: ReadAccess,
    _limit: AskRateLimit,
) -> Answer:
    """Answer a question from the articles with exact citations, or abstain (`answerable: false`)."""
    return service.ask(
        request.question, request.top_k or settings.top_k, filters=request.filters, explain=request.explain
    )


@router.get("/search", response_model=SearchResult, responses=errors(401, 429, 503))
def search(
    service: ServiceDep,
    settings: SettingsDep,
    _access: ReadAccess,
    _limit: AskRateLimit,
    q: Annotated[
        str,
        Query(min_length=1, max_length=MAX_QUESTION_CHARS, json_schema_extra=NOT_BLANK),
        AfterValidator(_not_blank),
    ],
    filters: QueryFilters,
    top_k: Annotated[int | None, Query(ge=1, le=20, description="Passages; unset means QA_TOP_K.")] = None,
) -> SearchResult:
    """Retrieval only: the passages an answer would be drawn from (`date_from`, `date_to`, `source` and `doc_id`
    narrow it as `POST /ask`'s `filters` do)."""
    return service.search(q, top_k or settings.top_k, filters=filters)


@router.post(
    "/search",
    response_model=SearchResult,
    responses=errors(400, 401, 408, 413, 415, 429, 503),
    dependencies=[JSON_BODY],
)
def search_post(
    request: SearchRequest,
    service: ServiceDep,
    settings: SettingsDep,
    _access: ReadAccess,
    _limit: AskRateLimit,
) -> SearchResult:
    """`GET /search` with a JSON body: `{"query", "top_k"?, "filters"?}`."""
    return service.search(request.query, request.top_k or settings.top_k, filters=request.filters)
