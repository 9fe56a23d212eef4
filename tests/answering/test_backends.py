"""The optional answer back-end: an OpenAI-compatible LLM, with its fallbacks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from qa_service.embedding import Embedder
from qa_service.ingest.clean import load_file
from qa_service.schemas import Answer
from qa_service.service import QAService

from ..conftest import SEEDS, make_settings

QUESTION = "Who met Dorothy Shea?"


def _service(index_dir: Path, embedder: Embedder, **overrides: Any) -> QAService:
    service = QAService(make_settings(index_dir, **overrides), embedder=embedder).load()
    service.write([load_file(p) for p in sorted(SEEDS.glob("00[01]_*.txt"))])
    return service


# ---- a fake OpenAI-compatible server on 127.0.0.1 -------------------------------------------------


class FakeLLM(BaseHTTPRequestHandler):
    reply: str | None = "ok"
    delay_s: float = 0.0  # the reply waits this long, or until `release` is set
    release = threading.Event()
    requests: list[dict[str, Any]] = []  # noqa: RUF012 - shared on purpose: the test reads what the server saw

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeLLM.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        FakeLLM.release.wait(FakeLLM.delay_s)
        if FakeLLM.reply is None:
            payload = b"not json at all"
        else:
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": FakeLLM.reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.fixture(scope="module")
def llm_service(fake_llm: str, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> QAService:
    index = tmp_path_factory.mktemp("llm-index")
    return _service(index, embedder, llm_base_url=fake_llm, llm_model="fake", llm_api_key="sekret", llm_timeout_s=1.0)


@pytest.fixture(scope="module")
def extractive_answer(llm_service: QAService, embedder: Embedder) -> Answer:
    plain = QAService(llm_service.settings.model_copy(update={"llm_base_url": None}), embedder=embedder).load()
    return plain.ask(QUESTION)


def _ask(service: QAService, reply: str | None, delay_s: float = 0.0) -> Answer:
    FakeLLM.reply, FakeLLM.delay_s = reply, delay_s
    FakeLLM.release.clear()
    FakeLLM.requests.clear()
    return service.ask(QUESTION)


def test_llm_answer_with_checked_citations(llm_service: QAService) -> None:
    answer = _ask(llm_service, "The delegation met Dorothy Shea, the acting US envoy [1].")
    request = FakeLLM.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sekret"
    assert (
        "[1]" in request["body"]["messages"][-1]["content"] and QUESTION in request["body"]["messages"][-1]["content"]
    )
    assert answer.answerable and (answer.answer or "").endswith("[1].")
    assert len(answer.citations) == 1 and "Dorothy Shea" in answer.citations[0].quote
    for citation in answer.citations:
        assert llm_service.get_document(citation.doc_id).text[citation.start : citation.end] == citation.quote


def test_llm_invented_citations_are_dropped(llm_service: QAService) -> None:
    answer = _ask(llm_service, "They met Dorothy Shea [1] and the Pope [9].")
    assert [c.id for c in answer.citations] == [1]
    assert "[9]" not in (answer.answer or "")


@pytest.mark.parametrize(
    ("reply", "delay_s"),
    [("An answer citing only a passage that does not exist [42].", 0.0), ("No citation at all.", 0.0), (None, 0.0)],
    ids=["only-invented", "uncited", "not-json"],
)
def test_llm_unusable_reply_falls_back(
    llm_service: QAService, extractive_answer: Answer, reply: str | None, delay_s: float
) -> None:
    answer = _ask(llm_service, reply, delay_s)
    assert (answer.answer, answer.citations) == (extractive_answer.answer, extractive_answer.citations)


def test_llm_timeout_falls_back(llm_service: QAService, extractive_answer: Answer) -> None:
    """The endpoint holds its (usable) reply until the answer is back: with QA_LLM_TIMEOUT_S=1 the answer is the
    extractive one; a client that waited would get "Too late [1]." after 60 s instead. No time is asserted."""
    try:
        answer = _ask(llm_service, "Too late [1].", delay_s=60.0)
    finally:
        FakeLLM.release.set()
    assert FakeLLM.requests, "the endpoint was not asked"
    assert answer.answer == extractive_answer.answer


def test_llm_says_not_in_articles(llm_service: QAService) -> None:
    answer = _ask(llm_service, "NOT IN THE ARTICLES")
    assert not answer.answerable and answer.answer is None and answer.citations == []


def test_llm_endpoint_down_falls_back(
    tmp_path: Path, embedder: Embedder, extractive_answer: Answer, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens on port 9: the answer is the extractive one over the same two articles (answered or not:
    how sure the reader is of it is not this test's concern)."""
    service = _service(tmp_path, embedder, llm_base_url="http://127.0.0.1:9/v1", llm_model="x", llm_timeout_s=1.0)
    with caplog.at_level("WARNING"):
        answer = service.ask(QUESTION)
    assert "LLM endpoint unusable" in caplog.text
    assert (answer.answer, answer.citations) == (extractive_answer.answer, extractive_answer.citations)
    assert answer.reason == extractive_answer.reason


def test_llm_needs_a_model_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="QA_LLM_MODEL"):
        QAService(make_settings(tmp_path, llm_base_url="http://127.0.0.1:9/v1"))


# ---- a tiny, randomly initialised reader model that the test builds itself --------------------------
