"""Extractive answering: quote the sentence that best answers the question, or abstain honestly."""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from qa_service.analysis import terms
from qa_service.retrieval import ScoredChunk
from qa_service.schemas import Citation, Document, Sentence
from qa_service.store import IndexSnapshot

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_ANSWER_TYPES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (re.compile(r"^\s*(when|what (year|date|day|month|time))\b", re.I), re.compile(rf"\b(\d{{4}}|{_MONTHS})\b", re.I)),
    (re.compile(r"^\s*how (many|much|long|old|far)\b", re.I), re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million|billion)\b", re.I)),
    (re.compile(r"^\s*(who|whom|whose)\b", re.I), re.compile(r"(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+")),
    (re.compile(r"^\s*where\b", re.I), re.compile(r"\b(in|at|to|from)\s+[A-Z]")),
]


@dataclass(frozen=True)
class Candidate:
    sentence: int  # index into snapshot.sentences
    score: float
    dense: float
    overlap: float


@dataclass(frozen=True)
class Extraction:
    """The answerer's decision, in document offsets so the caller can build exact citations."""

    answerable: bool
    confidence: float
    answer: str | None
    citations: list[Citation]


class ExtractiveAnswerer:
    """Scores sentences of the retrieved chunks by meaning, shared words and expected answer type."""

    def __init__(self, snapshot: IndexSnapshot, *, min_score: float, max_answer_chars: int) -> None:
        self.snapshot = snapshot
        self.min_score = min_score
        self.max_answer_chars = max_answer_chars
        self._by_doc: dict[str, list[int]] = {}
        for i, sentence in enumerate(snapshot.sentences):
            self._by_doc.setdefault(sentence.doc_id, []).append(i)
        self._starts = {d: [snapshot.sentences[i].start for i in ids] for d, ids in self._by_doc.items()}
        document_frequency: Counter[str] = Counter()
        for sentence in snapshot.sentences:
            document_frequency.update(set(terms(self._text(sentence))))
        total = max(1, len(snapshot.sentences))
        self._idf = {t: math.log(1 + total / df) for t, df in document_frequency.items()}
        self._unseen_idf = math.log(1 + total)

    def _text(self, sentence: Sentence) -> str:
        return self.snapshot.documents[sentence.doc_id].text[sentence.start : sentence.end]

    def _sentences_in(self, chunk_index: int) -> list[int]:
        chunk = self.snapshot.chunks[chunk_index]
        ids = self._by_doc.get(chunk.doc_id, [])
        starts = self._starts.get(chunk.doc_id, [])
        lo = max(0, bisect.bisect_right(starts, chunk.start) - 1)
        hi = bisect.bisect_left(starts, chunk.end)
        return [i for i in ids[lo:hi] if self.snapshot.sentences[i].end > chunk.start]

    def _overlap(self, question_terms: set[str], sentence_terms: set[str]) -> float:
        """Share of the question's (idf-weighted) content words that the sentence contains."""
        if not question_terms:
            return 0.0
        weight = {t: self._idf.get(t, self._unseen_idf) for t in question_terms}
        return sum(w for t, w in weight.items() if t in sentence_terms) / sum(weight.values())

    def candidates(self, question: str, query_vector: np.ndarray, hits: list[ScoredChunk]) -> list[Candidate]:
        question_terms = set(terms(question))
        expected = next((answer for asks, answer in _ANSWER_TYPES if asks.search(question)), None)
        chunk_score: dict[int, float] = {}
        for hit in hits:
            for i in self._sentences_in(hit.index):
                chunk_score[i] = max(chunk_score.get(i, 0.0), hit.score)
        if not chunk_score:
            return []
        ids = list(chunk_score)
        dense = self.snapshot.sentence_vectors[ids] @ query_vector
        out = []
        for i, cosine in zip(ids, dense, strict=True):
            text = self._text(self.snapshot.sentences[i])
            overlap = self._overlap(question_terms, set(terms(text)))
            typed = 1.0 if expected is None or expected.search(text) else 0.0
            score = 0.5 * float(cosine) + 0.3 * overlap + 0.1 * chunk_score[i] + 0.1 * typed
            out.append(Candidate(sentence=i, score=score, dense=float(cosine), overlap=overlap))
        return sorted(out, key=lambda c: -c.score)

    def confidence(self, best: Candidate) -> float:
        return float(min(1.0, max(0.0, 0.6 * best.dense + 0.4 * best.overlap)))

    def answer(self, question: str, query_vector: np.ndarray, hits: list[ScoredChunk]) -> Extraction:
        ranked = self.candidates(question, query_vector, hits)
        if not ranked:
            return Extraction(answerable=False, confidence=0.0, answer=None, citations=[])
        best = ranked[0]
        confidence = self.confidence(best)
        if confidence < self.min_score:
            return Extraction(answerable=False, confidence=confidence, answer=None, citations=[])
        start, end = self._quote_span(best.sentence)
        document = self.snapshot.documents[self.snapshot.sentences[best.sentence].doc_id]
        quote = document.text[start:end]
        answer = self._fit(quote, set(terms(question)))
        citations = [self._citation(1, document, start, end, best.score)]
        for other in ranked[1:]:
            if len(citations) >= 3 or other.score < 0.9 * best.score:
                break
            sentence = self.snapshot.sentences[other.sentence]
            if all(c.doc_id != sentence.doc_id for c in citations):
                doc = self.snapshot.documents[sentence.doc_id]
                citations.append(self._citation(len(citations) + 1, doc, sentence.start, sentence.end, other.score))
        return Extraction(answerable=True, confidence=confidence, answer=answer, citations=citations)

    def _quote_span(self, sentence_index: int) -> tuple[int, int]:
        """A very short sentence ("He agreed.") says little alone: join the next one in the paragraph."""
        sentence = self.snapshot.sentences[sentence_index]
        start, end = sentence.start, sentence.end
        nxt = sentence_index + 1
        if end - start < 60 and nxt < len(self.snapshot.sentences):
            following = self.snapshot.sentences[nxt]
            text = self.snapshot.documents[sentence.doc_id].text
            if following.doc_id == sentence.doc_id and "\n" not in text[end : following.start]:
                if following.end - start <= self.max_answer_chars:
                    end = following.end
        return start, end

    def _fit(self, quote: str, question_terms: set[str]) -> str:
        """Cut an over-long quote to the word window that holds most of the question's words."""
        if len(quote) <= self.max_answer_chars:
            return quote
        words = list(re.finditer(r"\S+", quote))
        best_span, best_hits = (0, 0), -1.0
        for i, first in enumerate(words):
            j = i
            while j + 1 < len(words) and words[j + 1].end() - first.start() <= self.max_answer_chars:
                j += 1
            window = quote[first.start() : words[j].end()]
            hits = self._overlap(question_terms, set(terms(window)))
            if hits > best_hits:
                best_span, best_hits = (first.start(), words[j].end()), hits
        return quote[best_span[0] : best_span[1]]

    @staticmethod
    def _citation(number: int, document: Document, start: int, end: int, score: float) -> Citation:
        return Citation(
            id=number,
            doc_id=document.doc_id,
            title=document.title,
            date=document.date,
            source=document.source,
            start=start,
            end=end,
            quote=document.text[start:end],
            score=round(float(score), 4),
        )
