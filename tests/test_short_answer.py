"""The short answer, question focus, named things, lemmas and pronoun antecedents with the real spaCy model."""

from __future__ import annotations

import pytest
import Stemmer

from qa_service import short_answer as sa

SHEA = (
    "At a separate engagement with the acting U.S. Permanent Representative to the U.N., Dorothy Shea, the "
    "delegation highlighted the long-standing counterterrorism cooperation between Islamabad and Washington."
)
FATEMI = (
    "The second delegation, led by Special Assistant to the Prime Minister Syed Tariq Fatemi, will travel to "
    "Moscow on the same day."
)
AMBASSADORS = (
    "The delegation is expected to meet the UN Secretary-General and the ambassadors of 14 of the 15 UN Security "
    "Council members, including envoys from China and Russia."
)


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    return sa.load_pipeline()


def short(question: str, quote: str, nlp) -> str | None:  # type: ignore[no-untyped-def]
    span = sa.pick_short_answer(question, quote, nlp=nlp)
    if span is None:
        return None
    start, end = span
    assert 0 <= start < end <= len(quote)
    return quote[start:end]


@pytest.mark.parametrize(
    ("question", "quote", "expected"),
    [
        # who: the subject of the clause that names Dorothy Shea, not her title
        ("Who met Dorothy Shea?", SHEA, "delegation"),
        # who: the name after the title, never the title
        ("Who leads the second delegation?", FATEMI, "Syed Tariq Fatemi"),
        (
            "On whose directive were the delegations formed?",
            "On Prime Minister Shehbaz Sharif's directive, Pakistan has formed two high-level delegations.",
            "Shehbaz Sharif",
        ),
        # who, object of the question's verb
        (
            "Who did the Panthers beat in the divisional round?",
            "The Panthers beat the Seattle Seahawks in the divisional round, running up a 31–0 halftime lead.",
            "Seattle Seahawks",
        ),
        # a name with "of", and a title written before the name (accents aside: fiancee ~ fiancée)
        (
            "Who led the papal army?",
            "In 1064, during the War of Barbastro, William of Montreuil led the papal army and took a huge booty.",
            "William of Montreuil",
        ),
        (
            "Who was Richard's fiancee?",
            "The boat carrying his sister and his fiancée Berengaria was anchored on the south coast of Cyprus.",
            "Berengaria",
        ),
        # when
        (
            "When did India carry out precision strikes?",
            "India responded with precision strikes inside Pakistan on May 7, prompting retaliation.",
            "May 7",
        ),
        ("What year did the league adopt the rule?", "On May 21, 2013, the league adopted the rule.", "2013"),
        # how many: the full expression
        ("How many Security Council ambassadors was the delegation expected to meet?", AMBASSADORS, "14 of the 15"),
        # how many X: the number of X, not another number in the sentence
        (
            "How many touchdowns did Newton throw?",
            "Newton threw for 3,837 yards and had one of his best seasons with 35 touchdowns and 10 interceptions.",
            "35",
        ),
        ("How much did the stadium cost?", "The new stadium cost $1.2 billion to build.", "$1.2 billion"),
        # where
        ("Where will the second delegation travel?", FATEMI, "Moscow"),
        (
            "Where did the Broncos practice?",
            "The Broncos practiced at Stanford University and stayed at the Santa Clara Marriott.",
            "Stanford University",
        ),
        # which X: the phrase related to X
        (
            "Which British foreign secretary visited Islamabad?",
            "British foreign secretary David Lammy recently visited both Islamabad and New Delhi.",
            "David Lammy",
        ),
    ],
)
def test_picks_the_words_that_answer(question: str, quote: str, expected: str, nlp) -> None:  # type: ignore[no-untyped-def]
    assert short(question, quote, nlp) == expected


def test_nothing_fits_gives_no_bold(nlp) -> None:  # type: ignore[no-untyped-def]
    # a date is asked for, the quote holds none
    assert (
        short("When was the treaty signed?", "David Lammy recently visited both Islamabad and New Delhi.", nlp) is None
    )
    # a number is asked for, the quote holds none
    assert short("How many people attended?", "The meeting was described as very positive.", nlp) is None
    # why/how questions have no typed short answer
    assert short("Why did the delegation travel?", FATEMI, nlp) is None


