"""The extractive answerer: quote the sentence that best answers the question, or abstain honestly."""

from __future__ import annotations

import re
from dataclasses import replace

from qa_service.answering.candidates import (
    Candidate,
    CandidateScorer,
    Weights,
)
from qa_service.answering.context import AnswerContext, Extraction
from qa_service.answering.explain import explained
from qa_service.answering.fit import mentions_target
from qa_service.answering.pronouns import answer_pronoun, find_antecedent
from qa_service.answering.question import TYPED_KINDS, QuestionAnalysis, noun_kind
from qa_service.answering.quotes import fit_quote, make_citation, shown
from qa_service.answering.short_answer import short_answer
from qa_service.answering.sources import find_sources
from qa_service.schemas import AnswerSpan, Explanation
from qa_service.store import StoredSentence
from qa_service.text.nlp import load_pipeline
from qa_service.text.terms import terms

_CAPITALISED_RUN = re.compile(r"\b(?:[A-Z][\w’'-]*\s+){1,4}[A-Z][\w’'-]*")
ANTECEDENT_SENTENCES = 3  # how far back a "he" may find its name
BY_PRONOUN = 'the name a pronoun ("he said") stands for, from a sentence before'  # which rule chose the bold words
BY_DESCRIPTION = "the name of what the quote only describes, from another sentence"
MIN_TYPED_FIT = 0.25  # a phrase fitting less than this does not carry the asked-for type
_MISSING = {
    "person": "name no one",
    "org": "name no organisation",
    "place": "name no place",
    "date": "give no date",
    "number": "give no figure",
    "money": "give no amount",
    "percent": "give no percentage",
    "duration": "give no length of time",
    "measure": "give no measurement",
}


