"""Dependency aliases: routers ask for `ServiceDep` and get the one service the lifespan loaded.

Access and rate limits are dependencies too, so each endpoint states its own in its signature:
`ReadAccess` (key only with QA_REQUIRE_KEY_FOR_READS), `WriteAccess` (key whenever QA_API_KEY is set),
`AskRateLimit` (per client, only with QA_RATE_LIMIT). The limit of questions in flight is a middleware
(limits.InFlightMiddleware): it must answer before any dependency waits for a thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from qa_service.api.security import api_key_scheme, bearer_scheme, check_key, reads_need_key
from qa_service.config import Settings
from qa_service.service import QAService


def get_service(request: Request) -> QAService:
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    """The settings the app was created with (access control and limits are read from here)."""
    return request.app.state.settings


ServiceDep = Annotated[QAService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
ApiKeyHeaderDep = Annotated[str | None, Security(api_key_scheme)]


def require_write_key(settings: SettingsDep, bearer: BearerDep, header_key: ApiKeyHeaderDep) -> None:
    check_key(settings, bearer, header_key)


def require_read_key(settings: SettingsDep, bearer: BearerDep, header_key: ApiKeyHeaderDep) -> None:
    if reads_need_key(settings):
        check_key(settings, bearer, header_key)


def ask_rate_limit(request: Request) -> None:
    """Count this request against the client's QA_RATE_LIMIT budget (429 with Retry-After when spent)."""
    check = request.app.state.ask_rate_limit
    if check is not None:
        check(request)


WriteAccess = Annotated[None, Depends(require_write_key)]
ReadAccess = Annotated[None, Depends(require_read_key)]
AskRateLimit = Annotated[None, Depends(ask_rate_limit)]
