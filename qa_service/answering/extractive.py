"""The extractive answerer: quote the sentence that best answers the question, or abstain honestly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa_service.analysis import terms
from qa_service.answering.context import AnswerContext, Extraction
from qa_service.answering.question import expected_answer_type
from qa_service.answering.quotes import fit_quote, make_citation
from qa_service.answering.spans import pick_answer_span, typed_spans
from qa_service.schemas import AnswerSpan
from qa_service.store import StoredSentence


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
    sentence: StoredSentence
    dense: float  # cosine of question and sentence
    overlap: float  # idf-weighted share of question words in the sentence
    context: float  # the same over the sentence, the one before it and the title (resolves "he", "the treaty")
    chunk: float  # fused retrieval score of the best chunk holding the sentence
    typed: float  # 1 if it holds a new date/number/name the question asks for, 0 if not, 0.5 if unknown or only
    # the looser kind ("in Paris" vs "Paris", "3 days" vs "3")
    score: float = 0.0


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
        span = pick_answer_span(document.text, start, end, context)
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
