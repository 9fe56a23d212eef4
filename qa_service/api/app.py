"""Build the FastAPI app: load the model and index once in the lifespan, map domain errors to HTTP.

Middleware, outermost first: security headers, the client address from X-Forwarded-For (only from
QA_TRUSTED_PROXIES), request log and metrics, body time and size limits, CORS (only when QA_CORS_ORIGINS is set),
the API key (before the body is read), the in-flight limit on questions (on the event loop, before anything waits
for a thread). The endpoints check the key again as dependencies (the OpenAPI schema is made from them), and the
rate limit (see deps.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from slowapi.errors import RateLimitExceeded
from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from qa_service.api.deps import require_read_key, require_write_key
from qa_service.api.headers import SecurityHeadersMiddleware
from qa_service.api.limits import (
    BodySizeLimitMiddleware,
    BodyTimeoutMiddleware,
    InFlightLimit,
    InFlightMiddleware,
    build_rate_limit,
    rate_limit_exceeded,
    size_thread_pool,
)
from qa_service.api.observability import Metrics, ObservabilityMiddleware, configure_access_log
from qa_service.api.routers import documents, qa, sources, system
from qa_service.api.security import KeyFirstMiddleware, configured_key, guarded_routes, prune_openapi_security
from qa_service.api.validation import validation_error
from qa_service.config import Settings, get_settings
from qa_service.errors import (
    DocumentExistsError,
    DocumentNotFoundError,
    DocumentTooCostlyError,
    FetchFailedError,
    FetchRefusedError,
    IndexCorruptError,
    IndexMismatchError,
    InvalidDocumentError,
    QAServiceError,
    StorageFullError,
)
from qa_service.service import QAService

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STARTUP_ERRORS = (
    QAServiceError,
    RuntimeError,
    OSError,
    ValueError,
)  # problems the operator fixes; the message says how

logger = logging.getLogger("qa_service.api")

_STATUS = {  # the first kind that matches wins: subclasses before their base
    DocumentTooCostlyError: status.HTTP_413_CONTENT_TOO_LARGE,
    DocumentNotFoundError: status.HTTP_404_NOT_FOUND,
    DocumentExistsError: status.HTTP_409_CONFLICT,
    InvalidDocumentError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    FetchRefusedError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    FetchFailedError: status.HTTP_502_BAD_GATEWAY,
    IndexMismatchError: status.HTTP_503_SERVICE_UNAVAILABLE,
    IndexCorruptError: status.HTTP_503_SERVICE_UNAVAILABLE,
    StorageFullError: status.HTTP_507_INSUFFICIENT_STORAGE,
}


def create_app(settings: Settings | None = None, service: QAService | None = None) -> FastAPI:
    """An app around `service` (loaded in the lifespan if it was not loaded yet).

    `settings` rules the HTTP edge (keys, limits, CORS); the service keeps its own for the index.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        size_thread_pool(settings.max_in_flight)
        owned = getattr(app.state, "service", None) is None
        if owned:
            try:
                app.state.service = (service or QAService(settings)).load()
            except STARTUP_ERRORS as exc:
                app.state.startup_error = f"cannot start: {exc}"
                raise
        yield
        if owned:  # save the dense index so the next start is fast
            app.state.service.close()

    # FastAPIOffline: FastAPI's documented self-hosting of the docs assets, Swagger UI 5 shipped in the
    # `fastapi-offline` wheel, so /docs works with no internet (FastAPI's default loads it from a CDN). ReDoc is off:
    # its page still fetches a logo from its CDN, and one docs page is enough.
    app = FastAPIOffline(
        redoc_url=None,
        title="qa-service",
        summary="Ask questions of your news articles; get short answers with exact citations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = service if service is not None and service.loaded else None
    app.state.metrics = Metrics()
    app.state.limiter, app.state.ask_rate_limit = build_rate_limit(settings.rate_limit)
    app.state.in_flight = InFlightLimit(settings.max_in_flight, app.state.metrics.questions_in_flight)
    configure_access_log(settings.log_level)
    if settings.require_key_for_reads and configured_key(settings) is None:
        logger.warning("QA_REQUIRE_KEY_FOR_READS is set but QA_API_KEY is not: reads and writes are open")

    @app.exception_handler(QAServiceError)
    async def domain_error(_: Request, exc: QAServiceError) -> JSONResponse:
        code = next((c for kind, c in _STATUS.items() if isinstance(exc, kind)), status.HTTP_400_BAD_REQUEST)
        if code >= 500:  # the operator's to fix: the request log has only the status
            logger.warning("%d: %s", code, exc)
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    app.add_exception_handler(RateLimitExceeded, rate_limit_exceeded)
    app.add_exception_handler(RequestValidationError, validation_error)

    routers = (qa.router, documents.router, sources.router, system.router)
    for router in routers:
        app.include_router(router)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    app.add_middleware(InFlightMiddleware, limit=app.state.in_flight)  # innermost: its 503 gets CORS headers
    guarded = guarded_routes(
        [route for router in routers for route in router.routes], settings, require_write_key, require_read_key
    )
    app.add_middleware(KeyFirstMiddleware, settings=settings, guarded=guarded)  # 401 before the body, and a slot
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_request_bytes=settings.max_request_bytes,
        max_document_bytes=settings.max_document_bytes,
    )
    app.add_middleware(BodyTimeoutMiddleware, timeout_s=settings.body_timeout_s)
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics)
    if settings.trusted_proxies:  # rate limit and access log then see the forwarded client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(_CleanStartupFailure, state=app.state)

    def openapi() -> dict[str, Any]:  # generated once, then says which endpoints this configuration guards
        if app.openapi_schema is None:
            routes = [route for router in routers for route in router.routes]
            prune_openapi_security(FastAPI.openapi(app), routes, settings, require_read_key)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class _CleanStartupFailure:
    """Starlette reports a failed start-up to the server with a full traceback, which uvicorn prints.

    For the problems an operator fixes (damaged index, other settings, missing model), send the one-line
    message instead: uvicorn prints it and exits non-zero (status 3).
    """

    def __init__(self, app: ASGIApp, *, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_short_failure(message: Message) -> None:
            error = getattr(self.state, "startup_error", None)
            if message["type"] == "lifespan.startup.failed" and error:
                message = {**message, "message": error}
            await send(message)

        await self.app(scope, receive, send_short_failure)
