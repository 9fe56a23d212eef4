"""Sources that agree or differ: other articles that state the answer's value, or give another value for it.

Only what two exact quotes show is reported. An article *agrees* when a sentence about the same thing (close
in meaning to the answer's sentence) contains the answer's words. It *differs* when such a sentence gives
another number for the same counted thing: the answer says "33 global capitals", the other says "over 30
global capitals" (the words after the number match, the numbers do not). Pattern matching only, no parse:
this runs on every answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from qa_service.analysis import terms
from qa_service.answering.context import AnswerContext
from qa_service.answering.quotes import make_citation
from qa_service.schemas import Source
from qa_service.store import StoredSentence

MIN_SIMILARITY = 0.6  # cosine of the two sentences: below it they are about something else
MAX_SOURCES = 3
COUNTED_WORDS = 2  # "33 global capitals" and "over 30 global capitals" count the same thing
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w.]\d)")
_WORD = re.compile(r"[\w'’-]+")


def find_sources(
    context: AnswerContext,
    answer: StoredSentence,
    value: tuple[int, int] | None,
    others: Sequence[StoredSentence],
) -> list[Source]:
    """Sources among `others` (the answerer's next best sentences) for the value at `value` (document offsets)."""
    if value is None or answer.vector is None:
        return []
    text = context.documents[answer.doc_id].text
    answer_value = text[value[0] : value[1]]
    key = _normalise(answer_value) if re.search(r"\d|[A-Z]", answer_value) else ""  # a name, a number, a date
    counted = _counted_terms(text, value[1])
    out: list[Source] = []
    seen = {answer.doc_id}
    for other in others:
        if other.doc_id in seen or other.vector is None or len(out) >= MAX_SOURCES:
            continue
        if float(np.dot(answer.vector, other.vector)) < MIN_SIMILARITY:
            continue
        sentence = context.sentence_text(other)
        found = _find_value(sentence, key)
        if found is not None:
            relation, span = "agrees", found
        elif counted and (span := _other_count(sentence, counted, answer_value)) is not None:
            relation = "differs"
        else:
            continue
        seen.add(other.doc_id)
        document = context.documents[other.doc_id]
        out.append(
            Source(
                relation=relation,
                value=sentence[span[0] : span[1]],
                answer_value=answer_value,
                citation=make_citation(len(out) + 1, document, other.start, other.end, 0.0),
            )
        )
    return out


def _normalise(value: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(value))


def _find_value(sentence: str, key: str) -> tuple[int, int] | None:
    """Where the answer's words stand in `sentence` (case and punctuation aside), whole words only."""
    if not key:
        return None
    words = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(sentence)]
    wanted = key.split()
    for i in range(len(words) - len(wanted) + 1):
        if [w for _, _, w in words[i : i + len(wanted)]] == wanted:
            return words[i][0], words[i + len(wanted) - 1][1]
    return None


def _counted_terms(text: str, end: int) -> list[str]:
    """The first two content words after a number ("33 global capitals" -> global, capital): what is counted."""
    return terms(" ".join(_WORD.findall(text[end : end + 80])[:4]))[:COUNTED_WORDS]


def _other_count(sentence: str, counted: list[str], answer_value: str) -> tuple[int, int] | None:
    """A number in `sentence` followed by the same counted words, if it is not the answer's number."""
    answer_numbers = _NUMBER.findall(answer_value)
    if not answer_numbers:
        return None
    for match in _NUMBER.finditer(sentence):
        if _counted_terms(sentence, match.end()) != counted:
            continue
        if _as_number(match.group()) != _as_number(answer_numbers[0]):
            return match.span()
    return None


def _as_number(text: str) -> float:
    return float(text.replace(",", ""))
