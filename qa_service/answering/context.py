"""What every answerer receives (`AnswerContext`) and returns (`Extraction`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qa_service.answering.question import QuestionAnalysis
from qa_service.retrieval import RetrievedChunk
from qa_service.schemas import AnswerSpan, Citation, Document, Explanation, Source
from qa_service.store import StoredSentence, StoreReader


@dataclass
class AnswerContext:
    """Everything an answerer may use for one question, read from one consistent view of the store.

    Only the documents and sentences around the retrieved chunks are loaded (sentence vectors included), so the
    cost of a question does not grow with the corpus.
    """

    question: QuestionAnalysis
    query_vector: np.ndarray
    hits: list[RetrievedChunk]
    documents: dict[str, Document]
    sentences: dict[str, list[StoredSentence]]  # per document, in order: those in the hits plus one each side
    reader: StoreReader
    question_terms: set[str] = field(default_factory=set)
    _idf: dict[str, float] = field(default_factory=dict)
    _unseen_idf: float = 0.0

    @classmethod
    def build(
        cls, reader: StoreReader, question: QuestionAnalysis, query_vector: np.ndarray, hits: list[RetrievedChunk]
    ) -> AnswerContext:
        spans = [(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in hits]
        question_terms = set(question.terms)
        total, frequencies = reader.sentence_frequencies(sorted(question_terms))
        total = max(1, total)
        return cls(
            question=question,
            query_vector=query_vector,
            hits=hits,
            documents=reader.documents([h.chunk.doc_id for h in hits]),
            sentences=reader.sentences(spans, margin=1),
            reader=reader,
            question_terms=question_terms,
            _idf={t: math.log(1 + total / df) for t, df in frequencies.items() if df > 0},
            _unseen_idf=math.log(1 + total),
        )

    def text(self, doc_id: str, start: int, end: int) -> str:
        return self.documents[doc_id].text[start:end]

    def sentence_text(self, sentence: StoredSentence) -> str:
        return self.documents[sentence.doc_id].text[sentence.start : sentence.end]

    def chunk_text(self, hit: RetrievedChunk) -> str:
        return self.text(hit.chunk.doc_id, hit.chunk.start, hit.chunk.end)

    def sentences_in(self, doc_id: str, start: int, end: int) -> list[StoredSentence]:
        return [s for s in self.sentences.get(doc_id, []) if s.end > start and s.start < end]

    def neighbour(self, sentence: StoredSentence, step: int) -> StoredSentence | None:
        """The sentence `step` places away in the same document, if it was loaded (one each side is)."""
        wanted = sentence.ordinal + step
        return next((s for s in self.sentences.get(sentence.doc_id, []) if s.ordinal == wanted), None)

    def overlap(self, sentence_terms: set[str]) -> float:
        """Share of the question's (idf-weighted) content words that `sentence_terms` contains."""
        if not self.question_terms:
            return 0.0
        weight = {t: self._idf.get(t, self._unseen_idf) for t in self.question_terms}
        return sum(w for t, w in weight.items() if t in sentence_terms) / sum(weight.values())


@dataclass(frozen=True)
class Extraction:
    """The answerer's decision, in document offsets so the caller can build exact citations."""

    answerable: bool
    confidence: float
    answer: str | None
    citations: list[Citation]
    answer_span: AnswerSpan | None = None
    sources: list[Source] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    reason: str | None = None  # why it abstained, in a few words ("The articles name no judge.")
    explanation: Explanation | None = None  # the candidates weighed and the rule that decided, when asked for
