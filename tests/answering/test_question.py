"""Question analysis, once per question: the kind of answer, the noun asked about, names, years, terms."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from qa_service.answering.question import analyse_question
from qa_service.text.terms import terms

if TYPE_CHECKING:
    from spacy.language import Language


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("Who did the delegation meet in Tokyo?", ["Tokyo"]),
        ("What did Narendra Modi tell the BBC?", ["Narendra Modi", "BBC"]),
        ("What role did NATO play in the ceasefire?", ["NATO"]),
        ("Which senator met Dr. Sarah Johnson at Georgetown University?", ["Sarah Johnson", "Georgetown University"]),
        ("When did the European Union comment on the Indus Waters Treaty?", ["European Union", "Indus Waters Treaty"]),
        ("How many people were killed on May 7?", []),  # dates and numbers are not names
        ("What is the boiling point of water?", []),
        ("Who won?", []),
    ],
)
def test_named_things(question: str, names: list[str], nlp: Language) -> None:
    assert list(analyse_question(question, nlp=nlp).names) == names


@pytest.mark.parametrize(
    ("question", "kind", "target"),
    [
        ("Who met Dorothy Shea?", "person", None),
        ("When was the Pahalgam attack?", "date", None),
        ("What year did the war end?", "date", "year"),
        ("How many members did the delegation have?", "number", "member"),
        ("How long did the conflict last?", "duration", None),
        ("Where did the second delegation travel?", "place", None),
        ("Which treaty did India suspend?", "thing", "treaty"),
        ("Which city hosted the game?", "place", "city"),
        ("Why did India suspend the treaty?", None, None),
        # adjectives and adverbs before the noun do not hide it
        ("Which earlier British prime minister resigned?", "thing", "minister"),
        ("Which coastal town was hit?", "place", "town"),
    ],
)
def test_question_focus(question: str, kind: str | None, target: str | None, nlp: Language) -> None:
    analysis = analyse_question(question, nlp=nlp)
    assert (analysis.kind, analysis.target) == (kind, target)


def test_one_analysis_carries_terms_names_and_years(nlp: Language) -> None:
    analysis = analyse_question("How many people did the 2019 flood in Mozambique displace?", nlp=nlp)
    assert analysis.terms == tuple(terms(analysis.text))
    assert analysis.names == ("Mozambique",)
    assert analysis.years == frozenset({"2019"})
    assert (analysis.wh, analysis.kind, analysis.target) == ("how many", "number", "people")
