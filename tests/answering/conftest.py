"""What every answering test checks (the citation contract), and the spaCy pipeline they share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from qa_service.schemas import Answer
from qa_service.service import QAService
from qa_service.text.nlp import load_pipeline

if TYPE_CHECKING:
    from spacy.language import Language


@pytest.fixture(scope="session")
def nlp() -> Language:
    return load_pipeline()


def assert_citations_exact(service: QAService, answer: Answer) -> None:
    """The product's core promise: every quote is the document's text at start:end."""
    for citation in answer.citations:
        document = service.get_document(citation.doc_id)
        assert document.text[citation.start : citation.end] == citation.quote
    for passage in answer.passages:
        assert service.get_document(passage.doc_id).text[passage.start : passage.end] == passage.text
    if answer.answerable:
        shown = (answer.answer or "").removeprefix("… ").removesuffix(" …")  # "…" marks where a long quote was cut
        assert shown and shown in answer.citations[0].quote
        assert len(answer.answer) <= service.settings.max_answer_chars
    else:
        assert answer.answer is None and answer.citations == []
