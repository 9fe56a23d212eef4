"""What every answerer receives (`AnswerContext`) and returns (`Extraction`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from qa_service.answering.question import QuestionAnalysis
from qa_service.retrieval import RetrievedChunk
from qa_service.schemas import AnswerSpan, Citation, Document, Explanation, Source
from qa_service.store import StoredSentence, StoreReader, TypedSpan
from qa_service.text.phrases import type_sentences
from qa_service.text.terms import terms


@dataclass
class AnswerContext:
    """Everything an answerer may use for one question, read from one consistent view of the store.

    Only the documents and sentences around the retrieved chunks are loaded (sentence vectors included), so the
    cost of a question does not grow with the corpus. What answering derives from them (a sentence's terms, a
    title's) is derived once per question and kept here: the context lives for one question over one
    consistent view of the store, so nothing kept can go stale.
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
    _weights: dict[str, float] | None = field(default=None, init=False, repr=False)
    _terms: dict[tuple[str, int], frozenset[str]] = field(default_factory=dict, init=False, repr=False)
    _in_context: dict[tuple[str, int], frozenset[str]] = field(default_factory=dict, init=False, repr=False)
    _titles: dict[str, frozenset[str]] = field(default_factory=dict, init=False, repr=False)

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

    def sentence_terms(self, sentence: StoredSentence) -> frozenset[str]:
        """The sentence's terms as stored at ingest; analysed here (once) only where the store has none."""
        if sentence.terms is not None:
            return sentence.terms
        key = (sentence.doc_id, sentence.ordinal)
        found = self._terms.get(key)
        if found is None:
            found = self._terms[key] = frozenset(terms(self.sentence_text(sentence)))
        return found

    def phrases(self, sentence: StoredSentence) -> tuple[TypedSpan, ...]:
        """The sentence's typed phrases (document offsets) as stored at ingest; typed here (and remembered across
        questions) only where the store has none yet."""
        if sentence.phrases is not None:
            return sentence.phrases
        return tuple(
            TypedSpan(p.start + sentence.start, p.end + sentence.start, p.label)
            for p in _typed(self.sentence_text(sentence))
        )

    def title_terms(self, doc_id: str) -> frozenset[str]:
        """The terms of a document's title (empty without one), analysed once per question."""
        found = self._titles.get(doc_id)
        if found is None:
            title = self.documents[doc_id].title
            found = self._titles[doc_id] = frozenset(terms(title)) if title else frozenset()
        return found

    def context_terms(self, sentence: StoredSentence) -> frozenset[str]:
        """The sentence's terms with the previous sentence's and the title's: the words a "he said" sentence
        stands among ("he" is named before it, "the treaty" in the title)."""
        key = (sentence.doc_id, sentence.ordinal)
        found = self._in_context.get(key)
        if found is None:
            words = set(self.sentence_terms(sentence))
            previous = self.neighbour(sentence, -1)
            if previous is not None:
                words |= self.sentence_terms(previous)
            found = self._in_context[key] = frozenset(words | self.title_terms(sentence.doc_id))
        return found

    def passage_terms(self, hit: RetrievedChunk) -> frozenset[str]:
        """The terms of a retrieved chunk's text (not its title): the stored terms of the whole sentences in it,
        and only the rest (a sentence cut by the chunk, the space between) analysed here. `terms` never joins
        two words, so cutting the text where a space stands changes nothing; anywhere else it is not cut."""
        doc_id, start, end = hit.chunk.doc_id, hit.chunk.start, hit.chunk.end
        text = self.documents[doc_id].text
        words: set[str] = set()
        position = start
        for sentence in self.sentences_in(doc_id, start, end):
            if (
                sentence.terms is None
                or sentence.start < position
                or sentence.end > end
                or not (_spaced(text, sentence.start) and _spaced(text, sentence.end))
            ):
                continue  # analysed with the text around it
            words.update(terms(text[position : sentence.start]))
            words |= sentence.terms
            position = sentence.end
        words.update(terms(text[position:end]))
        return frozenset(words)

    def overlap(self, sentence_terms: set[str] | frozenset[str]) -> float:
        """Share of the question's (idf-weighted) content words that `sentence_terms` contains."""
        if not self.question_terms:
            return 0.0
        if self._weights is None:
            self._weights = {t: self._idf.get(t, self._unseen_idf) for t in self.question_terms}
        weight = self._weights
        return sum(w for t, w in weight.items() if t in sentence_terms) / sum(weight.values())


def _spaced(text: str, position: int) -> bool:
    """Whether `text` may be cut at `position` for `terms`: a space stands on one side (or it is an end)."""
    return position <= 0 or position >= len(text) or text[position - 1].isspace() or text[position].isspace()


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
    short_answer_rule: str | None = None  # which rule chose `answer_span` (for the explanation)


@lru_cache(maxsize=4096)
def _typed(text: str) -> tuple[TypedSpan, ...]:
    return type_sentences([text])[0]
