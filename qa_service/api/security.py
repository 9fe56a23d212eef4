"""API-key access control: writes need the key when `QA_API_KEY` is set; reads too with `QA_REQUIRE_KEY_FOR_READS`.

The key may come as `Authorization: Bearer <key>` or `X-API-Key: <key>`; it is compared in constant time.
`/health` and the chat page never need it (liveness probes and the browser page must work without a secret).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import HTTPException, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from qa_service.config import Settings

bearer_scheme = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>` (when QA_API_KEY is set)")
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="`X-API-Key: <key>` (when QA_API_KEY is set)"
)


def configured_key(settings: Settings) -> str | None:
    """The key to check, or None when access control is off (unset or blank QA_API_KEY)."""
    key = settings.api_key
    return key if key and key.strip() else None


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
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


def reads_need_key(settings: Settings) -> bool:
    return settings.require_key_for_reads and configured_key(settings) is not None


def _uses(dependant: Dependant, call: Callable[..., Any]) -> bool:
    """Whether `call` is among the dependencies of a route (FastAPI's Dependant tree), at any depth."""
    return dependant.call is call or any(_uses(sub, call) for sub in dependant.dependencies)


def prune_openapi_security(
    schema: dict[str, Any], routes: Iterable[BaseRoute], settings: Settings, read_check: Callable[..., Any]
) -> None:
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
        for method in route.methods or ():
            schema["paths"].get(route.path_format, {}).get(method.lower(), {}).pop("security", None)
