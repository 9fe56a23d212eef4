"""Questions and retrieval. Plain `def` endpoints: model work blocks, so FastAPI runs them in a thread pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, Field, StrictInt, field_validator

from qa_service.api.deps import ServiceDep
from qa_service.schemas import Answer, SearchResult

router = APIRouter(tags=["questions"])

MAX_QUESTION_CHARS = 1000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value.strip()


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, examples=["Who met Dorothy Shea?"])
    top_k: StrictInt = Field(default=5, ge=1, le=20)

    _check_question = field_validator("question")(_not_blank)


@router.post("/ask", response_model=Answer)
def ask(request: AskRequest, service: ServiceDep) -> Answer:
    """Answer a question from the articles with exact citations, or abstain (`answerable: false`)."""
    return service.ask(request.question, request.top_k)


@router.get("/search", response_model=SearchResult)
def search(
    service: ServiceDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS), AfterValidator(_not_blank)],
    top_k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> SearchResult:
    """Retrieval only: the passages an answer would be drawn from."""
    return service.search(q, top_k)
