"""Build the FastAPI app: load the model and index once in the lifespan, map domain errors to HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from qa_service.api.routers import documents, qa, system
from qa_service.config import Settings, get_settings
from qa_service.errors import (
    DocumentExistsError,
    DocumentNotFoundError,
    IndexCorruptError,
    IndexMismatchError,
    InvalidDocumentError,
    QAServiceError,
)
from qa_service.service import QAService

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

_STATUS = {
    DocumentNotFoundError: status.HTTP_404_NOT_FOUND,
    DocumentExistsError: status.HTTP_409_CONFLICT,
    InvalidDocumentError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    IndexMismatchError: status.HTTP_503_SERVICE_UNAVAILABLE,
    IndexCorruptError: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def create_app(settings: Settings | None = None, service: QAService | None = None) -> FastAPI:
    """An app around `service` (loaded in the lifespan if it was not loaded yet)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = service if service is not None and service.loaded else (service or QAService(settings)).load()
        yield

    app = FastAPI(
        title="qa-service",
        summary="Ask questions of your news articles; get short answers with exact citations.",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.exception_handler(QAServiceError)
    async def domain_error(_: Request, exc: QAServiceError) -> JSONResponse:
        code = next((c for kind, c in _STATUS.items() if isinstance(exc, kind)), status.HTTP_400_BAD_REQUEST)
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    app.include_router(qa.router)
    app.include_router(documents.router)
    app.include_router(system.router)

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return app
