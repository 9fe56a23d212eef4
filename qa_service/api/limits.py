"""Limits: body size (413), body time (408), questions in flight per worker (503), per-client rate (429)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

import anyio.to_thread
from fastapi import HTTPException, Request, status
from fastapi.responses import JSONResponse
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCUMENTS_PATH = "/documents"
BUSY_RETRY_AFTER_S = 1  # a question takes tens of milliseconds; a second later a slot is usually free
BUSY_WARNING_EVERY_S = 10.0

logger = logging.getLogger("qa_service.api")


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

        await _run_answering_body_errors(self.app, scope, receive, send, limited_receive, BodyTooLarge)


class BodyTimedOut(HTTPException):
    """Raised from `receive` when the body has not all arrived in time; FastAPI answers it as JSON."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            status_code=status.HTTP_408_REQUEST_TIMEOUT,
            detail=f"request body not received within {timeout_s:g} s (QA_BODY_TIMEOUT_S)",
            headers={"Connection": "close"},
        )


class BodyTimeoutMiddleware:
    """Pure ASGI: the whole body must arrive within `timeout_s` of the request's start, or 408 and close.

    Without it a client that trickles its body (a byte a second) holds a connection and a worker's attention for
    as long as it likes; uvicorn's own timeouts cover only idle keep-alive connections.
    """

    def __init__(self, app: ASGIApp, *, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        body_done = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:  # after the body only `http.disconnect` comes, whenever the client leaves
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise BodyTimedOut(self.timeout_s) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        await _run_answering_body_errors(self.app, scope, receive, send, timed_receive, BodyTimedOut)


async def _run_answering_body_errors(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    body_receive: Receive,
    error_type: type[HTTPException],
) -> None:
    """Run `app` reading the body through `body_receive`. FastAPI answers an `error_type` raised while it parses
    the body; one raised where the app reads the body itself escapes to here and is answered the same way, as
    JSON, unless the response has already begun."""
    response_started = False

    async def tracking_send(message: Message) -> None:
        nonlocal response_started
        response_started = response_started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, body_receive, tracking_send)
    except error_type as error:
        if response_started:
            raise
        response = JSONResponse(status_code=error.status_code, content={"detail": error.detail}, headers=error.headers)
        await response(scope, receive, send)


QUESTION_PATHS = frozenset({"/ask", "/search"})
THREAD_RESERVE = 8  # threads of the pool kept for everything but questions (health, documents, metrics)


class InFlightLimit:
    """At most `limit` questions (`/ask`, `/search`) in flight in this worker; more get 503 at once.

    A request beyond what the worker can answer soon would otherwise wait in the thread pool's queue, so under
    overload every answer gets slower without bound; a quick 503 with Retry-After lets the client (or a load
    balancer) go elsewhere or come back. Counted on the event loop, so no lock is needed.
    """

    def __init__(self, limit: int, on_change: Callable[[int, bool], None] | None = None) -> None:
        self.limit = limit
        self.in_flight = 0
        self.refused = 0
        self._refused_since_warning = 0
        self._last_warning = -math.inf
        self._on_change = on_change or (lambda in_flight, refused: None)

    def try_acquire(self) -> bool:
        """Take a slot, or count a refusal (and warn, at most once per BUSY_WARNING_EVERY_S) and say no."""
        if self.in_flight < self.limit:
            self.in_flight += 1
            self._on_change(self.in_flight, False)
            return True
        self.refused += 1
        self._refused_since_warning += 1
        self._on_change(self.in_flight, True)
        now = time.monotonic()
        if now - self._last_warning >= BUSY_WARNING_EVERY_S:
            logger.warning(
                "busy: %d questions in flight in this worker (QA_MAX_IN_FLIGHT=%d); answered 503 to %d since the "
                "last warning. Add workers (serve --workers) or raise QA_MAX_IN_FLIGHT if answers stay fast.",
                self.in_flight,
                self.limit,
                self._refused_since_warning,
            )
            self._last_warning, self._refused_since_warning = now, 0
        return False

    def release(self) -> None:
        self.in_flight -= 1
        self._on_change(self.in_flight, False)


class InFlightMiddleware:
    """Pure ASGI, on the event loop: a question beyond QA_MAX_IN_FLIGHT gets its 503 before it waits for anything.

    As an endpoint dependency the check ran only after the synchronous dependencies before it had each waited for
    a thread of AnyIO's pool, which the questions in flight were holding: with 256 clients a 503 took 4.9 s to
    come back. Here nothing is read or scheduled first. The pool itself is made larger than the limit at start-up
    (`size_thread_pool`), so a question let in never queues for a thread either.
    """

    def __init__(self, app: ASGIApp, *, limit: InFlightLimit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in QUESTION_PATHS:
            await self.app(scope, receive, send)
            return
        if not self.limit.try_acquire():
            busy = JSONResponse(
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                content={
                    "detail": f"busy: {self.limit.limit} questions are being answered; retry in {BUSY_RETRY_AFTER_S} s"
                },
                headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
            )
            await busy(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limit.release()


def size_thread_pool(max_in_flight: int) -> int:
    """Give this event loop's thread pool room for every question let in plus THREAD_RESERVE; returns its size.

    Synchronous endpoints and dependencies run in AnyIO's default pool (40 threads); a limit above it let
    questions in only to queue for a thread.
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(int(limiter.total_tokens), max_in_flight + THREAD_RESERVE)
    return int(limiter.total_tokens)


def build_rate_limit(rate_limit: str | None) -> tuple[Limiter | None, Callable[[Request], None] | None]:
    """A per-app slowapi limiter and the check the `/ask` and `/search` dependency calls, or (None, None).

    Clients are told apart by address (`request.client.host`; behind a proxy listed in QA_TRUSTED_PROXIES, the
    address it forwards in X-Forwarded-For). The in-memory storage is per process.
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