class ExtractiveAnswerer:
    """Scores sentences of the retrieved chunks by meaning, shared words and expected answer type."""

    name = "rules"
    below_threshold_reason: str | None = None

    def __init__(self, *, min_score: float, max_answer_chars: int, weights: Weights | None = None) -> None:
        self.min_score = min_score
        self.max_answer_chars = max_answer_chars
        self.scorer = CandidateScorer(weights)

    @property
    def threshold(self) -> float:
        return self.min_score

    def warm_up(self) -> ExtractiveAnswerer:
        """Load the language pipeline now (a few seconds) rather than in the first question."""
        load_pipeline()
        return self

    def candidates(self, context: AnswerContext) -> list[Candidate]:
        return self.scorer.rank(context)

    @staticmethod
    def confidence(best: Candidate) -> float:
        """How sure the best sentence answers: meaning, shared words in context, and the right kind of answer."""
        return float(min(1.0, max(0.0, 0.55 * best.dense + 0.35 * best.context + 0.10 * best.typed)))

    def answer(self, context: AnswerContext, *, min_score: float | None = None, explain: bool = False) -> Extraction:
        """The best sentence as a quote, or an abstention below `min_score` (default: the configured one)."""
        ranked = self.candidates(context)
        if not ranked:
            return Extraction(answerable=False, confidence=0.0, answer=None, citations=[])
        question = context.question

        def why(rule: str, bold: str | None = None) -> Explanation | None:
            return explained(context, ranked, rule, answerer=self.name, short_answer=bold) if explain else None

        if question.kind in TYPED_KINDS:  # only a sentence with a phrase of the asked-for type may answer
            typed = [c for c in ranked if c.typed >= MIN_TYPED_FIT and not c.restates]
            if question.wh == "how many" and not any(
                mentions_target(question, context.sentence_text(c.sentence)) for c in typed
            ):
                typed = []  # figures, but none of the X that "how many X" counts
            if not typed:
                reason = missing_reason(question)
                return Extraction(
                    answerable=False, confidence=0.0, answer=None, citations=[], reason=reason, explanation=why(reason)
                )
            ranked = typed + [c for c in ranked if c not in typed]
        confidence = self.confidence(ranked[0])
        if confidence < (self.min_score if min_score is None else min_score):
            rule = f"confidence {confidence:.2f} below the minimum score"
            return Extraction(answerable=False, confidence=confidence, answer=None, citations=[], explanation=why(rule))
        extraction = self.compose(context, ranked, confidence)
        decision = "the best-scored sentence of the asked-for type"
        return replace(extraction, explanation=why(decision, extraction.short_answer_rule))

    def compose(
        self,
        context: AnswerContext,
        ranked: list[Candidate],
        confidence: float,
        reader_span: tuple[int, int] | None = None,
    ) -> Extraction:
        """Quote `ranked[0]` with exact citations, the short answer (`short_answer`; `reader_span`: the words the
        reader marked, document offsets), the name behind "he said", and other articles that agree or differ."""
        best = ranked[0]
        start, end = self._quote_span(context, best.sentence, ranked[1] if len(ranked) > 1 else None)
        document = context.documents[best.sentence.doc_id]
        bold = short_answer(context, best, start, end, reader_span)
        span, rule = (None, None) if bold is None else ((bold.start, bold.end), bold.rule)
        # (sentence, name, rule) when the name answering lies in another sentence of the article
        elsewhere: tuple[tuple[int, int], tuple[int, int], str] | None = None
        behind = self._name_behind_pronoun(context, best.sentence, start, end, span)
        if behind is not None and end - behind[0][0] <= self.max_answer_chars:
            start, span, rule = behind[0][0], behind[1], BY_PRONOUN  # quote "Bilawal ... . ..., he said" whole
        elif behind is not None:
            elsewhere = (*behind, BY_PRONOUN)
        answer_start, answer_end = fit_quote(context, document.doc_id, start, end, span, self.max_answer_chars)
        citations = [make_citation(1, document, start, end, best.score)]
        for other in ranked[1:]:
            if len(citations) >= 3 or other.score < 0.9 * best.score:
                break
            sentence = other.sentence
            if all(c.doc_id != sentence.doc_id for c in citations):
                doc = context.documents[sentence.doc_id]
                citations.append(make_citation(len(citations) + 1, doc, sentence.start, sentence.end, other.score))
        answer_span = None
        if span and answer_start <= span[0] and span[1] <= answer_end:
            answer_span = AnswerSpan(start=span[0], end=span[1], text=document.text[span[0] : span[1]])
        if elsewhere is None:
            described = self._name_for_description(context, document.doc_id, answer_start, answer_end, span)
            elsewhere = (*described, BY_DESCRIPTION) if described is not None else None
        if elsewhere is not None:  # the name is in another sentence of the article: cite it second, bold it there
            (sentence_start, sentence_end), (name_start, name_end), rule = elsewhere
            citations.insert(1, make_citation(2, document, sentence_start, sentence_end, best.score))
            citations = [c.model_copy(update={"id": i}) for i, c in enumerate(citations[:3], 1)]
            name = document.text[name_start:name_end]
            answer_span = AnswerSpan(start=name_start, end=name_end, text=name, citation=2)
        return Extraction(
            answerable=True,
            confidence=confidence,
            answer=shown(document.text, answer_start, answer_end, start, end),
            citations=citations,
            answer_span=answer_span,
            sources=find_sources(context, best, span if answer_span else None, ranked[1:]),
            short_answer_rule=rule if answer_span else None,
        )

    @staticmethod
    def _name_for_description(
        context: AnswerContext, doc_id: str, start: int, end: int, span: tuple[int, int] | None
    ) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """For "which X" when the answer only describes an X ("the 1960 World Bank-mediated treaty"): the nearest
        sentence of the same article that names one ("the Indus Waters Treaty"), and the name in it.

        A name here is a run of capitalised words ending in X itself, capitalised ("... Treaty")."""
        target = context.question.target
        text = context.documents[doc_id].text
        if not target or (span is not None and not text[span[0] : span[1]].split()[-1].islower()):
            return None  # not a "which X" question, or the answer is already a name
        wanted = set(terms(target))
        names = [
            m
            for m in _CAPITALISED_RUN.finditer(text)
            if set(terms(m.group().split()[-1])) == wanted and not (start <= m.start() < end)
        ]
        if not names:
            return None
        name = min(names, key=lambda m: abs(m.start() - start))
        found = context.reader.sentences([(doc_id, name.start(), name.end())], margin=0, vectors=False).get(doc_id)
        if not found:
            return None
        return (found[0].start, found[-1].end), name.span()

    def _name_behind_pronoun(
        self,
        context: AnswerContext,
        sentence: StoredSentence,
        start: int,
        end: int,
        span: tuple[int, int] | None,
    ) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """(the sentence that names the person, the name) when a who-question's answer is "he"/"she" and one of
        the few sentences before names someone; None otherwise."""
        text = context.documents[sentence.doc_id].text
        relative = (span[0] - start, span[1] - start) if span else None
        pronoun = answer_pronoun(context.question, text[start:end], relative)
        if pronoun is None:
            return None
        around = context.reader.sentences([(sentence.doc_id, start, end)], margin=ANTECEDENT_SENTENCES, vectors=False)
        before = [s for s in around.get(sentence.doc_id, []) if s.end <= start]
        found = find_antecedent([text[s.start : s.end] for s in before], pronoun)
        if found is None:
            return None
        index, name_start, name_end = found
        naming = before[index]
        return (naming.start, naming.end), (naming.start + name_start, naming.start + name_end)

    def _quote_span(
        self, context: AnswerContext, sentence: StoredSentence, runner_up: Candidate | None = None
    ) -> tuple[int, int]:
        """One sentence, or two adjacent ones when the runner-up is its neighbour or it is too short alone."""
        partner = None
        if (
            runner_up is not None
            and runner_up.sentence.doc_id == sentence.doc_id
            and abs(runner_up.sentence.ordinal - sentence.ordinal) == 1
        ):
            partner = runner_up.sentence
        elif sentence.end - sentence.start < 60:
            partner = context.neighbour(sentence, 1)
        if partner is None:
            return sentence.start, sentence.end
        start, end = min(sentence.start, partner.start), max(sentence.end, partner.end)
        joinable = "\n" not in context.text(sentence.doc_id, start, end)
        return (start, end) if joinable and end - start <= self.max_answer_chars else (sentence.start, sentence.end)


def missing_reason(question: QuestionAnalysis) -> str:
    """What the articles lack, in a few words: "The articles name no judge", "give no figure for this"."""
    what = _MISSING.get(question.kind or "", "do not answer this")
    if question.target and what.startswith("name no "):
        what = f"name no {question.target}"
    elif question.target and what.startswith("give no ") and noun_kind(question.target) != question.kind:
        what = f"{what} for the {question.target}"  # "no figure for the aftershock", but not "no date for the date"
    return f"The articles {what}."
