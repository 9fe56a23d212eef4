"""Extractive answering: quote the sentence that best answers the question, or abstain honestly."""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from qa_service.analysis import STOPWORDS, terms
from qa_service.ingest import document_label
from qa_service.retrieval import ScoredChunk
from qa_service.schemas import AnswerSpan, Citation, Document, Sentence
from qa_service.store import IndexSnapshot

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand|million|billion|"
    "first|second|third|fourth|fifth|once|twice"
)
_UNITS = (
    "seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|century|"
    "millimet(?:er|re)s?|centimet(?:er|re)s?|met(?:er|re)s?|kilomet(?:er|re)s?|km|miles?|feet|foot|inch(?:es)?|yards?"
)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_SPAN_PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        rf"\b(?:(?:{_MONTHS})\.?(?:\s+\d{{1,2}}(?:,\s*\d{{4}})?|\s+\d{{4}})?|\d{{1,2}}\s+(?:{_MONTHS})(?:\s+\d{{4}})?|"
        r"(?:1[5-9]|20)\d{2}s?)\b"
    ),
    "number": re.compile(
        rf"(?:[$£€]\s?)?\b\d+(?:[.,]\d+)*(?:\s*(?:%|percent|million|billion|thousand|hundred))?|\b(?:{_NUMBER_WORDS})\b",
        re.IGNORECASE,
    ),
    # "four-day", "three weeks", "10 years", "1.7 km": the answer to "how long"
    "measure": re.compile(
        rf"\b(?:\d+(?:[.,]\d+)*|(?:{_NUMBER_WORDS}|a|an|several|few)(?:[- ](?:and[- ])?\w+)?)[- ](?:{_UNITS})\b",
        re.IGNORECASE,
    ),
    "name": re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|the|de|von|van|and|&)\s+[A-Z][\w'’.-]*|\s+[A-Z][\w'’.-]*)*"),
}
_QUESTION_TYPES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\b(when|(what|which) (years?|dates?|days?|months?|time|decade|century))\b", re.I),
        "date",
    ),
    (re.compile(r"\bhow long\b|\bfor how many\b", re.I), "measure"),
    (
        re.compile(r"\bhow (many|much|long|old|far|large|big|tall|often)\b|\bwhat (percentage|number|amount)\b", re.I),
        "number",
    ),
    (re.compile(r"\bwhere\b", re.I), "place"),
    (re.compile(r"\b(who|whom|whose|which)\b|\bwhat (is|was) the name\b", re.I), "name"),
    (
        re.compile(r"^\s*what (?!is|was|are|were|do|does|did|has|have|had|kind|type|sort|can|could|would)\w+", re.I),
        "name",
    ),
]


def expected_answer_type(question: str) -> str | None:
    """The kind of words the answer should contain: a date, number, measure, place or name (None: unknown)."""
    return next((kind for pattern, kind in _QUESTION_TYPES if pattern.search(question)), None)


_LOCATIVE = re.compile(r"\b(in|at|to|from|near|across|into|outside|inside|throughout)\s+(the\s+)?$", re.I)


_FALLBACK_KIND = {"place": "name", "measure": "number"}  # "in Paris" first, then any name; "3 days", then "3"


def typed_spans(
    text: str, kind: str, question_terms: set[str], *, fallback: bool = True
) -> list[tuple[int, int, float]]:
    """(start, end, novelty) of `kind` spans in `text` that add something the question does not say.

    Novelty is the share of the span's words missing from the question: "António Guterres" (1.0) is a
    better answer to "Which UN Secretary-General...?" than "UN General Assembly" (0.33).
    """
    spans = []
    pattern = _SPAN_PATTERNS["name" if kind == "place" else kind]
    for match in pattern.finditer(text):
        start, end = match.span()
        if kind in ("name", "place"):
            start, end = _trim_name(text, start, end)
            if start >= end:
                continue
        if kind == "place" and not _LOCATIVE.search(text[max(0, start - 20) : start]):
            continue
        span_terms = {t for t in terms(text[start:end]) if len(t) > 1 or t.isdigit()}
        if kind in ("name", "place") and start == 0 and len(span_terms) <= 1:
            continue  # a capitalised first word is usually just the start of a sentence
        novelty = len(span_terms - question_terms) / len(span_terms) if span_terms else 0.0
        if novelty > 0:
            spans.append((start, end, novelty))
    if fallback and not spans and kind in _FALLBACK_KIND:
        return typed_spans(text, _FALLBACK_KIND[kind], question_terms)
    return spans


_TITLES = frozenset(
    """acting assistant chairman chief commissioner deputy director former general governor head minister
    permanent president prime representative secretary secretary-general senator special spokesman
    spokesperson""".split()
)


