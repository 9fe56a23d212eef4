"""Sources that agree or differ (`answering/sources.py`) on a small invented corpus, real model and spaCy: "differs"
sets two values of one slot against each other (a person against a person who did the same), never a description,
and never a sentence that answers another question."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.embedding import Embedder
from qa_service.ingest.clean import make_document
from qa_service.service import QAService

from ..conftest import make_settings

ARTICLES = {
    "herald": (
        "Riverton bridge opens\n\n"
        "Mayor Anna Kovacs opened the new Ostra bridge in Riverton on Monday. The bridge took three years to build."
    ),
    "post": (
        "Bridge opens\n\n"
        "A retired engineer opened the new Ostra bridge in Riverton on Monday, residents said. Tolls start next month."
    ),
    "courier": (
        "New bridge for Riverton\n\n"
        "Governor Tom Bell opened the new Ostra bridge in Riverton on Monday. Traffic starts on Tuesday."
    ),
    "gazette": (
        "Riverton traffic\n\n"
        "Police chief Lena Moor said traffic at the new Ostra bridge in Riverton was heavy on Monday. "
        "Drivers waited for hours."
    ),
}
QUESTION = "Who opened the new Ostra bridge in Riverton?"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[QAService]:
    index = Path(tmp_path_factory.mktemp("sources")) / "index"
    service = QAService(make_settings(index, answerer="rules"), embedder=embedder).load()
    service.write([make_document(text, doc_id) for doc_id, text in ARTICLES.items()])
    yield service
    service.close()


def test_differs_sets_a_person_against_a_person_who_did_the_same(service: QAService) -> None:
    """Anna Kovacs and Tom Bell each "opened" the bridge: they differ. Lena Moor is a person in a sentence on the
    same bridge and day, but she said something about traffic (another question): no source. "A retired
    engineer" is a description, not a value of the slot: no "differs" either."""
    answer = service.ask(QUESTION)
    assert answer.answer_span is not None and answer.answer_span.text in ("Anna Kovacs", "Tom Bell")
    differs = [s for s in answer.sources if s.relation == "differs"]
    assert [s.value for s in differs] == [({"Anna Kovacs", "Tom Bell"} - {answer.answer_span.text}).pop()]
    assert all(s.citation.doc_id not in ("gazette", "post") for s in answer.sources), answer.sources
