"""The report as a PNG beside the JSON: the retrieval rank histogram and the threshold sweep as curves."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from qa_service import evaluation
from qa_service.cli.commands import app
from qa_service.evaluation.metrics import QuestionResult, compute_metrics, threshold_sweep
from qa_service.evaluation.plot import rank_counts, write_plot

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")


def _report(results: list[QuestionResult], *, sweep: bool = True) -> dict[str, Any]:
    points = [(0.3, True, True), (0.5, True, True), (0.2, False, False), (0.6, False, False)]
    return {
        "set": {"name": "hand-made", "format": "seed", "notes": []},
        "config": {"top_k": 5, "embedding_model": "m", "code_version": None, "min_score": 0.42},
        "index": {"documents": 3, "chunks": 3, "sentences": 3, "build_s": 0.1, "model_load_s": 0.1},
        "metrics": compute_metrics(results),
        "threshold_sweep": threshold_sweep(points) if sweep else None,
        "questions": [asdict(r) for r in results],
    }


def test_rank_histogram_counts_each_answerable_question_once(hand_made_results: list[QuestionResult]) -> None:
    labels, counts = rank_counts(_report(hand_made_results))
    assert labels[0] == "1" and labels[9] == "10" and labels[-1] == "none"
    ranks = [r.gold_rank for r in hand_made_results if r.answerable_gold]
    assert sum(counts) == len(ranks) == 3
    assert counts[0] == ranks.count(1) and counts[1] == ranks.count(2) and counts[-1] == ranks.count(None)


def test_the_plot_is_a_png_with_both_charts(hand_made_results: list[QuestionResult], tmp_path: Path) -> None:
    both = write_plot(_report(hand_made_results), tmp_path / "both.png")
    one = write_plot(_report(hand_made_results, sweep=False), tmp_path / "one.png")
    with Image.open(both) as image:
        assert image.format == "PNG" and image.size == (1210, 462)
    with Image.open(one) as image:  # no sweep: the histogram alone
        assert image.size == (660, 462)


def test_eval_prints_the_summary_first_and_draws_the_plot_beside_the_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hand_made_results: list[QuestionResult]
) -> None:
    monkeypatch.setattr(evaluation, "load_eval_set", lambda *args: None)
    monkeypatch.setattr(evaluation, "run_eval", lambda *args, **kwargs: _report(hand_made_results))
    questions = tmp_path / "q.jsonl"
    questions.write_text("{}\n", encoding="utf-8")
    out = tmp_path / "reports" / "seed.json"
    result = CliRunner().invoke(app, ["eval", str(questions), "--rows", "all", "--json", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("== hand-made")
    assert lines.index("what each figure means: qa-service eval --help") < next(
        i for i, line in enumerate(lines) if line.startswith("id ")
    )
    assert lines[-1] == f"plot written to {out.with_suffix('.png')}" and out.with_suffix(".png").stat().st_size > 10_000

    out.with_suffix(".png").unlink()
    quiet = CliRunner().invoke(app, ["eval", str(questions), "--rows", "none", "--json", str(out), "--no-plot"])
    assert quiet.exit_code == 0 and not out.with_suffix(".png").exists()
