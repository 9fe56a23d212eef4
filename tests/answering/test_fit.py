"""How well a typed phrase answers a question (`fit.phrase_fit`), with the real spaCy model: one function for the
first pass and the short-answer picker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa_service.answering.fit import phrase_fit
from qa_service.answering.question import analyse_question
from qa_service.text.phrases import NOUN_PHRASE

if TYPE_CHECKING:
    from spacy.language import Language


def fit(question: str, label: str, text: str, phrase: str, nlp: Language) -> float:
    start = text.index(phrase)
    return phrase_fit(analyse_question(question, nlp=nlp), label, text, start, start + len(phrase))


def test_the_word_x_beside_a_phrase_makes_it_an_x_only_if_its_type_can_be_one(nlp: Language) -> None:
    """ "Monday, President Ilse Brandt": the day stands beside "President" yet is no president."""
    text = "On Monday, President Ilse Brandt opened the market."
    question = "Which president opened the market?"
    assert fit(question, "PERSON", text, "Ilse Brandt", nlp) == 1.0
    assert fit(question, "DATE", text, "Monday", nlp) == 0.0


def test_a_noun_phrase_that_restates_which_x_does_not_answer_it(nlp: Language) -> None:
    """ "Which judge?" is not answered by "a federal judge"; "Judge Peter Cahill" (a name) and "the Lusail
    Stadium" for "which stadium" are."""
    question = "Which judge sentenced Tomas Vell?"
    assert fit(question, NOUN_PHRASE, "A federal judge sentenced Tomas Vell.", "A federal judge", nlp) == 0.0
    assert fit(question, "PERSON", "Judge Peter Cahill sentenced Tomas Vell.", "Peter Cahill", nlp) == 1.0
    stadium = "The final was played at the Lusail Stadium."
    assert fit("At which stadium was the final played?", "FAC", stadium, "the Lusail Stadium", nlp) == 1.0
