"""Error responses each endpoint may give, declared in the OpenAPI schema (every error body is `{"detail": ...}`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: Any


_WHY = {
    400: "The body is not valid JSON text (e.g. not UTF-8)",
    401: "Missing or wrong API key (only when QA_API_KEY is set; reads only with QA_REQUIRE_KEY_FOR_READS)",
    404: "No document with this id",
    408: "The request body did not arrive within QA_BODY_TIMEOUT_S",
    409: "A document with this id, or with the same text, already exists",
    413: "Request body over QA_MAX_REQUEST_BYTES (QA_MAX_DOCUMENT_BYTES for documents)",
    415: "The body is not declared as JSON: send Content-Type: application/json",
    429: "Over QA_RATE_LIMIT for this client; see the Retry-After header",
    503: "Busy (QA_MAX_IN_FLIGHT questions in flight; see Retry-After), or the index on disk was built with "
    "other settings or is damaged",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: these codes, each with its reason and the common error body."""
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}
