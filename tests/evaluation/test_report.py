"""The report as text: per-question rows (all, only the wrong ones, none) and their header."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from typer.testing import CliRunner

from qa_service.cli.commands import app
from qa_service.evaluation.metrics import QuestionResult
from qa_service.evaluation.report import MEASURES, format_rows, format_summary


def _report(results: list[QuestionResult]) -> dict[str, Any]:
    return {"questions": [asdict(r) for r in results]}


def _ids(lines: list[str]) -> list[str]:
    return [line.split()[0] for line in lines]


def test_all_rows(hand_made_results: list[QuestionResult]) -> None:
    header, *rows = format_rows(_report(hand_made_results), "all")
    assert header.split()[:2] == ["id", "result"]
    assert _ids(rows) == ["q1", "q2", "q3", "q4", "q5"]
    results = {line.split()[0]: line.split()[1] for line in rows}
    assert results == {"q1": "ok", "q2": "WRONG", "q3": "ABSTAIN", "q4": "ok-abst", "q5": "WRONG"}
    assert "«Paris» Alice met Bob in Paris." in rows[0]
    assert rows[1].endswith("[May]") and rows[4].endswith("[unanswerable]")  # the expected answer, when wrong


def test_failure_rows_and_how_many_are_wrong(hand_made_results: list[QuestionResult]) -> None:
    title, header, *rows = format_rows(_report(hand_made_results), "failures")
    assert title == "3 of 5 questions wrong (only those shown):"
    assert header.split()[:2] == ["id", "result"]
    assert _ids(rows) == ["q2", "q3", "q5"]
    one_wrong = [hand_made_results[0], hand_made_results[1], hand_made_results[3]]
    assert format_rows(_report(one_wrong), "failures")[0] == "1 of 3 questions wrong (only those shown):"
    assert format_rows(_report([hand_made_results[0], hand_made_results[3]]), "failures") == ["all 2 questions right"]


def test_auto_shows_all_rows_up_to_100_then_the_first_failures(hand_made_results: list[QuestionResult]) -> None:
    few = _report(hand_made_results)
    assert format_rows(few, "auto") == format_rows(few, "all")
    many = {"questions": [{**q, "id": f"{q['id']}-{n}"} for n in range(21) for q in few["questions"]]}  # 105
    title, header, *rows = format_rows(many, "auto")
    assert title == "63 of 105 questions wrong; the first 20 (--rows failures: all):"
    assert len(rows) == 20  # a SQuAD run printed up to 200 of them
    assert len(format_rows(many, "failures")) == 2 + 63


def test_the_summary_explains_itself_and_leaves_out_the_whole_answer_em(hand_made_report: dict[str, object]) -> None:
    text = "\n".join(format_summary(hand_made_report))
    assert "full-answer" not in text and "EM 0.000" not in text  # the whole sentence against a name: ~0 by design
    assert text.splitlines()[-1] == "what each figure means: qa-service eval --help"
    assert "span EM" in text and "squad-style" in text


def test_eval_help_explains_every_measure_in_one_line() -> None:
    result = CliRunner().invoke(app, ["eval", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert result.exit_code == 0
    help_text = " ".join(result.output.split())
    for name, meaning in MEASURES:
        assert f"{name}: {meaning}." in help_text, name


def test_no_rows_and_unknown_choice(hand_made_results: list[QuestionResult]) -> None:
    assert format_rows(_report(hand_made_results), "none") == []
    with pytest.raises(ValueError, match="rows must be one of"):
        format_rows(_report(hand_made_results), "wrong")
