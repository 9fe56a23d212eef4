"""Candidate answers: each sentence near the retrieved chunks, scored by meaning, shared words and answer type.

Answer-type discipline: a question that asks for a person, a place, a date or a figure is answered only by a
sentence that holds a phrase of that type (an entity typed at ingest, `phrases.py`) which the question does not
already give, near the question's own words. A sentence whose content words are all in the question (a
headline or lede that restates it) is context, never the answer. When no sentence carries the type, the
answerer abstains and says what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qa_service.answering.context import AnswerContext
from qa_service.answering.question import QuestionAnalysis
from qa_service.store import StoredSentence, TypedSpan
from qa_service.text.nlp import NOT_NAME_LABELS
from qa_service.text.phrases import NOUN_PHRASE, type_sentences
from qa_service.text.terms import terms, word_key

# Kinds that only a phrase of their type can answer; "thing" takes any new noun phrase, None (why/how) a clause.
TYPED_KINDS = frozenset("person org place date number money percent duration measure".split())
_DIGIT = re.compile(r"\d")
_YEAR_LIKE = re.compile(r"[1-9]\d{2,3}")
_LETTER = re.compile(r"[^\W\d_]")
_PRONOUN = re.compile(r"\b(?:he|she|him|her|his)\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_YEAR = re.compile(r"\b(?:1[5-9]\d\d|20\d\d)\b")
_LOCATIVE = re.compile(r"\b(?:in|at|near|from|to|into|across|inside|outside|throughout|of)\s+(?:the\s+)?$", re.I)
_DURATION = re.compile(
    r"\b(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|few|many|\w+teen|\w+ty)[- ]"
    r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries)\b",
    re.IGNORECASE,
)
_CALENDAR = re.compile(r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", re.IGNORECASE)
PROXIMITY_CHARS = 60.0  # a phrase this far (in characters) from the question's words counts half as near


@dataclass(frozen=True)
class Weights:
    """How sentence signals combine (chosen on news-dev, the seed set and half of SQuAD v1.1; see README)."""

    dense: float = 0.7
    overlap: float = 0.45
    context: float = 1.0
    chunk: float = 0.2
    typed: float = 0.5  # the best typed phrase's fit (0..1): 1.0 gained 2 news-dev questions and lost 2% of SQuAD v1.1
    restates: float = 0.5  # penalty: every content word is in the question
    other_year: float = 0.3  # penalty: the question names a year, the sentence only others


@dataclass(frozen=True)
class Candidate:
    sentence: StoredSentence
    dense: float  # cosine of question and sentence
    overlap: float  # idf-weighted share of question words in the sentence
    context: float  # the same over the sentence, the one before it and the title (resolves "he", "the treaty")
    chunk: float  # fused retrieval score of the best chunk holding the sentence
    typed: float  # fit of its best phrase of the asked-for type (0: none; 0.5 when the question wants no type)
    phrase: TypedSpan | None  # that phrase (document offsets), possibly in the sentence before ("he said")
    restates: bool
    score: float


def sentence_phrases(context: AnswerContext, sentence: StoredSentence) -> tuple[TypedSpan, ...]:
    """The sentence's typed phrases as stored at ingest; typed now (and remembered) if the store has none yet."""
    if sentence.phrases is not None:
        return sentence.phrases
    return tuple(
        TypedSpan(p.start + sentence.start, p.end + sentence.start, p.label)
        for p in _typed(context.sentence_text(sentence))
    )


@lru_cache(maxsize=4096)
def _typed(text: str) -> tuple[TypedSpan, ...]:
    return type_sentences([text])[0]


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
    words = _WORD.findall(text[start:end])
    if len(words) > 1 and word_key(words[-1]) == wanted:
        return True
    before = _WORD.findall(text[max(0, start - 30) : start])
    after = _WORD.match(text[end : end + 30].lstrip(" ,"))
    return bool(before and word_key(before[-1]) == wanted) or bool(after and word_key(after.group()) == wanted)


