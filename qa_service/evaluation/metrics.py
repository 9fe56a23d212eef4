"""Scores: one response against its gold answers (`score_question`), then the whole set (`compute_metrics`).

* retrieval, over answerable questions that name gold documents: hit@1/3/5 and MRR@10 of the first gold
  document in the document ranking of `search(question, top_k=10)` (doc ids deduplicated in passage order),
  plus `context_hit`: a gold document is among the passages the answer was actually drawn from (`ask`);
* answers, over answerable questions: `accuracy` (the SQuAD-normalised answer contains a normalised
  acceptable answer as whole words), exact match and token F1 (max over the gold answers) of
  `answer_span.text` and, reported separately, of the full answer; an abstention scores 0;
* citations: `citation_doc` = share of answered answerable questions whose first citation is a gold document;
  `quote_exact` = share of all quotes equal to `document.text[start:end]` (must be 1.0);
* abstention: precision and recall of abstaining on unanswerable questions, false abstentions (answerable
  questions it abstained on) and false answers (unanswerable questions it answered);
* `squad_em` / `squad_f1`: the official SQuAD way over all questions (prediction = answer span, else the
  answer; an unanswerable question scores 1 when the service abstains);
* latency p50/p95 of `ask` (wall clock, ms);
* `threshold_sweep`: from the unthresholded answers, what each QA_MIN_SCORE would give.

All pure functions, unit-tested on hand-made inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from qa_service.evaluation.data import EvalItem
from qa_service.evaluation.matching import best_of, contains_answer, exact_match, token_f1
from qa_service.schemas import Answer, Passage

SWEEP_THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.42, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def doc_ranking(passages: Iterable[Passage]) -> list[str]:
    """Document ids in passage order, each once."""
    return list(dict.fromkeys(p.doc_id for p in passages))


def first_gold_rank(ranking: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first gold document, None if none was retrieved."""
    wanted = set(gold)
    return next((rank for rank, doc_id in enumerate(ranking, start=1) if doc_id in wanted), None)


