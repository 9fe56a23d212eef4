"""Sources that agree or differ: other articles that state the answer's value, or give another value for it.

Only what two exact quotes show is reported. Another article is a source when its own best candidate for the
same question scores close to the answer's and its sentence is close in meaning to the answer's sentence: it
*agrees* when that sentence states the answer's value (figures compared as numbers: "1.4 billion" is
"1,400,000,000"), and *differs* when its answer phrase is another value of the same type (a toll of 128 against
133, "San Francisco" against "Los Angeles"). Report dates travel in the citations, so the reader sees which is
newer. No parse: this reuses the phrases typed at ingest and the candidates already scored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np

from qa_service.answering.candidates import Candidate
from qa_service.answering.context import AnswerContext
from qa_service.answering.question import FIGURE_KINDS
from qa_service.answering.quotes import make_citation
from qa_service.schemas import Source
from qa_service.text.nlp import NUMERIC_LABELS
from qa_service.text.terms import terms

MIN_SIMILARITY = 0.4  # cosine of the two sentences: below it they are about something else
MIN_SHARE = 0.75  # the other article's best candidate scores at least this share of the answer's
MAX_SOURCES = 3
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[\w'’-]+")
_SMALL = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
_SCALE = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}


def find_sources(
    context: AnswerContext, best: Candidate, value: tuple[int, int] | None, ranked: Sequence[Candidate]
) -> list[Source]:
    """Sources among the other articles' best candidates for the value at `value` (document offsets)."""
    if value is None or best.sentence.vector is None:
        return []
    text = context.documents[best.sentence.doc_id].text
    answer_value = text[value[0] : value[1]]
    numeric = as_number(answer_value) if context.question.kind in FIGURE_KINDS | {"duration"} else None
    key = _normalise(answer_value) if re.search(r"\d|[A-Z]", answer_value) else ""  # a name, a number, a date
    out: list[Source] = []
    seen = {best.sentence.doc_id}
    for other in ranked:
        doc_id = other.sentence.doc_id
        if doc_id in seen or other.sentence.vector is None or len(out) >= MAX_SOURCES:
            continue
        seen.add(doc_id)  # one candidate per article: its best
        if other.score < MIN_SHARE * best.score:
            continue
        if float(np.dot(best.sentence.vector, other.sentence.vector)) < MIN_SIMILARITY:
            continue
        sentence = context.sentence_text(other.sentence)
        found = _find_value(sentence, key, numeric)
        relation: Literal["agrees", "differs"]
        span: tuple[int, int] | None
        if found is not None:
            relation, span = "agrees", found
        elif _same_question(context, best, other) and (
            span := _other_value(context, other, numeric, answer_value, _label(best, value))
        ):
            relation = "differs"
        else:
            continue
        document = context.documents[doc_id]
        out.append(
            Source(
                relation=relation,
                value=sentence[span[0] : span[1]],
                answer_value=answer_value,
                citation=make_citation(len(out) + 1, document, other.sentence.start, other.sentence.end, other.score),
            )
        )
    return out


def as_number(text: str) -> float | None:
    """The figure a phrase states ("7,500", "1.4 billion", "€5m", "six", "118th"), or None when it states none."""
    words = [w.lower() for w in _WORD.findall(text)]
    value: float | None = None
    match = _NUMBER.search(text)
    if match is not None:
        digits = match.group()
        value = float(digits.replace(",", "")) if re.fullmatch(r"\d{1,3}(,\d{3})+|\d+(\.\d+)?", digits) else None
        suffix = text[match.end() : match.end() + 2].lower()
        if value is not None and suffix[:1] in ("m", "b") and not suffix[1:2].isalpha():
            value *= _SCALE["m" if suffix[0] == "m" else "bn"]  # "€5m", "$44bn"
    else:
        value = next((float(_SMALL[w]) for w in words if w in _SMALL), None)
    if value is None:
        return None
    for word in words:
        if word in _SCALE and word not in ("m", "bn"):
            value *= _SCALE[word]
    return value


def _normalise(value: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(value))


def _find_value(sentence: str, key: str, numeric: float | None) -> tuple[int, int] | None:
    """Where the answer's value stands in `sentence`: its words (case and punctuation aside), or its figure."""
    words = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(sentence)]
    wanted = key.split()
    for i in range(len(words) - len(wanted) + 1) if wanted else ():
        if [w for _, _, w in words[i : i + len(wanted)]] == wanted:
            return words[i][0], words[i + len(wanted) - 1][1]
    if numeric is not None:
        for match in _NUMBER.finditer(sentence):
            end = match.end()
            following = _WORD.match(sentence, end + 1) if sentence[end : end + 1] == " " else None
            if following is not None and following.group().lower() in _SCALE:
                end = following.end()
            if as_number(sentence[match.start() : end]) == numeric:
                return match.start(), end
    return None


def _label(best: Candidate, value: tuple[int, int]) -> str | None:
    """The type of the answer's value (PERSON, MONEY, ...): its phrase's label when the value is that phrase."""
    phrase = best.phrase
    if phrase is None or not (phrase.start <= value[0] and value[1] <= phrase.end):
        return None
    return phrase.label


def _same_question(context: AnswerContext, best: Candidate, other: Candidate) -> bool:
    """Whether the other sentence answers the same question: it names the X of "which X" / "how many X" and the
    question's verbs ("opened") when the answer's does, and holds at least half of the question words the
    answer's holds (a sentence about who said the bridge was busy is no other answer to who opened it)."""
    question = context.question
    answer_words = set(question.terms) & context.sentence_terms(best.sentence)
    other_words = context.sentence_terms(other.sentence)
    slot = (set(terms(question.target or "")) | question.verbs) & answer_words
    return slot <= other_words and 2 * len(answer_words & other_words) >= len(answer_words)


def _other_value(
    context: AnswerContext, other: Candidate, numeric: float | None, answer_value: str, label: str | None
) -> tuple[int, int] | None:
    """The other candidate's own answer phrase, when it is another value of the same slot (sentence offsets):
    the same type as the answer's (a person against a person, money against money), never a description."""
    phrase = other.phrase
    if phrase is None or other.typed < 0.5 or label is None or phrase.label != label or label == "NP":
        return None
    sentence = other.sentence
    if not (sentence.start <= phrase.start and phrase.end <= sentence.end):
        return None  # the name behind "he said", in another sentence: not a stated value
    value = context.documents[sentence.doc_id].text[phrase.start : phrase.end]
    other_number = as_number(value)
    if (numeric is None) != (other_number is None) or (numeric is None and phrase.label in NUMERIC_LABELS):
        return None  # a figure against a name: not two values of one thing
    if numeric is not None and other_number == numeric:
        return None
    if numeric is None and set(terms(value)) & set(terms(answer_value)):
        return None  # "Lusail" and "Lusail Stadium" are one place
    return phrase.start - sentence.start, phrase.end - sentence.start
