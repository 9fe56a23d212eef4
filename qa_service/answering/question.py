"""Question analysis: what kind of words the answer should be (a date, a number, a place, a name)."""

from __future__ import annotations

import re

from qa_service.analysis import terms
from qa_service.store import StoreReader

_QUESTION_TYPES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\b(when|(what|which) (years?|dates?|days?|months?|time|decade|century))\b", re.I),
        "date",
    ),
    (re.compile(r"\bhow long\b|\bfor how many\b", re.I), "measure"),
    (
        re.compile(r"\bhow (many|much|long|old|far|large|big|tall|often)\b|\bwhat (percentage|number|amount)\b", re.I),
        "number",
    ),
    (re.compile(r"\bwhere\b", re.I), "place"),
    (re.compile(r"\b(who|whom|whose|which)\b|\bwhat (is|was) the name\b", re.I), "name"),
    (
        re.compile(r"^\s*what (?!is|was|are|were|do|does|did|has|have|had|kind|type|sort|can|could|would)\w+", re.I),
        "name",
    ),
]


def expected_answer_type(question: str) -> str | None:
    """The kind of words the answer should contain: a date, number, measure, place or name (None: unknown)."""
    return next((kind for pattern, kind in _QUESTION_TYPES if pattern.search(question)), None)


def names_not_in_corpus(question: str, reader: StoreReader) -> list[str]:
    """The names a question mentions (places, people, organisations...) that no article holds.

    "Who did the delegation meet in Tokyo?" over articles that never say "Tokyo" -> ["Tokyo"]: whatever the
    nearest sentence says, it cannot be about Tokyo. A name counts as mentioned when any of its words is (so
    "Merceds-Benz Superdome" finds "Benz", "Bhutto-Zardari" is "Bhutto Zardari"), accents and one typo aside.
    """
    from qa_service.answering.short_answer import named_things

    return [
        name
        for name in named_things(question)
        if not name.islower()  # a name is written with capitals; "ref" tagged as an organisation is not one
        and (words := terms(name))
        and not any(reader.mentions(word) for word in words)
    ]