def _share(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# ---- per question ---------------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    id: str
    question: str
    expected: list[str]
    gold_doc_ids: list[str]
    answerable_gold: bool
    retrieved_doc_ids: list[str]  # document ranking of search(top_k=RETRIEVAL_DEPTH)
    context_doc_ids: list[str]  # documents of the passages the answer was drawn from (ask, normal top_k)
    gold_rank: int | None
    answer: str | None
    answer_span: str | None
    answerable: bool
    confidence: float
    right: bool  # answerable: normalised answer holds an acceptable one; unanswerable: it abstained
    em_answer: float
    f1_answer: float
    em_span: float | None  # None when the response carried no answer_span
    f1_span: float | None
    first_citation_in_gold: bool | None  # None when not answered or nothing to compare with
    citations: list[dict[str, Any]]
    span_offsets_exact: bool | None
    latency_ms: float
    timings_ms: dict[str, float]
    kind: str | None = None  # the set's label for the question, when it has one
    differs: bool = False  # the answer flagged another article that gives a different value

    @property
    def quotes(self) -> int:
        return len(self.citations)

    @property
    def quotes_exact(self) -> int:
        return sum(1 for c in self.citations if c["quote_exact"])


def score_question(
    item: EvalItem,
    answer: Answer,
    retrieved: Sequence[Passage],
    document_text: Callable[[str], str | None],
    latency_ms: float,
) -> QuestionResult:
    """Score one response; `document_text(doc_id)` gives the indexed text (None if the id is unknown)."""
    answered = answer.answerable and answer.answer is not None
    prediction = answer.answer if answered else None
    span = answer.answer_span.text if answered and answer.answer_span is not None else None
    ranking = doc_ranking(retrieved)
    citations = []
    for citation in answer.citations:
        text = document_text(citation.doc_id)
        exact = text is not None and text[citation.start : citation.end] == citation.quote
        citations.append(
            {"doc_id": citation.doc_id, "start": citation.start, "end": citation.end, "quote_exact": exact}
        )
    span_exact = None
    if answered and answer.answer_span is not None and answer.citations:
        text = document_text(answer.citations[0].doc_id)
        s = answer.answer_span
        span_exact = text is not None and text[s.start : s.end] == s.text
    first_in_gold = None
    if answered and item.answerable and item.doc_ids and answer.citations:
        first_in_gold = answer.citations[0].doc_id in item.doc_ids
    elif answered and item.answerable and item.doc_ids:
        first_in_gold = False  # an answer without a citation cannot be checked: count it against
    right = contains_answer(prediction, item.answers) if item.answerable else not answered
    differs = answered and any(source.relation == "differs" for source in answer.sources)
    return QuestionResult(
        id=item.id,
        question=item.question,
        expected=list(item.answers),
        gold_doc_ids=list(item.doc_ids),
        answerable_gold=item.answerable,
        retrieved_doc_ids=ranking,
        context_doc_ids=doc_ranking(answer.passages),
        gold_rank=first_gold_rank(ranking, item.doc_ids) if item.doc_ids else None,
        answer=prediction,
        answer_span=span,
        answerable=answered,
        confidence=answer.confidence,
        right=right,
        em_answer=best_of(exact_match, prediction, item.answers),
        f1_answer=best_of(token_f1, prediction, item.answers),
        em_span=best_of(exact_match, span, item.answers) if span is not None else None,
        f1_span=best_of(token_f1, span, item.answers) if span is not None else None,
        first_citation_in_gold=first_in_gold,
        citations=citations,
        span_offsets_exact=span_exact,
        kind=item.kind,
        differs=differs,
        latency_ms=round(latency_ms, 2),
        timings_ms=dict(answer.timings_ms),
    )


def threshold_sweep(
    points: Sequence[tuple[float, bool, bool]], thresholds: Sequence[float] = SWEEP_THRESHOLDS
) -> list[dict[str, Any]]:
    """Per threshold, from (confidence, answerable in gold, right if answered) of the unthresholded answers."""
    answerable = [(c, right) for c, gold, right in points if gold]
    unanswerable = [c for c, gold, _ in points if not gold]
    return [
        {
            "min_score": t,
            "accuracy": _share(sum(1 for c, right in answerable if right and c >= t), len(answerable)),
            "abstain_recall": _share(sum(1 for c in unanswerable if c < t), len(unanswerable)),
            "false_abstentions": sum(1 for c, _ in answerable if c < t),
        }
        for t in thresholds
    ]


# ---- overall --------------------------------------------------------------------------------------------


def _by_kind(results: Sequence[QuestionResult]) -> dict[str, dict[str, float | int | None]]:
    """Right answers (or abstentions) per labelled kind of question: {"person": {"n": 7, "right": 0.71}, ...}."""
    kinds = sorted({r.kind for r in results if r.kind})
    return {
        kind: {
            "n": len(group := [r for r in results if r.kind == kind]),
            "right": _share(sum(1 for r in group if r.right), len(group)),
        }
        for kind in kinds
    }


def compute_metrics(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Overall figures; a share with nothing to measure it on is None (shown as n/a), never 0 or 1."""
    answerable = [r for r in results if r.answerable_gold]
    unanswerable = [r for r in results if not r.answerable_gold]
    with_gold_docs = [r for r in answerable if r.gold_doc_ids]
    abstained = [r for r in results if not r.answerable]
    answered_answerable = [r for r in answerable if r.answerable]
    any_span = any(r.answer_span is not None for r in results)
    cited = [r for r in answered_answerable if r.first_citation_in_gold is not None]
    quotes = sum(r.quotes for r in results)
    spans_checked = [r for r in results if r.span_offsets_exact is not None]
    abstained_right = sum(1 for r in unanswerable if not r.answerable)

    def hit(k: int) -> float | None:
        return _share(
            sum(1 for r in with_gold_docs if r.gold_rank is not None and r.gold_rank <= k), len(with_gold_docs)
        )

    def squad_score(r: QuestionResult, metric: Callable[[str, str], float]) -> float:
        if not r.answerable_gold:
            return float(not r.answerable)
        return best_of(metric, r.answer_span if r.answer_span is not None else r.answer, r.expected)

    latencies = [r.latency_ms for r in results]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answered": len(results) - len(abstained),
        "abstained": len(abstained),
        "right": _share(sum(1 for r in results if r.right), len(results)),
        # retrieval
        "retrieval_questions": len(with_gold_docs),
        "hit_at_1": hit(1),
        "hit_at_3": hit(3),
        "hit_at_5": hit(5),
        "mrr_at_10": _share(
            sum(1 / r.gold_rank for r in with_gold_docs if r.gold_rank is not None and r.gold_rank <= 10),
            len(with_gold_docs),
        ),
        "context_hit": _share(
            sum(1 for r in with_gold_docs if set(r.context_doc_ids) & set(r.gold_doc_ids)), len(with_gold_docs)
        ),
        # answers
        "accuracy": _share(sum(1 for r in answerable if r.right), len(answerable)),
        "em_span": _share(sum(r.em_span or 0.0 for r in answerable), len(answerable)) if any_span else None,
        "f1_span": _share(sum(r.f1_span or 0.0 for r in answerable), len(answerable)) if any_span else None,
        "span_coverage": _share(
            sum(1 for r in answered_answerable if r.answer_span is not None), len(answered_answerable)
        ),
        "em_answer": _share(sum(r.em_answer for r in answerable), len(answerable)),
        "f1_answer": _share(sum(r.f1_answer for r in answerable), len(answerable)),
        "squad_em": _share(sum(squad_score(r, exact_match) for r in results), len(results)),
        "squad_f1": _share(sum(squad_score(r, token_f1) for r in results), len(results)),
        # citations
        "citation_doc": _share(sum(1 for r in cited if r.first_citation_in_gold), len(cited)),
        "quotes": quotes,
        "quote_exact": _share(sum(r.quotes_exact for r in results), quotes),
        "span_offsets_exact": _share(sum(1 for r in spans_checked if r.span_offsets_exact), len(spans_checked)),
        # abstention
        "abstain_precision": _share(abstained_right, len(abstained)),
        "abstain_recall": _share(abstained_right, len(unanswerable)),
        "false_abstentions": sum(1 for r in answerable if not r.answerable),
        "false_answers": sum(1 for r in unanswerable if r.answerable),
        "false_abstention_rate": _share(sum(1 for r in answerable if not r.answerable), len(answerable)),
        # per kind of question, where the set labels them ("differs": figures that differ between reports)
        "by_kind": _by_kind(results),
        "differs_flagged": _share(
            sum(1 for r in results if r.kind == "differs" and r.differs), sum(1 for r in results if r.kind == "differs")
        ),
        # speed
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
