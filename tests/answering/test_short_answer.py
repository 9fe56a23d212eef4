"""The short answer, question focus, named things and pronoun antecedents with the real spaCy model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import Stemmer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_service.answering import pronouns
from qa_service.answering import short_answer as sa
from qa_service.answering.candidates import Candidate
from qa_service.answering.question import analyse_question
from qa_service.text.phrases import read_sentences

from .conftest import hand_context

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

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


def short(question: str, quote: str, nlp: Language) -> str | None:
    span = sa.pick_short_answer(analyse_question(question, nlp=nlp), quote, nlp=nlp)
    if span is None:
        return None
    start, end = span
    assert 0 <= start < end <= len(quote)
    return quote[start:end]


@pytest.mark.parametrize(
    ("question", "quote", "expected"),
    [
        # who: the subject of the clause that names Dorothy Shea, not her title
        ("Who met Dorothy Shea?", SHEA, "the delegation"),
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
        # ... among other figures, in the next sentence of the quote (the first pass's fit: `fit.phrase_fit`)
        (
            "How many contacts had officials traced by late March?",
            "As of 25 March, the ministry reports 12 cases in two districts (8 confirmed, 4 suspected). 210 contact "
            "cases have been identified and 60 are under follow-up.",
            "210",
        ),
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
def test_picks_the_words_that_answer(question: str, quote: str, expected: str, nlp: Language) -> None:
    assert short(question, quote, nlp) == expected


def test_nothing_fits_gives_no_bold(nlp: Language) -> None:
    # a date is asked for, the quote holds none
    assert (
        short("When was the treaty signed?", "David Lammy recently visited both Islamabad and New Delhi.", nlp) is None
    )
    # a number is asked for, the quote holds none
    assert short("How many people attended?", "The meeting was described as very positive.", nlp) is None
    # why/how questions have no typed short answer
    assert short("Why did the delegation travel?", FATEMI, nlp) is None


def test_pronoun_subject_needs_a_name(nlp: Language) -> None:
    quote = "\u201cThe suspension endangers the livelihood of 240 million people,\u201d he said."
    question = analyse_question("Who said the suspension endangers 240 million people?", nlp=nlp)
    span = sa.pick_short_answer(question, quote, nlp=nlp)
    assert span is None  # "he" is not an answer to "who"
    assert pronouns.answer_pronoun(question, quote, span, nlp=nlp) is not None
    # a named subject needs nothing more
    named = "\u201cThe suspension endangers the livelihood of 240 million people,\u201d Dastgir said."
    named_span = sa.pick_short_answer(question, named, nlp=nlp)
    assert named_span is not None and named[named_span[0] : named_span[1]] == "Dastgir"
    assert pronouns.answer_pronoun(question, named, named_span, nlp=nlp) is None
    # only "who" questions ask for a person
    assert pronouns.answer_pronoun(analyse_question("How many people are endangered?"), quote, None, nlp=nlp) is None


def test_a_quote_without_a_pronoun_is_not_parsed_for_one(nlp: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tokenizer alone rules out "he said" when no personal pronoun is written (the parse costs a few ms)."""
    question = analyse_question("Who said the suspension endangers 240 million people?", nlp=nlp)
    parsed: list[str] = []

    def parse(quote: str, nlp: Language) -> Doc:
        parsed.append(quote)
        return sa.quote_doc(quote, nlp)

    monkeypatch.setattr(pronouns, "quote_doc", parse)
    unnamed = "“The suspension endangers the livelihood of 240 million people,” the minister said."
    assert pronouns.answer_pronoun(question, unnamed, None, nlp=nlp) is None and parsed == []
    quote = "“The suspension endangers the livelihood of 240 million people,” he said."
    assert pronouns.answer_pronoun(question, quote, None, nlp=nlp) == "he" and parsed == [quote]


def test_find_antecedent_prefers_the_nearest_subject(nlp: Language) -> None:
    before = [
        "Senator Sherry Rehman described the meetings as very positive.",
        "Earlier, Bilawal urged Donald Trump to mediate between Pakistan and India.",
        "In an interview with AFP, the former foreign minister called on Washington to push for talks.",
    ]
    index, start, end = pronouns.find_antecedent(before, "He", nlp=nlp) or (None, 0, 0)
    assert index == 1 and before[1][start:end] == "Bilawal"  # the subject, not the object Donald Trump
    index, start, end = pronouns.find_antecedent(before[:1], "She", nlp=nlp) or (None, 0, 0)
    assert index == 0 and before[0][start:end] == "Sherry Rehman"
    assert pronouns.find_antecedent(["The meeting was positive.", "Talks went on."], "he", nlp=nlp) is None


