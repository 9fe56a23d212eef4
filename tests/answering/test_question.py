"""Question analysis: the kind of answer a question asks for."""

from __future__ import annotations

import pytest

from qa_service.answering.question import expected_answer_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the delegation arrive?", "date"),
        ("How many members were in the delegation?", "number"),
        ("How long did the conflict last?", "measure"),
        ("Where did the delegation go?", "place"),
        ("Who met Dorothy Shea?", "name"),
        ("Why did Pakistan send a delegation?", None),
    ],
)
def test_expected_answer_type(question: str, kind: str | None) -> None:
    assert expected_answer_type(question) == kind
