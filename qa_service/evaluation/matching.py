"""Whether an answer says what a gold answer says: SQuAD normalisation, exact match, token F1, containment."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
# One spelling per scale and for percent, so "$3.2bn" and "3.2 billion dollars", "45%" and "45 per cent" compare
# equal; currency signs are punctuation and drop out below.
_SCALES = [
    (re.compile(r"(?<=\d)\s*(?:bn|billion)\b"), " billion"),
    (re.compile(r"(?<=\d)\s*(?:mn|m|million)\b"), " million"),
    (re.compile(r"(?<=\d)\s*(?:tn|trillion)\b"), " trillion"),
    (re.compile(r"(?<=\d)\s*(?:%|per\s?cent|pc)(?!\w)"), " percent"),
]
_ASCII_PUNCTUATION = frozenset(string.punctuation)


def _is_punctuation(char: str) -> bool:
    return char in _ASCII_PUNCTUATION or unicodedata.category(char).startswith("P")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower-case, drop punctuation (also unicode quotes/dashes) and a/an/the, collapse spaces;
    scales and percent spelt one way ("bn" -> "billion", "%" -> "percent")."""
    text = text.lower()
    for pattern, spelling in _SCALES:
        text = pattern.sub(spelling, text)
    text = "".join(char for char in text if not (_is_punctuation(char) or unicodedata.category(char) == "Sc"))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_of(metric: Callable[[str, str], float], prediction: str | None, golds: Sequence[str]) -> float:
    """Max over the gold answers; a missing prediction (abstention) scores 0."""
    if prediction is None or not golds:
        return 0.0
    return max(metric(prediction, gold) for gold in golds)


def _split_punctuation(text: str) -> str:
    return "".join(" " if _is_punctuation(char) else char for char in text)


def contains_answer(prediction: str | None, golds: Sequence[str]) -> bool:
    """The normalised prediction holds a normalised gold answer as whole words ("art" is not in "party").

    Checked twice: with SQuAD normalisation (punctuation dropped: "four-day" -> "fourday") and with punctuation
    read as a word break, so "nine" is found in "a nine-member group" and "Bhutto Zardari" in "Bhutto-Zardari".
    """
    if prediction is None:
        return False
    for prepare in (str, _split_punctuation):
        haystack = f" {normalize_answer(prepare(prediction))} "
        if any(needle and f" {needle} " in haystack for needle in (normalize_answer(prepare(g)) for g in golds)):
            return True
    return False