def test_the_sentences_before_a_pronoun_are_parsed_once_for_every_question(nlp: Language) -> None:
    """A second question over the same article reads the parses the first made, and finds the same name."""
    before = [
        "Senator Sherry Rehman described the meetings as very positive.",
        "Earlier, Bilawal urged Donald Trump to mediate between Pakistan and India.",
        "In an interview with AFP, the former foreign minister called on Washington to push for talks.",
    ]
    sa.quote_doc.cache_clear()
    first = pronouns.find_antecedent(before, "He", nlp=nlp)
    assert sa.quote_doc.cache_info().misses == 2, "the nearest sentences, until one names someone"
    assert pronouns.find_antecedent(before, "he", nlp=nlp) == first
    assert sa.quote_doc.cache_info().misses == 2


def test_irregular_forms_come_from_the_lemmatizer_tables() -> None:
    from spacy.strings import hash_string  # type: ignore[attr-defined]  # in spacy.strings, not in its .pyi stub

    from qa_service.text.terms import IRREGULAR_TABLES, irregular_forms, terms

    assert {pos: hash_string(pos) for pos in ("verb", "noun", "adj")} == IRREGULAR_TABLES
    forms = irregular_forms()
    assert [forms.get(w, w) for w in ("met", "led", "children", "spoke", "delegation")] == [
        "meet",
        "lead",
        "child",
        "speak",
        "delegation",
    ]
    # a stemmer alone keeps "met" apart from "meeting"; with the base form first they share a term
    stem = Stemmer.Stemmer("english").stemWord
    assert stem("met") != stem("meeting")
    assert terms("Who met Dorothy Shea?")[0] == terms("the meeting")[0]


def test_a_date_the_question_gives_is_not_its_answer(nlp: Language) -> None:
    """The question's own words are never the short answer ("What happened on May 10?" once bolded "May")."""
    for quote in (
        "On May 10, India and Pakistan agreed to a ceasefire after four days of fighting.",
        "India and Pakistan agreed to a full and immediate ceasefire on May 10, officials said.",
    ):
        answer = short("What happened on May 10?", quote, nlp)
        assert answer is None or "May" not in answer, answer


def test_one_picker_the_reader_s_span_widened_else_the_parse_s_pick(nlp: Language) -> None:
    """`short_answer` chooses the bold words for both answerers, in order: the reader's span widened to the typed
    phrase it touches (when it lies in the quote), else the parse's pick in the quote."""
    text = "The council named Ada Quill as mayor on Monday. She thanked Tom Reyes."
    bounds, phrases = read_sentences(text)
    question = analyse_question("Who did the council name as mayor?", nlp=nlp)
    context = hand_context(text, bounds, (0, len(text)), question=question, phrases=phrases)
    best = Candidate(context.sentences["d"][0], 0.5, 0.5, 0.5, 1.0, 0.0, None, False, 1.0)
    start, end = bounds[0]

    def bold(reader_span: tuple[int, int] | None) -> str | None:
        span = sa.short_answer(context, best, start, end, reader_span)
        return None if span is None else text[span[0] : span[1]]

    assert bold(None) == "Ada Quill"  # the parse: the object of "named"
    assert bold((text.index("Quill"), text.index("Quill") + 5)) == "Ada Quill"  # widened to the whole name
    assert bold((text.index("Monday"), text.index("Monday") + 6)) == "Monday"  # the reader's span, when in the quote
    assert bold((text.index("Tom"), text.index("Tom") + 3)) == "Ada Quill"  # outside the quote: the parse's pick


