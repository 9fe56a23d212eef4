"""Short answers: the few words inside the quote that answer the question (a name, a date, a number)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qa_service.analysis import STOPWORDS, terms
from qa_service.answering.question import expected_answer_type

if TYPE_CHECKING:
    from qa_service.answering.context import AnswerContext

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|hundred|thousand|million|billion|"
    "first|second|third|fourth|fifth|once|twice"
)
_UNITS = (
    "seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|century|"
    "millimet(?:er|re)s?|centimet(?:er|re)s?|met(?:er|re)s?|kilomet(?:er|re)s?|km|miles?|feet|foot|inch(?:es)?|yards?"
)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_SPAN_PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        rf"\b(?:(?:{_MONTHS})\.?(?:\s+\d{{1,2}}(?:,\s*\d{{4}})?|\s+\d{{4}})?|\d{{1,2}}\s+(?:{_MONTHS})(?:\s+\d{{4}})?|"
        r"(?:1[5-9]|20)\d{2}s?)\b"
    ),
    "number": re.compile(
        rf"(?:[$£€]\s?)?\b\d+(?:[.,]\d+)*(?:\s*(?:%|percent|million|billion|thousand|hundred))?|\b(?:{_NUMBER_WORDS})\b",
        re.IGNORECASE,
    ),
    # "four-day", "three weeks", "10 years", "1.7 km": the answer to "how long"
    "measure": re.compile(
        rf"\b(?:\d+(?:[.,]\d+)*|(?:{_NUMBER_WORDS}|a|an|several|few)(?:[- ](?:and[- ])?\w+)?)[- ](?:{_UNITS})\b",
        re.IGNORECASE,
    ),
    "name": re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|the|de|von|van|and|&)\s+[A-Z][\w'’.-]*|\s+[A-Z][\w'’.-]*)*"),
}
_LOCATIVE = re.compile(r"\b(in|at|to|from|near|across|into|outside|inside|throughout)\s+(the\s+)?$", re.I)


_FALLBACK_KIND = {"place": "name", "measure": "number"}  # "in Paris" first, then any name; "3 days", then "3"


def typed_spans(
    text: str, kind: str, question_terms: set[str], *, fallback: bool = True
) -> list[tuple[int, int, float]]:
    """(start, end, novelty) of `kind` spans in `text` that add something the question does not say.

    Novelty is the share of the span's words missing from the question: "António Guterres" (1.0) is a
    better answer to "Which UN Secretary-General...?" than "UN General Assembly" (0.33).
    """
    spans = []
    pattern = _SPAN_PATTERNS["name" if kind == "place" else kind]
    for match in pattern.finditer(text):
        start, end = match.span()
        if kind in ("name", "place"):
            start, end = _trim_name(text, start, end)
            if start >= end:
                continue
        if kind == "place" and not _LOCATIVE.search(text[max(0, start - 20) : start]):
            continue
        span_terms = {t for t in terms(text[start:end]) if len(t) > 1 or t.isdigit()}
        if kind in ("name", "place") and start == 0 and len(span_terms) <= 1:
            continue  # a capitalised first word is usually just the start of a sentence
        novelty = len(span_terms - question_terms) / len(span_terms) if span_terms else 0.0
        if novelty > 0:
            spans.append((start, end, novelty))
    if fallback and not spans and kind in _FALLBACK_KIND:
        return typed_spans(text, _FALLBACK_KIND[kind], question_terms)
    return spans


_TITLES = frozenset(
    """acting assistant chairman chief commissioner deputy director former general governor head minister
    permanent president prime representative secretary secretary-general senator special spokesman
    spokesperson""".split()
)


def _trim_name(text: str, start: int, end: int) -> tuple[int, int]:
    """A capitalised run without what is not the name: "On Prime Minister Shehbaz Sharif's" -> "Shehbaz Sharif".

    Drops a leading function word (capitalised only because it starts a sentence), leading titles when a name
    follows them, a possessive "'s" and a sentence-ending full stop ("France." but "U.N." keeps its dots).
    """
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    while words and text[words[0][0] : words[0][1]].lower() in STOPWORDS:
        words.pop(0)
    titles = 0
    while titles < len(words) and text[words[titles][0] : words[titles][1]].lower() in _TITLES:
        titles += 1
    if 0 < titles < len(words):
        words = words[titles:]
    if not words:
        return start, start
    start, end = words[0][0], words[-1][1]
    name = text[start:end]
    if name.endswith(("'s", "’s")):
        end -= 2
    elif re.search(r"[a-z]{2}\.$", name):
        end -= 1
    return start, end


def pick_answer_span(text: str, start: int, end: int, context: AnswerContext) -> tuple[int, int] | None:
    """The typed words (a name, date, number) nearest the question's words inside the quote."""
    kind = expected_answer_type(context.question)
    if kind is None:
        return None
    quote = text[start:end]
    spans = typed_spans(quote, kind, context.question_terms)
    if not spans:
        return None
    anchors = [m.start() for m in re.finditer(r"\w+", quote) if set(terms(m.group())) & context.question_terms]

    def distance(span: tuple[int, int, float]) -> int:
        return min((min(abs(span[0] - a), abs(span[1] - a)) for a in anchors), default=0)

    best = max(spans, key=lambda sp: sp[2] - distance(sp) / 80)  # new words first, then nearness
    return start + best[0], start + best[1]
