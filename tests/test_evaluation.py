"""The evaluation runner: scoring arithmetic on hand-made inputs, a tiny SQuAD run, thresholds, shared sets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa_service.embedding import SentenceTransformerEmbedder
from qa_service.evaluation import (
    EvalInputError,
    EvalItem,
    best_of,
    check_thresholds,
    compute_metrics,
    contains_answer,
    detect_format,
    doc_ranking,
    exact_match,
    first_gold_rank,
    format_rows,
    format_summary,
    load_eval_set,
    normalize_answer,
    percentile,
    run_eval,
    score_question,
    squad_doc_id,
    threshold_sweep,
    token_f1,
    write_report,
)
from qa_service.ingest import validate_doc_id
from qa_service.schemas import Answer, AnswerSpan, Citation, Passage

from .conftest import ROOT, SEEDS, SHARED, make_settings

SQUAD_DIR = SHARED / "benchmarks" / "squad"

# ---- normalisation, EM, F1 ------------------------------------------------------------------------------


def test_normalize_answer_follows_squad() -> None:
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("An apple, a pear") == "apple pear"
    assert normalize_answer("“Fu Cong” — China’s envoy") == "fu cong chinas envoy"
    assert normalize_answer("four-day") == "fourday"
    assert normalize_answer("Theatre") == "theatre"  # "the" only as a whole word
    assert normalize_answer("  ") == ""


def test_exact_match_and_f1() -> None:
    assert exact_match("the Denver Broncos.", "Denver Broncos") == 1.0
    assert exact_match("Broncos", "Denver Broncos") == 0.0
    # 2 shared tokens: precision 2/3, recall 1 -> F1 0.8
    assert token_f1("Denver Broncos team", "Denver Broncos") == pytest.approx(0.8)
    assert token_f1("Carolina Panthers", "Denver Broncos") == 0.0
    # repeated tokens count only as often as they occur in both
    assert token_f1("new new york", "new york") == pytest.approx(0.8)
    assert token_f1("the", "a") == 1.0  # both normalise to nothing: equal, as in the official script
    assert token_f1("the", "Denver") == 0.0


def test_best_of_takes_max_over_gold_and_zero_for_abstention() -> None:
    golds = ["Denver Broncos", "Broncos"]
    assert best_of(exact_match, "Broncos", golds) == 1.0
    assert best_of(token_f1, "the Broncos won", golds) == pytest.approx(2 / 3)  # vs "Broncos"; 0.5 vs the other
    assert best_of(token_f1, None, golds) == 0.0
    assert best_of(token_f1, "anything", []) == 0.0


def test_contains_answer_matches_whole_words() -> None:
    assert contains_answer("It was led by Shashi Tharoor, a Congress MP.", ["Shashi Tharoor"])
    assert contains_answer("a nine-member group", ["nine"])
    assert contains_answer("the four-day conflict", ["four-day", "four days"])
    assert contains_answer("Bhutto-Zardari spoke", ["Bhutto Zardari"])
    assert contains_answer("“Guterres” said", ["António Guterres", "Guterres"])
    assert not contains_answer("the party met", ["art"])
    assert not contains_answer("Indian officials", ["India"])
    assert not contains_answer(None, ["India"])
    assert not contains_answer("the answer", ["the"])  # a gold answer that normalises to nothing never matches


def test_ranking_helpers() -> None:
    passages = [_passage(d) for d in ["b", "b", "a", "c", "a"]]
    assert doc_ranking(passages) == ["b", "a", "c"]
    assert first_gold_rank(["b", "a", "c"], ["c", "a"]) == 2
    assert first_gold_rank(["b", "a", "c"], ["z"]) is None


def test_percentile_matches_numpy() -> None:
    values = [12.0, 3.5, 7.0, 100.0, 41.0, 8.0]
    for q in (0, 50, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0


def test_squad_doc_ids_are_valid_and_distinct() -> None:
    assert squad_doc_id("Super_Bowl_50", 7) == "Super_Bowl_50-p007"
    odd = squad_doc_id("..École / Normans: 1066?", 12)
    assert validate_doc_id(odd) == odd and odd.endswith("-p012")
    long = squad_doc_id("x" * 300, 3)
    assert len(long) <= 128 and validate_doc_id(long) and long.endswith("-p003")


# ---- per-question scoring and overall arithmetic -----------------------------------------------------

TEXTS = {"d1": "Alice met Bob in Paris. It rained.", "d2": "Carol flew to Rome in May.", "d3": "Nothing here."}


def _passage(doc_id: str) -> Passage:
    return Passage(doc_id=doc_id, chunk_id=0, start=0, end=1, text="x", score=0.5)


def _citation(doc_id: str, start: int, end: int, quote: str | None = None) -> Citation:
    quote = TEXTS[doc_id][start:end] if quote is None else quote
    return Citation(
        id=1, doc_id=doc_id, title=None, date=None, source=None, start=start, end=end, quote=quote, score=0.5
    )


def _answer(text: str | None, citations: list[Citation], span: AnswerSpan | None = None, docs: str = "") -> Answer:
    return Answer(
        question="q",
        answer=text,
        answerable=text is not None,
        confidence=0.5,
        answer_span=span,
        citations=citations,
        passages=[_passage(d) for d in docs],
        timings_ms={"total": 1.0},
    )


def _results() -> list:
    doc_text = TEXTS.get
    return [
        # answerable, right, gold document first; answer span "Paris"
        score_question(
            EvalItem("q1", "Where did Alice meet Bob?", ("Paris",), ("d1",)),
            _answer(
                "Alice met Bob in Paris.",
                [_citation("d1", 0, 23)],
                span=AnswerSpan(start=17, end=22, text="Paris"),
                docs=["d1"],
            ),
            [_passage("d1"), _passage("d2")],
            doc_text,
            10.0,
        ),
        # answerable, wrong answer from the wrong document (gold ranked 3rd); one quote is not the text
        score_question(
            EvalItem("q2", "When did Carol fly?", ("May",), ("d2",)),
            _answer("It rained.", [_citation("d1", 24, 34), _citation("d3", 0, 7, quote="Nothing!")], docs=["d1"]),
            [_passage("d1"), _passage("d3"), _passage("d1"), _passage("d2")],
            doc_text,
            20.0,
        ),
        # answerable, abstained (false abstention); gold not retrieved at all
        score_question(
            EvalItem("q3", "Where did Carol fly?", ("Rome",), ("d2",)),
            _answer(None, [], docs=["d1"]),
            [_passage("d1")],
            doc_text,
            30.0,
        ),
        # unanswerable, abstained (right)
        score_question(
            EvalItem("q4", "Who won the cup?", (), ()), _answer(None, [], docs=["d3"]), [_passage("d3")], doc_text, 40.0
        ),
        # unanswerable, answered (false answer)
        score_question(
            EvalItem("q5", "What is the capital?", (), ()),
            _answer("Carol flew to Rome in May.", [_citation("d2", 0, 26)], docs=["d2"]),
            [_passage("d2")],
            doc_text,
            50.0,
        ),
    ]


def test_score_question_fields() -> None:
    q1, q2, q3, q4, q5 = _results()
    assert q1.right and q1.gold_rank == 1 and q1.em_span == 1.0 and q1.f1_span == 1.0
    assert q1.em_answer == 0.0 and q1.f1_answer == pytest.approx(2 * (1 / 5) / (1 / 5 + 1))  # 1 of 5 tokens
    assert q1.first_citation_in_gold and q1.span_offsets_exact and q1.quotes_exact == 1
    assert not q2.right and q2.gold_rank == 3 and q2.retrieved_doc_ids == ["d1", "d3", "d2"]
    assert q2.first_citation_in_gold is False and q2.quotes == 2 and q2.quotes_exact == 1
    assert q2.em_span is None  # no answer_span in that response
    assert not q3.right and not q3.answerable and q3.gold_rank is None and q3.first_citation_in_gold is None
    assert q4.right and q4.gold_rank is None
    assert not q5.right and q5.answerable


def test_compute_metrics_arithmetic() -> None:
    m = compute_metrics(_results())
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


def test_metrics_with_nothing_to_measure_are_none() -> None:
    only_answerable = _results()[:1]
    m = compute_metrics(only_answerable)
    assert m["abstain_recall"] is None and m["abstain_precision"] is None
    no_spans = compute_metrics(_results()[1:2])
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


def test_thresholds_name_each_failure() -> None:
    metrics = compute_metrics(_results())
    assert check_thresholds(metrics, {"accuracy": 0.3, "false_abstentions": 1}) == []
    failures = check_thresholds(metrics, {"accuracy": 0.9, "false_abstentions": 0, "quote_exact": 1.0})
    assert len(failures) == 3
    assert "accuracy 0.333 is below the minimum 0.9 (--min-accuracy)" in failures[0]
    assert any("false_abstentions 1 is above the maximum 0" in f for f in failures)
    unmeasurable = check_thresholds(compute_metrics(_results()[:1]), {"abstain_recall": 0.5})
    assert len(unmeasurable) == 1 and "n/a" in unmeasurable[0]


# ---- loading question sets ------------------------------------------------------------------------------


def _tiny_squad() -> dict:
    return {
        "version": "v2.0",
        "data": [
            {
                "title": "Arlen_Lighthouse",
                "paragraphs": [
                    {
                        "context": "The Arlen Lighthouse was built in 1874 on the northern cliffs of Vessa Island. "
                        "Its keeper, Marta Holm, lit the lamp every night for thirty-one years. The tower is "
                        "42 metres tall and painted red and white.",
                        "qas": [
                            {
                                "id": "t1",
                                "question": "Who was the keeper of the Arlen Lighthouse?",
                                "answers": [{"text": "Marta Holm", "answer_start": 91}],
                                "is_impossible": False,
                            },
                            {
                                "id": "t2",
                                "question": "How much does a ticket to climb the Arlen Lighthouse cost?",
                                "answers": [],
                                "plausible_answers": [{"text": "42", "answer_start": 161}],
                                "is_impossible": True,
                            },
                        ],
                    },
                    {
                        "context": "In 1921 the oil lamp was replaced by an electric light made in Glasgow. The old "
                        "lamp is now shown in the Vessa Island museum.",
                        "qas": [
                            {
                                "id": "t3",
                                "question": "Where was the electric light of the lighthouse made?",
                                "answers": [{"text": "Glasgow", "answer_start": 63}],
                                "is_impossible": False,
                            }
                        ],
                    },
                ],
            },
            {
                "title": "Copper beetle",
                "paragraphs": [
                    {
                        "context": "The copper beetle lives in the dry forests of southern Spain. It feeds on the "
                        "leaves of the cork oak and is active only at night.",
                        "qas": [
                            {
                                "id": "t4",
                                "question": "What does the copper beetle feed on?",
                                "answers": [
                                    {"text": "the leaves of the cork oak", "answer_start": 74},
                                    {"text": "leaves of the cork oak", "answer_start": 78},
                                ],
                                "is_impossible": False,
                            }
                        ],
                    }
                ],
            },
        ],
    }


@pytest.fixture
def tiny_squad(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(_tiny_squad()), encoding="utf-8")
    return path


def test_load_tiny_squad(tiny_squad: Path) -> None:
    assert detect_format(tiny_squad) == "squad"
    eval_set = load_eval_set(tiny_squad)
    assert eval_set.format == "squad"
    assert eval_set.info == {"squad_version": "v2.0", "articles": 2, "paragraphs": 3, "questions": 4, "impossible": 1}
    assert [d.doc_id for d in eval_set.documents] == [
        "Arlen_Lighthouse-p000",
        "Arlen_Lighthouse-p001",
        "Copper_beetle-p000",
    ]
    assert eval_set.documents[2].title == "Copper beetle"
    by_id = {i.id: i for i in eval_set.items}
    assert by_id["t2"].answers == () and by_id["t2"].doc_ids == ("Arlen_Lighthouse-p000",)
    assert by_id["t4"].answers == ("the leaves of the cork oak", "leaves of the cork oak")
    assert any("cleaned text equals the SQuAD context" in note for note in eval_set.notes)


def test_load_seed_file_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "q.jsonl"
    good.write_text(
        '{"id": "a", "question": "Who?", "answers": ["X"], "doc_ids": ["d"]}\n\n'
        '{"id": "b", "question": "Why?", "answers": [], "doc_ids": []}\n',
        encoding="utf-8",
    )
    assert detect_format(good) == "seed"
    eval_set = load_eval_set(good, corpus_dir=SEEDS)
    assert [i.id for i in eval_set.items] == ["a", "b"] and not eval_set.items[1].answerable
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "Who?", "answers": "X"}\n', encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"bad.jsonl:1: `answers` must be a list"):
        load_eval_set(bad, corpus_dir=SEEDS)
    with pytest.raises(EvalInputError, match="no such file"):
        load_eval_set(tmp_path / "missing.jsonl", corpus_dir=SEEDS)


def test_the_seed_questions_load() -> None:
    eval_set = load_eval_set(ROOT / "eval" / "questions.jsonl", corpus_dir=SEEDS)
    assert len(eval_set.items) == 55 and sum(not i.answerable for i in eval_set.items) == 9
    seed_ids = {p.stem for p in SEEDS.iterdir()}
    assert {d for i in eval_set.items for d in i.doc_ids} <= seed_ids


# ---- running it (real model) ----------------------------------------------------------------------------


def test_runner_on_tiny_squad(tmp_path: Path, tiny_squad: Path, embedder: SentenceTransformerEmbedder) -> None:
    service_index = tmp_path / "service-index"
    settings = make_settings(service_index)
    report = run_eval(load_eval_set(tiny_squad), settings, embedder=embedder, top_k=5, progress=False, sweep=True)
    assert not service_index.exists()  # the evaluation builds its own temporary index
    assert set(report) == {"set", "config", "index", "metrics", "threshold_sweep", "questions"}
    assert report["index"]["documents"] == 3 and report["index"]["build_s"] > 0
    assert [q["id"] for q in report["questions"]] == ["t1", "t2", "t3", "t4"]
    for q in report["questions"]:
        for key in ("question", "retrieved_doc_ids", "answer", "answerable", "confidence", "right", "latency_ms"):
            assert key in q
        assert q["latency_ms"] > 0
    m = report["metrics"]
    assert (m["questions"], m["answerable"], m["unanswerable"]) == (4, 3, 1)
    assert m["hit_at_5"] == 1.0  # three documents: the gold one is always in the top five
    assert m["quotes"] > 0 and m["quote_exact"] == 1.0
    assert m["index_build_s"] == report["index"]["build_s"]
    assert m["latency_p50_ms"] is not None and m["latency_p95_ms"] >= m["latency_p50_ms"]
    impossible = report["questions"][1]
    assert impossible["right"] == (not impossible["answerable"])
    sweep = {row["min_score"]: row for row in report["threshold_sweep"]}
    assert sweep[0.0]["abstain_recall"] == 0.0 and sweep[0.0]["false_abstentions"] == 0  # no threshold: all answered
    configured = sweep[settings.min_score]  # the sweep at the configured threshold is the run itself
    assert configured["abstain_recall"] == m["abstain_recall"]
    assert configured["false_abstentions"] == m["false_abstentions"] and configured["accuracy"] == m["accuracy"]
    text = "\n".join(format_rows(report, "all") + format_summary(report))
    assert "t4" in text and "quotes exact 1.000" in text and "<- configured" in text
    out = tmp_path / "reports" / "tiny.json"
    write_report(report, out)
    assert json.loads(out.read_text(encoding="utf-8"))["metrics"]["questions"] == 4


def test_sweep_is_skipped_when_a_back_end_decides(
    tmp_path: Path, tiny_squad: Path, embedder: SentenceTransformerEmbedder
) -> None:
    # An LLM back-end (here unreachable, so every answer falls back) applies its own judgement, not min_score.
    settings = make_settings(tmp_path / "index", llm_base_url="http://127.0.0.1:9/v1", llm_model="any")
    report = run_eval(load_eval_set(tiny_squad), settings, embedder=embedder, progress=False, sweep=True)
    assert report["threshold_sweep"] is None
    assert any("no min_score sweep" in note for note in report["set"]["notes"])


@pytest.mark.slow
def test_seed_eval_with_impossible_threshold_exits_non_zero(tmp_path: Path) -> None:
    index = tmp_path / "index"
    env = {**os.environ, "QA_INDEX_DIR": str(index), "QA_SEEDS_DIR": str(SEEDS), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "qa_service", "eval", str(ROOT / "eval" / "questions.jsonl")]
        + ["--rows", "none", "--no-progress", "--min-accuracy", "1.01", "--min-quote-exact", "1.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stderr
    assert "accuracy" in result.stderr and "below the minimum 1.01 (--min-accuracy)" in result.stderr
    assert "quote_exact" not in result.stderr  # the limit that holds is not listed
    assert "quotes exact 1.000" in result.stdout
    assert not index.exists()  # the user's index is neither read nor built


@pytest.mark.skipif(not SQUAD_DIR.is_dir(), reason=f"shared SQuAD subsets not present at {SQUAD_DIR}")
def test_shared_squad_sets_load_and_count() -> None:
    v1 = load_eval_set(SQUAD_DIR / "squad-v1.1-dev-super-bowl-50.json")
    assert (v1.info["paragraphs"], v1.info["questions"], v1.info["impossible"]) == (54, 810, 0)
    v2 = load_eval_set(SQUAD_DIR / "squad-v2.0-dev-normans.json")
    assert (v2.info["paragraphs"], v2.info["questions"], v2.info["impossible"]) == (39, 208, 112)
    assert sum(not i.answerable for i in v2.items) == 112
    for eval_set in (v1, v2):
        ids = [d.doc_id for d in eval_set.documents]
        assert len(set(ids)) == len(ids)
        assert any("cleaned text equals the SQuAD context" in note for note in eval_set.notes), eval_set.notes
