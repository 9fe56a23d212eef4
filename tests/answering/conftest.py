"""What every answering test checks (the citation contract), and the spaCy pipeline they share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np
import pytest

from qa_service.answering.context import AnswerContext
from qa_service.answering.question import QuestionAnalysis
from qa_service.retrieval import RetrievedChunk
from qa_service.schemas import Answer, Document
from qa_service.service import QAService
from qa_service.store import StoredChunk, StoredSentence, StoreReader
from qa_service.store.base import Phrases
from qa_service.text.nlp import load_pipeline
from qa_service.text.terms import terms

if TYPE_CHECKING:
    from spacy.language import Language


@pytest.fixture(scope="session")
def nlp() -> Language:
    return load_pipeline()


def hand_context(
    text: str,
    sentences: Sequence[tuple[int, int]],
    chunk: tuple[int, int],
    *,
    question: QuestionAnalysis | None = None,
    phrases: Sequence[Phrases] | None = None,
) -> AnswerContext:
    """A context over one document "d" whose sentence spans (their stored terms, and typed phrases when given) are
    given by hand; the question only where the test reads it, never the store."""
    stored = [
        StoredSentence("d", i, s, e, None, phrases[i] if phrases else (), frozenset(terms(text[s:e])))
        for i, (s, e) in enumerate(sentences)
    ]
    hit = RetrievedChunk(StoredChunk(0, "d", *chunk), 1.0, 1.0)
    return AnswerContext(
        cast(QuestionAnalysis, question),
        np.zeros(1),
        [hit],
        {"d": Document(doc_id="d", text=text)},
        {"d": stored},
        cast(StoreReader, None),
    )


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
        assert answer.answer is not None and len(answer.answer) <= service.settings.max_answer_chars
    else:
        assert answer.answer is None and answer.citations == []
