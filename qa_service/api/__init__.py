"""HTTP edge of the service: FastAPI app, routers per resource, error mapping."""

from qa_service.api.app import create_app

__all__ = ["create_app"]