def best_phrase(
    question: QuestionAnalysis, text: str, offset: int, phrases: Sequence[TypedSpan], anchors: Sequence[int]
) -> tuple[float, TypedSpan | None]:
    """The phrase that best answers the question: right type, new to the question, near its words."""
    best: tuple[float, TypedSpan | None] = (0.0, None)
    target = {word_key(question.target)} if question.target else set()
    question_terms = question.term_set
    for phrase in phrases:
        start, end = phrase.start - offset, phrase.end - offset
        words = _WORD.findall(text[start:end])
        fit = phrase_fit(question, phrase.label, text, start, end)
        if fit <= 0:
            continue
        own = [t for t in terms(" ".join(words)) if (len(t) > 1 or t.isdigit()) and t not in target]
        if not own:
            continue
        novelty = sum(t not in question_terms for t in own) / len(own)
        if novelty == 0:
            continue
        middle = (phrase.start + phrase.end) / 2 - offset
        distance = min((abs(middle - a) for a in anchors), default=PROXIMITY_CHARS * 2)
        nearness = 1.0 / (1.0 + distance / PROXIMITY_CHARS)
        score = fit * novelty * (0.6 + 0.4 * nearness)
        if score > best[0]:
            best = (score, phrase)
    return best


def mentions_target(question: QuestionAnalysis, text: str) -> bool:
    """Whether `text` names the X of "how many X" / "which X" (by its key), or the question has no X."""
    if not question.target:
        return True
    wanted = word_key(question.target)
    return any(word_key(w) == wanted for w in _WORD.findall(text))


def anchor_positions(question: QuestionAnalysis, text: str) -> list[int]:
    """Character positions in `text` of the question's content words (by their keys)."""
    wanted = question.term_set
    return [(m.start() + m.end()) // 2 for m in _WORD.finditer(text) if word_key(m.group()) in wanted]


class CandidateScorer:
    """Scores every sentence of the retrieved chunks; stateless apart from its weights."""

    def __init__(self, weights: Weights | None = None) -> None:
        self.weights = weights or Weights()

    def rank(self, context: AnswerContext) -> list[Candidate]:
        question = context.question
        chunk_score: dict[tuple[str, int], tuple[StoredSentence, float]] = {}
        for hit in context.hits:
            for sentence in context.sentences_in(hit.chunk.doc_id, hit.chunk.start, hit.chunk.end):
                key = (sentence.doc_id, sentence.ordinal)
                if key not in chunk_score or chunk_score[key][1] < hit.score:
                    chunk_score[key] = (sentence, hit.score)
        if not chunk_score:
            return []
        sentences = [sentence for sentence, _ in chunk_score.values()]
        dense = np.stack([s.vector for s in sentences if s.vector is not None]) @ context.query_vector  # all have one
        w = self.weights
        out = []
        for sentence, cosine in zip(sentences, dense, strict=True):
            chunk = chunk_score[(sentence.doc_id, sentence.ordinal)][1]
            text = context.sentence_text(sentence)
            own = context.sentence_terms(sentence)
            overlap = context.overlap(own)
            in_context = context.overlap(context.context_terms(sentence))
            restates = bool(own) and own <= context.question_terms
            typed, phrase = self._typed(context, sentence, text)
            score = w.dense * float(cosine) + w.overlap * overlap + w.context * in_context + w.chunk * chunk
            score += w.typed * typed - (w.restates if restates else 0.0)
            if question.years and (years := set(_YEAR.findall(text))) and not years & question.years:
                score -= w.other_year
            out.append(Candidate(sentence, float(cosine), overlap, in_context, chunk, typed, phrase, restates, score))
        return sorted(out, key=lambda c: -c.score)

    @staticmethod
    def _typed(context: AnswerContext, sentence: StoredSentence, text: str) -> tuple[float, TypedSpan | None]:
        question = context.question
        if question.kind not in TYPED_KINDS and not (question.kind == "thing" and question.target):
            return 0.5, None  # why / how / a bare "what": a clause may answer, any sentence may
        anchors = anchor_positions(question, text)
        fit, phrase = best_phrase(question, text, sentence.start, sentence_phrases(context, sentence), anchors)
        if (question.kind == "person" or question.target) and fit < 0.5 and _PRONOUN.search(text):
            previous = context.neighbour(sentence, -1)  # "..., he said": the person named just before
            if previous is not None:  # its first new person, as `pronouns.find_antecedent` prefers the subject
                people = [p for p in sentence_phrases(context, previous) if p.label == "PERSON"]
                before_text = context.sentence_text(previous)
                for person in people:
                    found, named = best_phrase(question, before_text, previous.start, [person], [])
                    if found > 0:
                        if 0.8 * found > fit:
                            fit, phrase = 0.8 * found, named
                        break
        return fit, phrase