def _trim_name(text: str, start: int, end: int) -> tuple[int, int]:
    """A capitalised run without what is not the name: "On Prime Minister Shehbaz Sharif's" -> "Shehbaz Sharif".

    Drops a leading function word (capitalised only because it starts a sentence), leading titles when a name
    follows them, a possessive "'s" and a sentence-ending full stop ("France." but "U.N." keeps its dots).
    """
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    while words and text[words[0][0] : words[0][1]].lower() in STOPWORDS:
        words.pop(0)
    titles = 0
    while titles < len(words) and text[words[titles][0] : words[titles][1]].lower() in _TITLES:
        titles += 1
    if 0 < titles < len(words):
        words = words[titles:]
    if not words:
        return start, start
    start, end = words[0][0], words[-1][1]
    name = text[start:end]
    if name.endswith(("'s", "’s")):
        end -= 2
    elif re.search(r"[a-z]{2}\.$", name):
        end -= 1
    return start, end


@dataclass(frozen=True)
class Weights:
    """How sentence signals combine; chosen on the seed set and half of SQuAD v1.1, checked on v2 (see README)."""

    dense: float = 0.7
    overlap: float = 0.45
    context: float = 1.0
    chunk: float = 0.2
    typed: float = 0.1


@dataclass(frozen=True)
class Candidate:
    sentence: int  # index into snapshot.sentences
    dense: float  # cosine of question and sentence
    overlap: float  # idf-weighted share of question words in the sentence
    context: float  # the same over the sentence, the one before it and the title (resolves "he", "the treaty")
    chunk: float  # fused retrieval score of the best chunk holding the sentence
    typed: float  # 1 if it holds a new date/number/name the question asks for, 0 if not, 0.5 if unknown or only
    # the looser kind ("in Paris" vs "Paris", "3 days" vs "3")
    score: float = 0.0


@dataclass(frozen=True)
class Extraction:
    """The answerer's decision, in document offsets so the caller can build exact citations."""

    answerable: bool
    confidence: float
    answer: str | None
    citations: list[Citation]
    answer_span: AnswerSpan | None = None


