"""Does a phrase answer the kind of thing a question asks for? One answer, used by the first pass (a
sentence's stored typed phrases) and by the short-answer picker (the quote's entities and noun chunks).

A question's kind maps to entity labels (`question.KIND_LABELS`, 1.0 the expected label, lower looser); the
rest refines it by what the text around the phrase says: a length of time does not say when, a place is one
something happened in or at, an X named beside the word X answers "which X".
"""

from __future__ import annotations

import re

from qa_service.answering.question import QuestionAnalysis
from qa_service.text.nlp import NOT_NAME_LABELS
from qa_service.text.phrases import NOUN_PHRASE
from qa_service.text.terms import word_key

_DIGIT = re.compile(r"\d")
_YEAR_LIKE = re.compile(r"[1-9]\d{2,3}")
_LETTER = re.compile(r"[^\W\d_]")
WORD_RUN = re.compile(r"\w+")  # a run of word characters, as the phrases' texts are matched (candidates too)
# A place answers "where" as where something happened: after one of these ("in Kessing", "at the stadium").
LOCATIVE = frozenset("in at near from to into across inside outside throughout of".split())
_LOCATIVE = re.compile(rf"\b(?:{'|'.join(sorted(LOCATIVE))})\s+(?:the\s+)?$", re.IGNORECASE)
_DURATION = re.compile(
    r"\b(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|few|many|\w+teen|\w+ty)[- ]"
    r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries)\b",
    re.IGNORECASE,
)
_CALENDAR = re.compile(r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", re.IGNORECASE)


def phrase_fit(question: QuestionAnalysis, label: str, text: str, start: int, end: int) -> float:
    """How well the phrase `text[start:end]` of this label answers the question's kind (0: not at all).

    The expected label fits fully and looser ones much less (squared: an organisation is 0.64 of a person);
    an X named beside the word X ("Judge Peter Cahill", "the Lusail Stadium", "copper company Codelco") answers
    "which X" whatever its label; a country answers "where" as a place it happened in or at, not as a team.
    """
    fit = question.labels.get(label, 0.0) ** 2
    if label == NOUN_PHRASE:
        if question.kind == "person":
            fit = 0.3  # "the delegation", "a federal judge"
        elif question.kind in ("thing", "org"):
            fit = 0.4
    elif question.kind == "thing":
        fit = 0.2 if label in NOT_NAME_LABELS else 0.6  # "which prison": a name, not "25 years"
    if question.kind in ("date", "duration") and label in ("DATE", "TIME"):
        fit *= _time_fit(question.kind, text[start:end])
    if question.kind == "place" and fit > 0 and not _LOCATIVE.search(text[max(0, start - 25) : start]):
        fit *= 0.6
    if question.kind == "date" and label == "CARDINAL" and _YEAR_LIKE.fullmatch(text[start:end]):
        fit = 0.8  # "in 911": a year the entity recogniser took for a count
    if (
        question.target
        and (fit > 0 or question.kind == "thing")  # "Thursday, Judge Kaplan": a day is no judge
        and _names_target(question.target, text, start, end)
        and (label != NOUN_PHRASE or (question.kind == "thing" and _is_named(text, start, end)))
    ):  # "the 117th minute", "Lusail Stadium"; not "a federal judge", nor "German-speaking countries" for a place
        fit = 1.0
    elif (
        label == NOUN_PHRASE
        and question.wh == "which"
        and question.target
        and _names_target(question.target, text, start, end)
        and not _is_named(text, start, end)
    ):  # "which judge": "a federal judge" restates the question, it does not say which one
        fit = 0.0
    elif question.wh == "how many" and question.target:  # "how many contacts": a figure that counts contacts
        fit *= 0.7 if mentions_target(question, text) else 0.4
    return fit


def _is_named(text: str, start: int, end: int) -> bool:
    """A phrase with a figure or a capitalised word that is not just the sentence's first word."""
    words = text[start:end].split()
    first = not _LETTER.search(text[:start])  # capitalised because it opens the sentence
    return bool(_DIGIT.search(text[start:end])) or any(w[:1].isupper() for w in words[1 if first else 0 :])


def _time_fit(kind: str, phrase: str) -> float:
    """A length of time ("44 days") does not say when; a weekday or "today" says it less exactly than a date."""
    if _DURATION.search(phrase):
        return 1.0 if kind == "duration" else 0.3
    if kind == "duration":
        return 0.5
    return 1.0 if _CALENDAR.search(phrase) else 0.7


def _names_target(target: str, text: str, start: int, end: int) -> bool:
    """The phrase is an X for "which X": it ends in X, or X stands right before or after it."""
    wanted = word_key(target)
    words = WORD_RUN.findall(text[start:end])
    if len(words) > 1 and word_key(words[-1]) == wanted:
        return True
    before = WORD_RUN.findall(text[max(0, start - 30) : start])
    after = WORD_RUN.match(text[end : end + 30].lstrip(" ,"))
    return bool(before and word_key(before[-1]) == wanted) or bool(after and word_key(after.group()) == wanted)


def mentions_target(question: QuestionAnalysis, text: str) -> bool:
    """Whether `text` names the X of "how many X" / "which X" (by its key), or the question has no X."""
    if not question.target:
        return True
    wanted = word_key(question.target)
    return any(word_key(w) == wanted for w in WORD_RUN.findall(text))
