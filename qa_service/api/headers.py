"""Security headers on every response: no framing, no MIME sniffing, no referrer, and a Content-Security-Policy.

The chat page renders article text and questions as text only, but a page without these headers can be framed by
another site (clickjacking) and a response sniffed as another type. The page's policy lets it load only its own
script, style and API; `/docs` (Swagger UI, which starts itself with an inline script and sets inline styles) gets
those too; everything else (JSON) may load nothing at all.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
COMMON = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


def policy_for(path: str) -> str:
    if path == "/docs" or path.startswith(("/docs/", "/static-offline-docs/")):
        return DOCS_POLICY
    if path == "/" or path.startswith("/static/"):
        return PAGE_POLICY
    return API_POLICY


class SecurityHeadersMiddleware:
    """Pure ASGI: adds the headers above to every HTTP response (errors and 503s included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = policy_for(scope["path"])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, with_headers)
