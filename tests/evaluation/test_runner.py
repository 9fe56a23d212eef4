"""The runner with the real model: a temporary index, every question asked as /ask does, the report and sweep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa_service.embedding import Embedder
from qa_service.evaluation.data import load_eval_set
from qa_service.evaluation.metrics import percentile
from qa_service.evaluation.report import format_rows, format_summary
from qa_service.evaluation.runner import at_threshold, run_eval, write_report
from qa_service.service import QAService

from ..conftest import ROOT, SEEDS, make_settings


def test_runner_on_tiny_squad(
    tmp_path: Path, tiny_squad: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    service_index = tmp_path / "service-index"
    settings = make_settings(service_index)
    report = run_eval(load_eval_set(tiny_squad), settings, embedder=embedder, top_k=5, progress=True, sweep=True)
    assert "\r" not in capsys.readouterr().err  # stderr is no terminal here: no progress bars in a log
    assert not service_index.exists()  # the evaluation builds its own temporary index
    assert set(report) == {"set", "config", "index", "metrics", "threshold_sweep", "questions"}
    assert report["index"]["documents"] == 8 and report["index"]["chunks"] >= 8 and report["index"]["build_s"] > 0
    questions = {q["id"]: q for q in report["questions"]}
    assert list(questions) == ["t1", "t2", "t3", "t4", "t5"]
    for q in questions.values():
        for key in ("question", "retrieved_doc_ids", "answer", "answerable", "confidence", "right", "latency_ms"):
            assert key in q
        assert q["latency_ms"] > 0
    m = report["metrics"]
    assert (m["questions"], m["answerable"], m["unanswerable"]) == (5, 3, 2)
    # Eight paragraphs, so retrieval can miss: each gold paragraph must rank near the top.
    assert all(questions[i]["gold_rank"] is not None and questions[i]["gold_rank"] <= 2 for i in ("t1", "t3", "t4"))
    assert m["hit_at_3"] == 1.0 and m["hit_at_1"] >= 2 / 3
    assert m["accuracy"] == 1.0, [questions[i]["answer"] for i in ("t1", "t3", "t4")]
    # The off-topic question is abstained on; the v2.0-style twist on the lighthouse paragraph is the hard kind.
    assert questions["t5"]["answerable"] is False and questions["t5"]["right"] is True
    assert m["false_answers"] == int(questions["t2"]["answerable"]) and m["false_abstentions"] == 0
    assert m["quotes"] >= 3 and m["quote_exact"] == 1.0
    assert m["index_build_s"] == report["index"]["build_s"]
    assert m["latency_p50_ms"] == pytest.approx(percentile([q["latency_ms"] for q in questions.values()], 50))
    sweep = {row["min_score"]: row for row in report["threshold_sweep"]}
    assert sweep[0.0]["abstain_recall"] == 0.0 and sweep[0.0]["false_abstentions"] == 0  # no threshold: all answered
    configured = sweep[settings.min_score]  # the sweep at the configured threshold is the run itself
    assert configured["abstain_recall"] == m["abstain_recall"]
    assert configured["false_abstentions"] == m["false_abstentions"] and configured["accuracy"] == m["accuracy"]
    text = "\n".join(format_rows(report, "all") + format_summary(report))
    assert "t4" in text and "quotes exact 1.000" in text and "<- configured" in text
    assert "index (temporary)  8 documents" in text
    out = tmp_path / "reports" / "tiny.json"
    write_report(report, out)
    assert json.loads(out.read_text(encoding="utf-8"))["metrics"]["questions"] == 5


def test_sweep_is_skipped_when_a_back_end_decides(tmp_path: Path, tiny_squad: Path, embedder: Embedder) -> None:
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


def test_the_sweep_applies_a_threshold_as_the_answerer_does(seed_service: QAService) -> None:
    """The sweep asks each question once, with no threshold, and applies the configured one itself: that must be
    the answer the service gives at that threshold, to the field (timings aside)."""
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "questions.jsonl").read_text().splitlines()]
    below = 0
    for question in questions[::4]:
        raw = seed_service.ask(question, min_score=0.0)
        for threshold in (0.4, 0.6, 0.75):
            expected = seed_service.ask(question, min_score=threshold).model_dump(exclude={"timings_ms"})
            assert (
                at_threshold(raw, threshold, seed_service.answerer.below_threshold_reason).model_dump(
                    exclude={"timings_ms"}
                )
                == expected
            ), (question, threshold)
            below += raw.answerable and raw.confidence < threshold
    assert below >= 3, "no answer fell below a threshold: the case this test is for was not seen"
