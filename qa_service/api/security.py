"""API-key access control: writes need the key when `QA_API_KEY` is set; reads too with `QA_REQUIRE_KEY_FOR_READS`.

The key may come as `Authorization: Bearer <key>` or `X-API-Key: <key>`; it is compared in constant time.
`/health` and the chat page never need it (liveness probes and the browser page must work without a secret), nor do
`/docs` and `/openapi.json`, which describe the API and hold no article text. The key is checked before a request's
body is read (`KeyFirstMiddleware`), and again by each endpoint's dependency, which the OpenAPI schema is made of.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from qa_service.config import Settings

MISSING_KEY = "missing or invalid API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"

bearer_scheme = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>` (when QA_API_KEY is set)")
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="`X-API-Key: <key>` (when QA_API_KEY is set)"
)


def configured_key(settings: Settings) -> str | None:
    """The key to check, or None when access control is off (QA_API_KEY unset; a blank one stops start-up)."""
    return settings.api_key or None


def key_is_valid(expected: str, presented: Iterable[str | None]) -> bool:
    """True if any presented value equals the key; each comparison takes the same time whatever it holds."""
    wanted = expected.encode()
    return any(hmac.compare_digest(value.encode(), wanted) for value in presented if value)


def check_key(settings: Settings, bearer: HTTPAuthorizationCredentials | None, header_key: str | None) -> None:
    """Raise 401 (with `WWW-Authenticate: Bearer`) unless access control is off or a valid key was sent."""
    expected = configured_key(settings)
    if expected is None:
        return
    if not key_is_valid(expected, [bearer.credentials if bearer else None, header_key]):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED, detail=MISSING_KEY, headers={"WWW-Authenticate": "Bearer"}
        )


class KeyFirstMiddleware:
    """Pure ASGI: a guarded request without a valid key gets its 401 before its body is read.

    The endpoints' dependencies check the key too (and the OpenAPI schema is made from them), but FastAPI reads
    and parses the body first: malformed JSON sent to `POST /documents` without a key got a 422 that told an
    unauthenticated client about the body instead of the 401.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, guarded: Iterable[BaseRoute]) -> None:
        self.app = app
        self.expected = configured_key(settings)
        self.guarded = list(guarded)

    def is_guarded(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] == Match.FULL for route in self.guarded)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.expected is None or scope["type"] != "http" or not self.is_guarded(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        bearer = credentials.strip() if scheme.lower() == "bearer" else None
        if key_is_valid(self.expected, [bearer, headers.get("x-api-key")]):
            await self.app(scope, receive, send)
            return
        refusal = JSONResponse(
            status_code=status.HTTP_401_UNAUTHORIZED,
            content={"detail": MISSING_KEY},
            headers={"WWW-Authenticate": "Bearer"},
        )
        await refusal(scope, receive, send)


def guarded_routes(routes: Iterable[Any], settings: Settings, write_check: Any, read_check: Any) -> list[APIRoute]:  # noqa: ANN401
    """The routes that need the key in this configuration, found from their dependencies (as the OpenAPI schema
    is), so a route added later is guarded by the middleware too."""
    if configured_key(settings) is None:
        return []
    checks = (write_check, read_check) if reads_need_key(settings) else (write_check,)
    return [r for r in routes if isinstance(r, APIRoute) and any(_uses(r.dependant, c) for c in checks)]


def reads_need_key(settings: Settings) -> bool:
    return settings.require_key_for_reads and configured_key(settings) is not None


def _uses(dependant: Any, call: Any) -> bool:  # noqa: ANN401 - FastAPI's Dependant tree
    return dependant.call is call or any(_uses(sub, call) for sub in dependant.dependencies)


def prune_openapi_security(schema: dict[str, Any], routes: Iterable[Any], settings: Settings, read_check: Any) -> None:  # noqa: ANN401
    """Make the published schema say what this deployment enforces (clients and fuzzers read it).

    Every guarded route declares both schemes in code; drop them where this configuration does not check.
    """
    if configured_key(settings) is None:
        schema.get("components", {}).pop("securitySchemes", None)
        open_routes = [r for r in routes if isinstance(r, APIRoute)]
    elif not reads_need_key(settings):
        open_routes = [r for r in routes if isinstance(r, APIRoute) and _uses(r.dependant, read_check)]
    else:
        return
    for route in open_routes:
        for method in route.methods:
            schema["paths"].get(route.path_format, {}).get(method.lower(), {}).pop("security", None)
