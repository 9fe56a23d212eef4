"""Optional answer back-ends: a local reader model and an OpenAI-compatible LLM, each with its fallbacks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qa_service.ingest.clean import load_file
from qa_service.service import QAService

from ..conftest import SEEDS, make_settings
from .conftest import assert_citations_exact

QUESTION = "Who met Dorothy Shea?"


def _service(index_dir: Path, embedder, **overrides: object) -> QAService:
    service = QAService(make_settings(index_dir, **overrides), embedder=embedder).load()
    service.add_documents([load_file(p) for p in sorted(SEEDS.glob("00[01]_*.txt"))])
    return service


# ---- a fake OpenAI-compatible server on 127.0.0.1 -------------------------------------------------


class FakeLLM(BaseHTTPRequestHandler):
    reply: str | None = "ok"
    delay_s: float = 0.0
    requests: list[dict] = []  # noqa: RUF012 - shared on purpose: the test reads what the server saw

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeLLM.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        time.sleep(FakeLLM.delay_s)
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
def llm_service(fake_llm: str, tmp_path_factory: pytest.TempPathFactory, embedder) -> QAService:
    index = tmp_path_factory.mktemp("llm-index")
    return _service(index, embedder, llm_base_url=fake_llm, llm_model="fake", llm_api_key="sekret", llm_timeout_s=1.0)


@pytest.fixture(scope="module")
def extractive_answer(llm_service: QAService, embedder):
    plain = QAService(llm_service.settings.model_copy(update={"llm_base_url": None}), embedder=embedder).load()
    return plain.ask(QUESTION)


def _ask(service: QAService, reply: str | None, delay_s: float = 0.0):
    FakeLLM.reply, FakeLLM.delay_s = reply, delay_s
    FakeLLM.requests.clear()
    return service.ask(QUESTION)


def test_llm_answer_with_checked_citations(llm_service: QAService) -> None:
    answer = _ask(llm_service, "The delegation met Dorothy Shea, the acting US envoy [1].")
    request = FakeLLM.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sekret"
    assert (
        "[1]" in request["body"]["messages"][-1]["content"] and QUESTION in request["body"]["messages"][-1]["content"]
    )
    assert answer.answerable and answer.answer.endswith("[1].")
    assert len(answer.citations) == 1 and "Dorothy Shea" in answer.citations[0].quote
    for citation in answer.citations:
        assert llm_service.get_document(citation.doc_id).text[citation.start : citation.end] == citation.quote


def test_llm_invented_citations_are_dropped(llm_service: QAService) -> None:
    answer = _ask(llm_service, "They met Dorothy Shea [1] and the Pope [9].")
    assert [c.id for c in answer.citations] == [1]
    assert "[9]" not in answer.answer


@pytest.mark.parametrize(
    ("reply", "delay_s"),
    [("An answer citing only a passage that does not exist [42].", 0.0), ("No citation at all.", 0.0), (None, 0.0)],
    ids=["only-invented", "uncited", "not-json"],
)
def test_llm_unusable_reply_falls_back(llm_service: QAService, extractive_answer, reply, delay_s) -> None:
    answer = _ask(llm_service, reply, delay_s)
    assert (answer.answer, answer.citations) == (extractive_answer.answer, extractive_answer.citations)


def test_llm_timeout_falls_back_quickly(llm_service: QAService, extractive_answer) -> None:
    # The endpoint would answer after 10 s; with QA_LLM_TIMEOUT_S=1 the answer must not wait for it. The margin
    # is wide because embedding the question alone took 1.4 s on a 2-core machine under a load average of 20.
    started = time.perf_counter()
    answer = _ask(llm_service, "Too late [1].", delay_s=10.0)
    assert time.perf_counter() - started < 7.0
    assert answer.answer == extractive_answer.answer


def test_llm_says_not_in_articles(llm_service: QAService) -> None:
    answer = _ask(llm_service, "NOT IN THE ARTICLES")
    assert not answer.answerable and answer.answer is None and answer.citations == []


def test_llm_endpoint_down_falls_back(tmp_path: Path, embedder) -> None:
    service = _service(tmp_path, embedder, llm_base_url="http://127.0.0.1:9/v1", llm_model="x", llm_timeout_s=1.0)
    answer = service.ask(QUESTION)
    assert answer.answerable and "Dorothy Shea" in answer.answer


def test_llm_needs_a_model_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="QA_LLM_MODEL"):
        QAService(make_settings(tmp_path, llm_base_url="http://127.0.0.1:9/v1"))


# ---- a tiny, randomly initialised reader model that the test builds itself --------------------------


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory: pytest.TempPathFactory) -> str:
    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-reader")
    words = sorted({w.lower() for p in SEEDS.glob("*.txt") for w in p.read_text().replace("’", " ").split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *[w for w in words if w.isalpha()][:3000]]
    (folder / "vocab.txt").write_text("\n".join(vocab))
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    BertForQuestionAnswering(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_reader_span_maps_to_exact_document_offsets(tiny_reader: str, tmp_path: Path, embedder) -> None:
    from qa_service.answering.reader import ReaderAnswerer

    service = _service(tmp_path, embedder, reader_model=tiny_reader)
    assert isinstance(service.backend, ReaderAnswerer)
    service.backend.min_score = 0.0  # a random model is never confident; we test the plumbing, not its wits
    answer = service.ask(QUESTION)
    assert_citations_exact(service, answer)
    assert answer.answerable, "with min_score 0 the reader's best span is used"
    span = answer.answer_span
    assert span is not None
    document = service.get_document(answer.citations[0].doc_id)
    assert document.text[span.start : span.end] == span.text
    citation = answer.citations[0]
    assert citation.start <= span.start and span.end <= citation.end


def test_reader_bad_path_is_a_clear_error(tmp_path: Path, embedder) -> None:
    with pytest.raises(RuntimeError, match="QA_READER_MODEL"):
        QAService(make_settings(tmp_path, reader_model=str(tmp_path / "missing")), embedder=embedder).load()
