"""`terms` reads word by word: what lets answering analyse each word or sentence once and join the results."""

from __future__ import annotations

import pytest

from qa_service.text.terms import terms


@pytest.mark.parametrize(
    "text",
    [
        "The delegation met Dorothy Shea in New York on Monday.",
        "Hervé met Zoë\u00a0at the café’s door; the children\tleft.",  # accents, a no-break space, a tab
        "ΟΔΟΣ ΚΑΙ ΣΟΦΙΑΣ, Ⅻ and ﬁnal ½-time",  # final sigma, compatibility forms
        "U.S.-Pakistan talks (2025) cost $3.2bn—officials_said",
    ],
)
def test_the_terms_of_a_text_are_those_of_its_words(text: str) -> None:
    """`quotes.fit_quote` joins its words' terms into a window's, `AnswerContext.passage_terms` its sentences':
    both are exact only while `terms` never joins two words separated by a space."""
    assert terms(text) == [term for word in text.split() for term in terms(word)]
