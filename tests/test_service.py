"""`QAService` over each store: what the facade adds to the store contract (`tests/store/contract.py`): answers
cite exact offsets, the indexer's labels and phrases reach citations, errors name what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.errors import DocumentNotFoundError, IndexMismatchError
from qa_service.service import QAService

from .store.conftest import QUESTION, article, fake_settings, milvus_settings, untitled

SETTINGS = {"embedded": fake_settings, "milvus": milvus_settings}


@pytest.fixture(params=sorted(SETTINGS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def service(kind: str, tmp_path: Path) -> Iterator[QAService]:
    service = QAService(SETTINGS[kind](tmp_path / "index")).load()
    yield service
    service.close()


def test_answers_and_passages_cite_exact_offsets(service: QAService) -> None:
    service.write([article(n) for n in range(4)])
    answer = service.ask(QUESTION)
    assert answer.citations[0].doc_id == "riverton-3"
    for passage in answer.passages:
        assert service.get_document(passage.doc_id).text[passage.start : passage.end] == passage.text
    assert service.stats()["documents"] == 4
    assert [d.doc_id for d in service.list_documents(offset=1, limit=2)] == ["riverton-1", "riverton-2"]


def test_replace_and_delete_through_the_facade(service: QAService) -> None:
    service.write([article(n) for n in range(3)])
    assert service.write([article(1, topic="stadium")]).replaced == ["riverton-1"]
    assert service.search("What did Riverton 1 approve a budget for?").passages[0].doc_id == "riverton-1"
    service.delete_document("riverton-1")
    with pytest.raises(DocumentNotFoundError):
        service.delete_document("riverton-1")
    with pytest.raises(DocumentNotFoundError):
        service.get_document("riverton-1' OR '1'='1")


def test_labels_and_phrases_the_indexer_derives_reach_citations(service: QAService) -> None:
    """The indexer derives the label and types each sentence once; the store keeps both and answers use them."""
    service.write([untitled(), article(1)])
    with service.store.read() as reader:
        documents = reader.documents(["untitled", "riverton-1"])
        first = reader.sentences([("untitled", 0, 10)], margin=0)["untitled"][0]
    assert documents["untitled"].label == "Mayor Ada Quill opened the library in Paris on Monday"
    assert documents["riverton-1"].label == "Riverton 1 opens a library"
    text = documents["untitled"].text
    assert first.phrases is not None
    typed = {(text[p.start : p.end], p.label) for p in first.phrases}
    assert {("Ada Quill", "PERSON"), ("Paris", "GPE"), ("Monday", "DATE"), ("library", "NP")} <= typed
    citation = service.ask("Who opened the library in Paris?").citations[0]
    assert citation.doc_id == "untitled" and citation.label == documents["untitled"].label


def test_other_settings_are_refused_with_the_fix(kind: str, tmp_path: Path) -> None:
    QAService(SETTINGS[kind](tmp_path / "index")).load().close()
    with pytest.raises(IndexMismatchError, match="chunk_size: index has 160, settings say 100.*--rebuild"):
        QAService(SETTINGS[kind](tmp_path / "index", chunk_size=100)).load()
    rebuilt = QAService(SETTINGS[kind](tmp_path / "index", chunk_size=100)).load(reset=True)
    assert rebuilt.stats()["documents"] == 0
    rebuilt.close()