def test_pronoun_subject_needs_a_name(nlp) -> None:  # type: ignore[no-untyped-def]
    quote = "\u201cThe suspension endangers the livelihood of 240 million people,\u201d he said."
    question = "Who said the suspension endangers 240 million people?"
    span = sa.pick_short_answer(question, quote, nlp=nlp)
    assert span is None  # "he" is not an answer to "who"
    assert sa.needs_antecedent(question, quote, span, nlp=nlp)
    # a named subject needs nothing more
    named = "\u201cThe suspension endangers the livelihood of 240 million people,\u201d Dastgir said."
    named_span = sa.pick_short_answer(question, named, nlp=nlp)
    assert named_span is not None and named[named_span[0] : named_span[1]] == "Dastgir"
    assert not sa.needs_antecedent(question, named, named_span, nlp=nlp)
    # only "who" questions ask for a person
    assert not sa.needs_antecedent("How many people are endangered?", quote, None, nlp=nlp)


def test_find_antecedent_prefers_the_nearest_subject(nlp) -> None:  # type: ignore[no-untyped-def]
    before = [
        "Senator Sherry Rehman described the meetings as very positive.",
        "Earlier, Bilawal urged Donald Trump to mediate between Pakistan and India.",
        "In an interview with AFP, the former foreign minister called on Washington to push for talks.",
    ]
    index, start, end = sa.find_antecedent(before, "He", nlp=nlp) or (None, 0, 0)
    assert index == 1 and before[1][start:end] == "Bilawal"  # the subject, not the object Donald Trump
    index, start, end = sa.find_antecedent(before[:1], "She", nlp=nlp) or (None, 0, 0)
    assert index == 0 and before[0][start:end] == "Sherry Rehman"
    assert sa.find_antecedent(["The meeting was positive.", "Talks went on."], "he", nlp=nlp) is None


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("Who did the delegation meet in Tokyo?", ["Tokyo"]),
        ("What did Narendra Modi tell the BBC?", ["Narendra Modi", "BBC"]),
        ("What role did NATO play in the ceasefire?", ["NATO"]),
        ("Which senator met Dr. Sarah Johnson at Georgetown University?", ["Sarah Johnson", "Georgetown University"]),
        ("When did the European Union comment on the Indus Waters Treaty?", ["European Union", "Indus Waters Treaty"]),
        ("How many people were killed on May 7?", []),  # dates and numbers are not names
        ("What is the boiling point of water?", []),
        ("Who won?", []),
    ],
)
def test_named_things(question: str, names: list[str], nlp) -> None:  # type: ignore[no-untyped-def]
    assert sa.named_things(question, nlp=nlp) == names


@pytest.mark.parametrize(
    ("question", "kind", "target"),
    [
        ("Who met Dorothy Shea?", "person", None),
        ("When was the Pahalgam attack?", "date", None),
        ("What year did the war end?", "date", "year"),
        ("How many members did the delegation have?", "number", "member"),
        ("How long did the conflict last?", "duration", None),
        ("Where did the second delegation travel?", "place", None),
        ("Which treaty did India suspend?", "thing", "treaty"),
        ("Which city hosted the game?", "place", "city"),
        ("Why did India suspend the treaty?", None, None),
    ],
)
def test_question_focus(question: str, kind: str | None, target: str | None, nlp) -> None:  # type: ignore[no-untyped-def]
    focus = sa.question_focus(question, nlp=nlp)
    assert (focus.kind, focus.target) == (kind, target)


def test_lemmas_match_irregular_forms(nlp) -> None:  # type: ignore[no-untyped-def]
    assert sa.lemmas("Who met Dorothy Shea?", nlp=nlp) == ["meet", "dorothy", "shea"]
    assert "meet" in sa.lemmas("The minister meets envoys.", nlp=nlp)
    # table lookup without a tagger: irregular forms to their base, others unchanged
    assert [sa.base_form(w) for w in ("met", "led", "children", "spoke", "delegation")] == [
        "meet",
        "lead",
        "child",
        "speak",
        "delegation",
    ]
    # a stemmer alone keeps "met" apart from "meeting"; with base_form first they share a term
    stem = Stemmer.Stemmer("english").stemWord
    assert stem("met") != stem("meeting")
    assert stem(sa.base_form("met")) == stem("meeting")
