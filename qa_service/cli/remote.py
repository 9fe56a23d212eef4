"""Asking a running `qa-service serve` over HTTP, so `qa-service ask` need not load the model (6-9 s) itself."""

from __future__ import annotations

import contextlib
import ipaddress
from typing import TYPE_CHECKING, Any

from qa_service.config import Settings
from qa_service.errors import QAServiceError
from qa_service.schemas import DocumentSummary

if TYPE_CHECKING:
    import httpx

PROBE_TIMEOUT_S = 1.0  # a server on this machine answers /health in milliseconds; anything slower is not used
ASK_TIMEOUT_S = 120.0  # one answer can wait behind other requests on a busy server


class RemoteError(QAServiceError):
    """The server could not be reached or refused the question (the message says why and what to do)."""


def configured_url(settings: Settings) -> str:
    """`http://host:port` of the configured server; a wildcard bind address is reached on loopback."""
    host = settings.host.strip() or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    with contextlib.suppress(ValueError):  # a host name, not an address
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _client(url: str, timeout_s: float) -> httpx.Client:
    """A client that goes to a loopback server directly, whatever HTTP proxy the environment names."""
    import httpx

    host = httpx.URL(url).host
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):  # a host name, not an address
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    return httpx.Client(timeout=timeout_s, trust_env=not loopback)


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key and api_key.strip() else {}


def server_answers(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """True if a qa-service answers `GET /health` at `url` within `timeout_s` (any other reply is not one)."""
    import httpx

    try:
        with _client(url, timeout_s) as client:
            response = client.get(f"{url.rstrip('/')}/health")
            body = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    return response.status_code == 200 and isinstance(body, dict) and body.get("status") == "ok"


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):  # FastAPI's validation errors
        detail = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail)
    return str(detail or response.text[:200] or response.reason_phrase)


def ask_remote(
    url: str, question: str, top_k: int, *, api_key: str | None = None, filters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST /ask (with `filters` when given); returns the server's JSON as it came (what an HTTP client gets)."""
    import httpx

    endpoint = f"{url.rstrip('/')}/ask"
    body: dict[str, Any] = {"question": question, "top_k": top_k}
    if filters:
        body["filters"] = filters
    try:
        with _client(url, ASK_TIMEOUT_S) as client:
            response = client.post(endpoint, json=body, headers=_headers(api_key))
    except httpx.HTTPError as exc:
        raise RemoteError(f"cannot reach the server at {url}: {exc or type(exc).__name__} (or use --local)") from exc
    if response.status_code == 401:
        hint = "set QA_API_KEY to the server's key" if not api_key else "QA_API_KEY is not the server's key"
        raise RemoteError(f"the server at {url} refused the question (401): {hint}, or use --local")
    if response.status_code != 200:
        raise RemoteError(f"the server at {url} answered {response.status_code}: {_detail(response)}")
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise RemoteError(f"the server at {url} did not answer with JSON: is it a qa-service?")
    return payload


def summaries(url: str, doc_ids: list[str], *, api_key: str | None = None) -> dict[str, DocumentSummary]:
    """Label and date of a few articles (the related passages of an abstention): one `GET /documents?doc_id=...`,
    which lists them with the label stored at ingest (their texts are not downloaded).

    An article that cannot be read (deleted meanwhile, a key needed for reads) is left out: it is named by its id.
    """
    import httpx

    if not doc_ids:
        return {}
    params: dict[str, list[str] | int] = {"doc_id": doc_ids, "limit": len(doc_ids)}
    try:
        with _client(url, PROBE_TIMEOUT_S * 10) as client:
            response = client.get(f"{url.rstrip('/')}/documents", params=params, headers=_headers(api_key))
            if response.status_code != 200:
                return {}
            listed = [DocumentSummary.model_validate(item) for item in response.json()]
    except (httpx.HTTPError, ValueError):  # pydantic's ValidationError is a ValueError
        return {}  # the answer stands without the labels
    return {summary.doc_id: summary for summary in listed if summary.doc_id in doc_ids}
