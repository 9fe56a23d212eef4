"""Scores on hand-made responses: per question, over the set, and the min_score sweep."""

from __future__ import annotations

import numpy as np
import pytest

from qa_service.evaluation.metrics import (
    QuestionResult,
    compute_metrics,
    doc_ranking,
    first_gold_rank,
    percentile,
    threshold_sweep,
)

from .conftest import passage


def test_ranking_helpers() -> None:
    passages = [passage(d) for d in ["b", "b", "a", "c", "a"]]
    assert doc_ranking(passages) == ["b", "a", "c"]
    assert first_gold_rank(["b", "a", "c"], ["c", "a"]) == 2
    assert first_gold_rank(["b", "a", "c"], ["z"]) is None


def test_percentile_matches_numpy() -> None:
    values = [12.0, 3.5, 7.0, 100.0, 41.0, 8.0]
    for q in (0, 50, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0


def test_score_question_fields(hand_made_results: list[QuestionResult]) -> None:
    q1, q2, q3, q4, q5 = hand_made_results
    assert q1.right and q1.gold_rank == 1 and q1.em_span == 1.0 and q1.f1_span == 1.0
    assert q1.em_answer == 0.0 and q1.f1_answer == pytest.approx(2 * (1 / 5) / (1 / 5 + 1))  # 1 of 5 tokens
    assert q1.first_citation_in_gold and q1.span_offsets_exact and q1.quotes_exact == 1
    assert not q2.right and q2.gold_rank == 3 and q2.retrieved_doc_ids == ["d1", "d3", "d2"]
    assert q2.first_citation_in_gold is False and q2.quotes == 2 and q2.quotes_exact == 1
    assert q2.em_span is None  # no answer_span in that response
    assert not q3.right and not q3.answerable and q3.gold_rank is None and q3.first_citation_in_gold is None
    assert q4.right and q4.gold_rank is None
    assert not q5.right and q5.answerable


def test_compute_metrics_arithmetic(hand_made_results: list[QuestionResult]) -> None:
    m = compute_metrics(hand_made_results)
    assert (m["questions"], m["answerable"], m["unanswerable"], m["answered"], m["abstained"]) == (5, 3, 2, 3, 2)
    assert m["right"] == pytest.approx(2 / 5)
    assert m["retrieval_questions"] == 3
    assert m["hit_at_1"] == pytest.approx(1 / 3)
    assert m["hit_at_3"] == pytest.approx(2 / 3)
    assert m["hit_at_5"] == pytest.approx(2 / 3)
    assert m["mrr_at_10"] == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert m["context_hit"] == pytest.approx(1 / 3)
    assert m["accuracy"] == pytest.approx(1 / 3)
    assert m["em_span"] == pytest.approx(1 / 3)  # one span EM of three answerable questions
    assert m["span_coverage"] == pytest.approx(1 / 2)  # two answered answerable questions, one with a span
    assert m["citation_doc"] == pytest.approx(1 / 2)
    assert m["quotes"] == 4 and m["quote_exact"] == pytest.approx(3 / 4)
    assert m["span_offsets_exact"] == 1.0
    assert m["abstain_precision"] == pytest.approx(1 / 2)  # q3 and q4 abstained, only q4 should have
    assert m["abstain_recall"] == pytest.approx(1 / 2)  # q4 of q4 and q5
    assert m["false_abstentions"] == 1 and m["false_answers"] == 1
    # official SQuAD style over all: q1 span EM 1, q2 0, q3 0, q4 abstained on unanswerable 1, q5 0
    assert m["squad_em"] == pytest.approx(2 / 5)
    assert m["latency_p50_ms"] == 30.0 and m["latency_p95_ms"] == pytest.approx(48.0)


def test_metrics_with_nothing_to_measure_are_none(hand_made_results: list[QuestionResult]) -> None:
    only_answerable = hand_made_results[:1]
    m = compute_metrics(only_answerable)
    assert m["abstain_recall"] is None and m["abstain_precision"] is None
    no_spans = compute_metrics(hand_made_results[1:2])
    assert no_spans["em_span"] is None and no_spans["f1_span"] is None


def test_threshold_sweep_counts_what_each_min_score_would_give() -> None:
    # (confidence, answerable in gold, right if answered)
    points = [(0.9, True, True), (0.5, True, True), (0.5, True, False), (0.3, True, True), (0.6, False, False)]
    points.append((0.2, False, False))
    rows = {row["min_score"]: row for row in threshold_sweep(points, [0.0, 0.4, 0.7])}
    assert rows[0.0] == {"min_score": 0.0, "accuracy": 0.75, "abstain_recall": 0.0, "false_abstentions": 0}
    assert rows[0.4] == {"min_score": 0.4, "accuracy": 0.5, "abstain_recall": 0.5, "false_abstentions": 1}
    assert rows[0.7] == {"min_score": 0.7, "accuracy": 0.25, "abstain_recall": 1.0, "false_abstentions": 3}
    assert threshold_sweep([(0.5, True, True)], [0.4])[0]["abstain_recall"] is None  # nothing to measure it on
