"""Quality gates: one table drives the checker, the `eval` command's options and its help; CI's flags stay valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_service import evaluation
from qa_service.cli.commands import app
from qa_service.evaluation.gates import GATES, check_thresholds
from qa_service.evaluation.metrics import QuestionResult, compute_metrics

from ..conftest import ROOT


def test_thresholds_name_each_failure(hand_made_results: list[QuestionResult]) -> None:
    metrics = compute_metrics(hand_made_results)
    assert check_thresholds(metrics, {"accuracy": 0.3, "false_abstentions": 1}) == []
    failures = check_thresholds(metrics, {"accuracy": 0.9, "false_abstentions": 0, "quote_exact": 1.0})
    assert len(failures) == 3
    assert "accuracy 0.333 is below the minimum 0.9 (--min-accuracy)" in failures[0]
    assert any("false_abstentions 1 is above the maximum 0" in f for f in failures)
    unmeasurable = check_thresholds(compute_metrics(hand_made_results[:1]), {"abstain_recall": 0.5})
    assert len(unmeasurable) == 1 and "n/a" in unmeasurable[0]
    with pytest.raises(ValueError, match="no quality gate for accuracy_typo"):
        check_thresholds(metrics, {"accuracy_typo": 0.5})


def test_every_gate_is_a_metric_and_a_distinct_option(hand_made_results: list[QuestionResult]) -> None:
    metrics = compute_metrics(hand_made_results)
    assert {gate.metric for gate in GATES} <= set(metrics)
    assert len({gate.flag for gate in GATES}) == len(GATES) == len({gate.metric for gate in GATES})


def test_ci_gate_flags_exist() -> None:
    """`make eval-check` passes these flags; renaming a gate would break CI."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    known = {gate.flag for gate in GATES}
    for name in ("EVAL_LIMITS", "CHECK_LIMITS"):
        limits = re.search(rf"^{name} \?=(.*?)(?<!\\)\n", makefile, re.M | re.S)
        assert limits is not None, name
        used = set(re.findall(r"--[a-z0-9-]+", limits.group(1)))
        assert used and used <= known, used - known


def test_eval_help_shows_every_gate_in_full_at_80_columns() -> None:
    result = CliRunner().invoke(app, ["eval", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "…" not in result.output, result.output
    for gate in GATES:
        assert re.search(rf"{re.escape(gate.flag)}\s", result.output), gate.flag


def test_eval_command_checks_every_gate_it_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hand_made_report: dict[str, object]
) -> None:
    """Each option reaches the checker under its metric: every gate set out of reach fails, each by name."""
    monkeypatch.setattr(evaluation, "load_eval_set", lambda *args: None)
    monkeypatch.setattr(evaluation, "run_eval", lambda *args, **kwargs: hand_made_report)
    out_of_reach = []
    for gate in GATES:
        out_of_reach += [gate.flag, "2" if gate.direction == "min" else "-1"]
    questions = tmp_path / "q.jsonl"
    questions.write_text("{}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(questions), "--rows", "failures", *out_of_reach])
    assert result.exit_code == 1, result.output
    assert f"FAILED: {len(GATES)} threshold(s) not met" in result.output
    for gate in GATES:
        assert f"({gate.flag})" in result.output or f"{gate.flag} " in result.output, gate.flag
    assert "3 of 5 questions wrong" in result.output

    met = CliRunner().invoke(app, ["eval", str(questions), "--rows", "none", "--min-accuracy", "0.3"])
    assert met.exit_code == 0 and "all thresholds met" in met.output
