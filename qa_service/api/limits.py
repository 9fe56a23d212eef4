"""Request body size limits (413) and the per-client rate limit on questions (429 with Retry-After)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import HTTPException, Request, status
from fastapi.responses import JSONResponse
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCUMENTS_PATH = "/documents"


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body passes its limit; an HTTPException, so FastAPI answers it as JSON."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            detail=f"request body too large: the limit for this endpoint is {limit} bytes",
        )


class BodySizeLimitMiddleware:
    """Pure ASGI: refuse bodies over the limit, by Content-Length up front and by counting streamed chunks.

    `POST /documents` may carry a whole article (QA_MAX_DOCUMENT_BYTES); everything else, `/ask` included,
    gets QA_MAX_REQUEST_BYTES.
    """

    def __init__(self, app: ASGIApp, *, max_request_bytes: int, max_document_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_document_bytes = max_document_bytes

    def limit_for(self, path: str) -> int:
        if path == DOCUMENTS_PATH or path.startswith(DOCUMENTS_PATH + "/"):
            return self.max_document_bytes
        return self.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        declared_too_large = declared.isdigit() and int(declared) > limit
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            if declared_too_large:  # refuse before reading any of it
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:  # read outside FastAPI's body parsing (which answers it itself)
            if response_started:
                raise
            await _too_large_response(limit)(scope, receive, send)


def _too_large_response(limit: int) -> JSONResponse:
    error = BodyTooLarge(limit)
    return JSONResponse(status_code=error.status_code, content={"detail": error.detail})


def build_rate_limit(rate_limit: str | None) -> tuple[Limiter | None, Callable[[Request], None] | None]:
    """A per-app slowapi limiter and the check the `/ask` and `/search` dependency calls, or (None, None).

    Clients are told apart by address (`request.client.host`; behind a proxy, uvicorn's --proxy-headers
    and --forwarded-allow-ips make that the real client). The in-memory storage is per process.
    """
    if not rate_limit:
        return None, None
    limiter = Limiter(key_func=get_remote_address, headers_enabled=False, key_style="endpoint")  # one budget for both

    @limiter.limit(rate_limit)
    def check(request: Request) -> None:  # slowapi does the counting in its wrapper
        return None

    return limiter, check


def rate_limit_exceeded(request: Request, exc: RateLimitExceeded) -> JSONResponse:
    """429 with `Retry-After` (seconds until the client's window frees a request) and a JSON detail."""
    retry_after = 1
    limiter: Limiter | None = getattr(request.app.state, "limiter", None)
    current = getattr(request.state, "view_rate_limit", None)
    if limiter is not None and current is not None:
        reset_at, _remaining = limiter.limiter.get_window_stats(current[0], *current[1])
        retry_after = max(1, math.ceil(reset_at - time.time()))
    return JSONResponse(
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        content={"detail": f"rate limit exceeded ({exc.detail}); retry in {retry_after} s"},
        headers={"Retry-After": str(retry_after)},
    )
