"""Extractive answering: quote the sentence that best answers the question, or abstain honestly."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from qa_service.analysis import STOPWORDS, terms
from qa_service.retrieval import RetrievedChunk
from qa_service.schemas import AnswerSpan, Citation, Document
from qa_service.store import StoredSentence, StoreReader

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


@dataclass
class AnswerContext:
    """Everything an answerer may use for one question, read from one consistent view of the store.

    Only the documents and sentences around the retrieved chunks are loaded (sentence vectors included), so the
    cost of a question does not grow with the corpus.
    """

    question: str
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
        cls, reader: StoreReader, question: str, query_vector: np.ndarray, hits: list[RetrievedChunk]
    ) -> AnswerContext:
        spans = [(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in hits]
        question_terms = set(terms(question))
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
class Candidate:
    sentence: StoredSentence
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

    def __init__(self, *, min_score: float, max_answer_chars: int, weights: Weights | None = None) -> None:
        self.min_score = min_score
        self.max_answer_chars = max_answer_chars
        self.weights = weights or Weights()

    def _context_terms(self, context: AnswerContext, sentence: StoredSentence, own: set[str]) -> set[str]:
        """The sentence's words plus the previous sentence's and the title's, for "he said" sentences."""
        words = set(own)
        previous = context.neighbour(sentence, -1)
        if previous is not None:
            words |= set(terms(context.sentence_text(previous)))
        title = context.documents[sentence.doc_id].title
        return words | set(terms(title)) if title else words

    def candidates(self, context: AnswerContext) -> list[Candidate]:
        kind = expected_answer_type(context.question)
        chunk_score: dict[tuple[str, int], tuple[StoredSentence, float]] = {}
        for hit in context.hits:
            for sentence in context.sentences_in(hit.chunk.doc_id, hit.chunk.start, hit.chunk.end):
                key = (sentence.doc_id, sentence.ordinal)
                if key not in chunk_score or chunk_score[key][1] < hit.score:
                    chunk_score[key] = (sentence, hit.score)
        if not chunk_score:
            return []
        sentences = [sentence for sentence, _ in chunk_score.values()]
        dense = np.stack([s.vector for s in sentences]) @ context.query_vector
        w = self.weights
        out = []
        for sentence, cosine in zip(sentences, dense, strict=True):
            chunk = chunk_score[(sentence.doc_id, sentence.ordinal)][1]
            text = context.sentence_text(sentence)
            if kind is None:
                typed = 0.5
            elif typed_spans(text, kind, context.question_terms, fallback=False):
                typed = 1.0
            else:
                typed = 0.5 if typed_spans(text, kind, context.question_terms) else 0.0
            own = set(terms(text))
            overlap = context.overlap(own)
            in_context = context.overlap(self._context_terms(context, sentence, own))
            score = w.dense * float(cosine) + w.overlap * overlap + w.context * in_context
            score += w.chunk * chunk + w.typed * typed
            out.append(Candidate(sentence, float(cosine), overlap, in_context, chunk, typed, score))
        return sorted(out, key=lambda c: -c.score)

    @staticmethod
    def confidence(best: Candidate) -> float:
        """How sure the best sentence answers: meaning, shared words in context, and the right kind of answer."""
        return float(min(1.0, max(0.0, 0.55 * best.dense + 0.35 * best.context + 0.10 * best.typed)))

    def answer(self, context: AnswerContext, *, min_score: float | None = None) -> Extraction:
        """The best sentence as a quote, or an abstention below `min_score` (default: the configured one)."""
        ranked = self.candidates(context)
        if not ranked:
            return Extraction(answerable=False, confidence=0.0, answer=None, citations=[])
        best = ranked[0]
        confidence = self.confidence(best)
        if confidence < (self.min_score if min_score is None else min_score):
            return Extraction(answerable=False, confidence=confidence, answer=None, citations=[])
        start, end = self._quote_span(context, best.sentence, ranked[1] if len(ranked) > 1 else None)
        document = context.documents[best.sentence.doc_id]
        span = self._answer_span(document.text, start, end, context)
        answer_start, answer_end = fit_quote(context, document.doc_id, start, end, span, self.max_answer_chars)
        citations = [make_citation(1, document, start, end, best.score)]
        for other in ranked[1:]:
            if len(citations) >= 3 or other.score < 0.9 * best.score:
                break
            sentence = other.sentence
            if all(c.doc_id != sentence.doc_id for c in citations):
                doc = context.documents[sentence.doc_id]
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

    @staticmethod
    def _answer_span(text: str, start: int, end: int, context: AnswerContext) -> tuple[int, int] | None:
        """The typed words (a name, date, number) nearest the question's words inside the quote."""
        kind = expected_answer_type(context.question)
        if kind is None:
            return None
        quote = text[start:end]
        spans = typed_spans(quote, kind, context.question_terms)
        if not spans:
            return None
        anchors = [m.start() for m in re.finditer(r"\w+", quote) if set(terms(m.group())) & context.question_terms]

        def distance(span: tuple[int, int, float]) -> int:
            return min((min(abs(span[0] - a), abs(span[1] - a)) for a in anchors), default=0)

        best = max(spans, key=lambda sp: sp[2] - distance(sp) / 80)  # new words first, then nearness
        return start + best[0], start + best[1]

    def _quote_span(
        self, context: AnswerContext, sentence: StoredSentence, runner_up: Candidate | None = None
    ) -> tuple[int, int]:
        """One sentence, or two adjacent ones when the runner-up is its neighbour or it is too short alone."""
        partner = None
        if (
            runner_up is not None
            and runner_up.sentence.doc_id == sentence.doc_id
            and abs(runner_up.sentence.ordinal - sentence.ordinal) == 1
        ):
            partner = runner_up.sentence
        elif sentence.end - sentence.start < 60:
            partner = context.neighbour(sentence, 1)
        if partner is None:
            return sentence.start, sentence.end
        start, end = min(sentence.start, partner.start), max(sentence.end, partner.end)
        joinable = "\n" not in context.text(sentence.doc_id, start, end)
        return (start, end) if joinable and end - start <= self.max_answer_chars else (sentence.start, sentence.end)


def fit_quote(
    context: AnswerContext, doc_id: str, start: int, end: int, span: tuple[int, int] | None, max_chars: int
) -> tuple[int, int]:
    """Cut an over-long quote to the word window that holds the answer span and most question words."""
    if end - start <= max_chars:
        return start, end
    text = context.documents[doc_id].text
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    best, best_key = (words[0][0], words[0][1]), (-1, -1.0)
    for i, (first, _) in enumerate(words):
        j = i
        while j + 1 < len(words) and words[j + 1][1] - first <= max_chars:
            j += 1
        holds_span = span is not None and first <= span[0] and span[1] <= words[j][1]
        key = (int(holds_span), context.overlap(set(terms(text[first : words[j][1]]))))
        if key > best_key:
            best, best_key = (first, words[j][1]), key
    return best


def sentence_around(context: AnswerContext, doc_id: str, start: int, end: int) -> tuple[int, int]:
    """The sentence(s) holding a span found by another answerer (a reader, an LLM), for the quote."""
    inside = context.sentences_in(doc_id, start, end)
    if not inside:
        return start, end
    return min(start, inside[0].start), max(end, inside[-1].end)


def make_citation(number: int, document: Document, start: int, end: int, score: float) -> Citation:
    """A citation whose quote is, by construction, the document's text at start:end."""
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
