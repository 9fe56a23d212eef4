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

import numpy as np

from qa_service.answering.context import AnswerContext
from qa_service.answering.fit import WORD_RUN, phrase_fit
from qa_service.answering.pronouns import find_antecedent
from qa_service.answering.question import TYPED_KINDS, YEAR, QuestionAnalysis
from qa_service.store import StoredSentence, TypedSpan
from qa_service.text.terms import terms, word_key

_PRONOUN = re.compile(r"\b(?:he|she|him|her|his)\b", re.IGNORECASE)
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


def best_phrase(
    question: QuestionAnalysis, text: str, offset: int, phrases: Sequence[TypedSpan], anchors: Sequence[int]
) -> tuple[float, TypedSpan | None]:
    """The phrase that best answers the question: right type, new to the question, near its words."""
    best: tuple[float, TypedSpan | None] = (0.0, None)
    target = {word_key(question.target)} if question.target else set()
    question_terms = question.term_set
    for phrase in phrases:
        start, end = phrase.start - offset, phrase.end - offset
        words = WORD_RUN.findall(text[start:end])
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


def anchor_positions(question: QuestionAnalysis, text: str) -> list[int]:
    """Character positions in `text` of the question's content words (by their keys)."""
    wanted = question.term_set
    return [(m.start() + m.end()) // 2 for m in WORD_RUN.finditer(text) if word_key(m.group()) in wanted]


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
            if question.years and (years := set(YEAR.findall(text))) and not years & question.years:
                score -= w.other_year
            out.append(Candidate(sentence, float(cosine), overlap, in_context, chunk, typed, phrase, restates, score))
        return sorted(out, key=lambda c: -c.score)

    @staticmethod
    def _typed(context: AnswerContext, sentence: StoredSentence, text: str) -> tuple[float, TypedSpan | None]:
        question = context.question
        if question.kind not in TYPED_KINDS and not (question.kind == "thing" and question.target):
            return 0.5, None  # why / how / a bare "what": a clause may answer, any sentence may
        anchors = anchor_positions(question, text)
        fit, phrase = best_phrase(question, text, sentence.start, context.phrases(sentence), anchors)
        if (question.kind == "person" or question.target) and fit < 0.5 and (pronoun := _PRONOUN.search(text)):
            previous = context.neighbour(sentence, -1)  # "..., he said": the person named just before
            if previous is not None:  # the one rule for who a pronoun is (`pronouns.find_antecedent`)
                before_text = context.sentence_text(previous)
                found = find_antecedent([before_text], pronoun.group())
                if found is not None:
                    person = TypedSpan(previous.start + found[1], previous.start + found[2], "PERSON")
                    named_fit, named = best_phrase(question, before_text, previous.start, [person], [])
                    if 0.8 * named_fit > fit:
                        fit, phrase = 0.8 * named_fit, named
        return fit, phrase
