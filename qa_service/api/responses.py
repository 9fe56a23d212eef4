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
    413: "Request body over QA_MAX_REQUEST_BYTES (QA_MAX_DOCUMENT_BYTES for documents), or an article that would "
    "cost more than QA_DOCUMENT_CPU_S of CPU to index",
    415: "The body is not sent as JSON: Content-Type: application/json (POST /documents/batch: a JSON array, or "
    "JSON Lines as application/x-ndjson)",
    422: "Invalid input, a URL that is not fetched (not http(s), or a private address), or a page with no article",
    429: "Over QA_RATE_LIMIT for this client; see the Retry-After header",
    502: "The page at `url` could not be fetched (unreachable, an error status, not HTML, too large)",
    503: "Busy (QA_MAX_IN_FLIGHT questions in flight; see Retry-After), or the index on disk was built with "
    "other settings or is damaged",
    507: "The disk refused the write (full, over a file-size limit or failing); nothing was changed",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: these codes, each with its reason and the common error body."""
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}