@pytest.mark.parametrize(
    ("question", "sentence", "read", "phrase", "expected"),
    [
        # one phrase whose typed words only open it: kept whole, not cut to its first name
        (
            "Which team won the title?",
            "The Denver Broncos beat the Carolina Panthers to win the title.",
            "Denver Broncos",
            None,
            "Denver Broncos",
        ),
        (
            "Where did the team stay?",
            "The team stayed at the Santa Clara Marriott all week.",
            "Santa Clara Marriott",
            "Santa Clara",
            "Santa Clara Marriott",
        ),
        # a title before the name: the name
        (
            "Who caught 77 passes?",
            "Tight end Greg Olsen caught 77 passes last season.",
            "Tight end Greg Olsen",
            "Greg Olsen",
            "Greg Olsen",
        ),
        # no possessive after a name
        (
            "Who did the coach praise?",
            "The coach praised Peyton Manning's passing after the game.",
            "Peyton Manning's",
            None,
            "Peyton Manning",
        ),
        # "how many X": the number, X is the question's own word; units the question does not name stay
        ("How many punts did Ginn return?", "Ginn returned 27 punts for 277 yards.", "27 punts", None, "27"),
        ("How long did the rescue take?", "The rescue took four years of planning.", "four years", None, "four years"),
        ("How many years did Davis play?", "Davis, an 11-year veteran, returned.", "11-year", None, "11"),
        (
            "In what year did the league name the host?",
            "The league named the host in early 2012.",
            "early 2012",
            None,
            "2012",
        ),
        # the figure asked for, without the words before it (the quote shows them)
        ("How many people died?", "At least 128 people died in the quake.", "At least 128", None, "128"),
        ("How many staff did it have?", "It had approximately 7,500 staff.", "approximately 7,500", None, "7,500"),
        ("How many did it hire?", "It hired an estimated 20 more.", "an estimated 20", None, "an estimated 20"),
        # a question that asks for several: the names of that kind listed together
        (
            "Which cities will the delegation visit?",
            "The delegation will visit New York, Washington and London next month.",
            "New York",
            None,
            "New York, Washington and London",
        ),
        (
            "Who were the commentators?",
            "The game was called by Alvaro Martin and Raul Allegre on Sunday.",
            "Raul Allegre",
            None,
            "Alvaro Martin and Raul Allegre",
        ),
        (
            "Which city will the delegation visit first?",
            "The delegation will visit New York, Washington and London.",
            "New York",
            None,
            "New York",
        ),
        # a nationality is nobody: the people it describes
        (
            "Who will the delegation meet in London?",
            "In London the delegation will meet senior British officials on Friday.",
            "British",
            None,
            "senior British officials",
        ),
        # a parenthesis it opens is closed
        (
            "Whose envoys will the delegation address?",
            "The delegation will address envoys of the Organization of Islamic Cooperation (OIC) in Geneva.",
            "Organization of Islamic Cooperation (OIC",
            None,
            "the Organization of Islamic Cooperation (OIC)",
        ),
        # a quotation mark it does not open and close: up to it
        (
            "What was the contest called?",
            'Doritos ran its "Crash the Super Bowl" contest again.',
            'Crash the Super Bowl" contest',
            None,
            "Crash the Super Bowl",
        ),
        (
            "What was the contest called?",
            "Doritos ran its \u201cCrash the Super Bowl\u201d contest again.",
            "Crash the Super Bowl\u201d contest",
            None,
            "Crash the Super Bowl",
        ),
        (
            "How did Rehman describe Kashmir?",
            'Rehman called Kashmir the "largest open-air prison after Gaza" on Friday.',
            'the "largest open-air prison',
            None,
            'the "largest open-air prison after Gaza"',
        ),
        # a span that ends inside a word (a word piece) is the whole word
        (
            "What design did the council choose?",
            "The council chose a modernist design for the library.",
            "modern",
            None,
            "modernist",
        ),
    ],
)
def test_the_reader_s_span_becomes_the_whole_phrase_a_reader_wants(
    question: str, sentence: str, read: str, phrase: str | None, expected: str, nlp: Language
) -> None:
    bounds, phrases = read_sentences(sentence)
    analysis = analyse_question(question, nlp=nlp)
    context = hand_context(sentence, bounds, (0, len(sentence)), question=analysis, phrases=phrases)
    typed = None
    if phrase is not None:  # the first pass's typed phrase, as the store holds it
        typed = next(p for p in context.phrases(context.sentences["d"][0]) if sentence[p.start : p.end] == phrase)
    best = Candidate(context.sentences["d"][0], 0.5, 0.5, 0.5, 1.0, 1.0, typed, False, 1.0)
    at = sentence.index(read)
    span = sa.short_answer(context, best, 0, len(sentence), (at, at + len(read)))
    assert span is not None and span.rule == sa.BY_READER
    assert sentence[span.start : span.end] == expected


MESSY = (
    'Officials said "at least 128 people" died. The Organization of Islamic Cooperation (OIC) met in Geneva, '
    "\u201cthe largest open-air prison\u201d, they said of Kashmir. New York, Washington and London's mayors, "
    "Ted Ginn's 27 punts and an 11-year career followed in early 2012. The mayor said \"we stayed. We did not "
    'leave" on Monday (at night. Then) he left.'
)


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    question=st.sampled_from(
        [
            "How many people died?",
            "Which cities were named?",
            "Who met in Geneva?",
            "What year was it?",
            "What did they say?",
            "How many punts did Ginn return?",
        ]
    ),
    data=st.data(),
)
def test_the_bold_always_lies_inside_its_sentence(question: str, data: st.DataObject, nlp: Language) -> None:
    """Whatever span the reader gives, the bold is non-empty and inside the sentence it is shown in: widening,
    matching quote marks and trimming never run past the quote (a citation's exact words)."""
    bounds, phrases = read_sentences(MESSY)
    analysis = analyse_question(question, nlp=nlp)
    context = hand_context(MESSY, bounds, (0, len(MESSY)), question=analysis, phrases=phrases)
    index = data.draw(st.integers(0, len(bounds) - 1))
    start, end = bounds[index]
    a = data.draw(st.integers(start, end - 1))
    b = data.draw(st.integers(a + 1, end))
    best = Candidate(context.sentences["d"][index], 0.5, 0.5, 0.5, 1.0, 1.0, None, False, 1.0)
    span = sa.short_answer(context, best, start, end, (a, b))
    if span is not None:
        assert start <= span.start < span.end <= end, (MESSY[start:end], MESSY[span.start : span.end])