class ExtractiveAnswerer:
    """Scores sentences of the retrieved chunks by meaning, shared words and expected answer type."""

    def __init__(
        self, snapshot: IndexSnapshot, *, min_score: float, max_answer_chars: int, weights: Weights | None = None
    ) -> None:
        self.snapshot = snapshot
        self.min_score = min_score
        self.max_answer_chars = max_answer_chars
        self.weights = weights or Weights()
        self._by_doc: dict[str, list[int]] = {}
        for i, sentence in enumerate(snapshot.sentences):
            self._by_doc.setdefault(sentence.doc_id, []).append(i)
        self._starts = {d: [snapshot.sentences[i].start for i in ids] for d, ids in self._by_doc.items()}
        self._terms = [set(terms(self._text(s))) for s in snapshot.sentences]
        document_frequency: Counter[str] = Counter()
        for sentence_terms in self._terms:
            document_frequency.update(sentence_terms)
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

    def _context_terms(self, i: int) -> set[str]:
        """The sentence's words plus the previous sentence's and the title's, for "he said" sentences."""
        sentence = self.snapshot.sentences[i]
        context = set(self._terms[i])
        if i > 0 and self.snapshot.sentences[i - 1].doc_id == sentence.doc_id:
            context |= self._terms[i - 1]
        title = self.snapshot.documents[sentence.doc_id].title
        return context | set(terms(title)) if title else context

    def candidates(self, question: str, query_vector: np.ndarray, hits: list[ScoredChunk]) -> list[Candidate]:
        question_terms = set(terms(question))
        kind = expected_answer_type(question)
        chunk_score: dict[int, float] = {}
        for hit in hits:
            for i in self._sentences_in(hit.index):
                chunk_score[i] = max(chunk_score.get(i, 0.0), hit.score)
        if not chunk_score:
            return []
        ids = list(chunk_score)
        dense = self.snapshot.sentence_vectors[ids] @ query_vector
        w = self.weights
        out = []
        for i, cosine in zip(ids, dense, strict=True):
            text = self._text(self.snapshot.sentences[i])
            if kind is None:
                typed = 0.5
            elif typed_spans(text, kind, question_terms, fallback=False):
                typed = 1.0
            else:
                typed = 0.5 if typed_spans(text, kind, question_terms) else 0.0
            overlap = self._overlap(question_terms, self._terms[i])
            context = self._overlap(question_terms, self._context_terms(i))
            score = w.dense * float(cosine) + w.overlap * overlap + w.context * context
            score += w.chunk * chunk_score[i] + w.typed * typed
            out.append(Candidate(i, float(cosine), overlap, context, chunk_score[i], typed, score))
        return sorted(out, key=lambda c: -c.score)

    @staticmethod
    def confidence(best: Candidate) -> float:
        """How sure the best sentence answers: meaning, shared words in context, and the right kind of answer."""
        return float(min(1.0, max(0.0, 0.55 * best.dense + 0.35 * best.context + 0.10 * best.typed)))

    def answer(
        self, question: str, query_vector: np.ndarray, hits: list[ScoredChunk], *, min_score: float | None = None
    ) -> Extraction:
        """The best sentence as a quote, or an abstention below `min_score` (default: the configured one)."""
        ranked = self.candidates(question, query_vector, hits)
        if not ranked:
            return Extraction(answerable=False, confidence=0.0, answer=None, citations=[])
        best = ranked[0]
        confidence = self.confidence(best)
        if confidence < (self.min_score if min_score is None else min_score):
            return Extraction(answerable=False, confidence=confidence, answer=None, citations=[])
        start, end = self._quote_span(best.sentence, ranked[1] if len(ranked) > 1 else None)
        document = self.snapshot.documents[self.snapshot.sentences[best.sentence].doc_id]
        question_terms = set(terms(question))
        span = self._answer_span(document.text, start, end, question, question_terms)
        answer_start, answer_end = self._fit(document.text, start, end, question_terms, span)
        citations = [make_citation(1, document, start, end, best.score)]
        for other in ranked[1:]:
            if len(citations) >= 3 or other.score < 0.9 * best.score:
                break
            sentence = self.snapshot.sentences[other.sentence]
            if all(c.doc_id != sentence.doc_id for c in citations):
                doc = self.snapshot.documents[sentence.doc_id]
                citations.append(make_citation(len(citations) + 1, doc, sentence.start, sentence.end, other.score))
        answer_span = None
        if span and answer_start <= span[0] and span[1] <= answer_end:
            answer_span = AnswerSpan(start=span[0], end=span[1], text=document.text[span[0] : span[1]])
        return Extraction(
            answerable=True,
            confidence=confidence,
            answer=document.text[answer_start:answer_end],
            citations=citations,
            answer_span=answer_span,
        )

    def _answer_span(
        self, text: str, start: int, end: int, question: str, question_terms: set[str]
    ) -> tuple[int, int] | None:
        """The typed words (a name, date, number) nearest the question's words inside the quote."""
        kind = expected_answer_type(question)
        if kind is None:
            return None
        quote = text[start:end]
        spans = typed_spans(quote, kind, question_terms)
        if not spans:
            return None
        anchors = [m.start() for m in re.finditer(r"\w+", quote) if set(terms(m.group())) & question_terms]

        def distance(span: tuple[int, int, float]) -> int:
            return min((min(abs(span[0] - a), abs(span[1] - a)) for a in anchors), default=0)

        best = max(spans, key=lambda sp: sp[2] - distance(sp) / 80)  # new words first, then nearness
        return start + best[0], start + best[1]

    def _quote_span(self, sentence_index: int, runner_up: Candidate | None = None) -> tuple[int, int]:
        """One sentence, or two adjacent ones when the runner-up is its neighbour or it is too short alone."""
        sentences = self.snapshot.sentences
        sentence = sentences[sentence_index]
        text = self.snapshot.documents[sentence.doc_id].text
        partner = None
        if runner_up is not None and abs(runner_up.sentence - sentence_index) == 1:
            partner = runner_up.sentence
        elif sentence.end - sentence.start < 60:
            partner = sentence_index + 1
        if partner is None or not 0 <= partner < len(sentences):
            return sentence.start, sentence.end
        other = sentences[partner]
        start, end = min(sentence.start, other.start), max(sentence.end, other.end)
        joinable = other.doc_id == sentence.doc_id and "\n" not in text[start:end]
        return (start, end) if joinable and end - start <= self.max_answer_chars else (sentence.start, sentence.end)

    def _fit(
        self, text: str, start: int, end: int, question_terms: set[str], span: tuple[int, int] | None
    ) -> tuple[int, int]:
        """Cut an over-long quote to the word window that holds the answer span and most question words."""
        if end - start <= self.max_answer_chars:
            return start, end
        words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
        best, best_key = (words[0][0], words[0][1]), (-1, -1.0)
        for i, (first, _) in enumerate(words):
            j = i
            while j + 1 < len(words) and words[j + 1][1] - first <= self.max_answer_chars:
                j += 1
            holds_span = span is not None and first <= span[0] and span[1] <= words[j][1]
            key = (int(holds_span), self._overlap(question_terms, set(terms(text[first : words[j][1]]))))
            if key > best_key:
                best, best_key = (first, words[j][1]), key
        return best

    def sentence_around(self, doc_id: str, start: int, end: int) -> tuple[int, int]:
        """The sentence(s) holding a span found by another answerer (a reader, an LLM), for the quote."""
        ids = self._by_doc.get(doc_id, [])
        inside = [self.snapshot.sentences[i] for i in ids if self.snapshot.sentences[i].end > start]
        inside = [s for s in inside if s.start < end] or inside[:1]
        if not inside:
            return start, end
        return min(start, inside[0].start), max(end, inside[-1].end)

    def fit(self, doc_id: str, start: int, end: int, question: str, span: tuple[int, int] | None) -> tuple[int, int]:
        """The public face of `_fit`: an answer window of at most max_answer_chars inside a quote."""
        text = self.snapshot.documents[doc_id].text
        return self._fit(text, start, end, set(terms(question)), span)


def make_citation(number: int, document: Document, start: int, end: int, score: float) -> Citation:
    """A citation whose quote is, by construction, the document's text at start:end."""
    return Citation(
        id=number,
        doc_id=document.doc_id,
        title=document.title,
        label=document_label(document.text, document.title),
        date=document.date,
        source=document.source,
        start=start,
        end=end,
        quote=document.text[start:end],
        score=round(float(score), 4),
    )
