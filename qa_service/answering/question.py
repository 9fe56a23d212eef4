"""What a question asks for, analysed once: its words, names, the kind of answer, the phrase it asks about.

`analyse_question` runs spaCy over the question once (~7 ms); the `QuestionAnalysis` it returns travels in the
`AnswerContext` to retrieval, answer selection, the short answer and relatedness, so nothing parses or
tokenises the question again. The answer kinds are one taxonomy: person, org, place, date, number, money,
percent, duration, measure, thing, or None (why / how: a clause, not a phrase).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from qa_service.text.nlp import LIGHT_VERBS, WH_WORDS, is_content, key, keys, names_in, pipeline
from qa_service.text.terms import terms

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

    from qa_service.store import StoreReader

YEAR = re.compile(r"\b(?:1[5-9]\d\d|20\d\d)\b")  # a year as news writes one: what questions, sentences and dates share

# Which entity labels answer which kind of question: 1.0 is the expected kind, lower is a looser fit.
KIND_LABELS: dict[str, dict[str, float]] = {
    "person": {"PERSON": 1.0, "ORG": 0.8, "NORP": 0.7, "GPE": 0.5},
    "date": {"DATE": 1.0, "TIME": 1.0},
    "number": {"CARDINAL": 1.0, "QUANTITY": 1.0, "MONEY": 1.0, "PERCENT": 1.0, "DATE": 0.4, "TIME": 0.4},
    "money": {"MONEY": 1.0, "CARDINAL": 0.6, "QUANTITY": 0.5, "PERCENT": 0.5},
    "percent": {"PERCENT": 1.0, "CARDINAL": 0.5},
    "duration": {"DATE": 1.0, "TIME": 1.0, "QUANTITY": 0.8, "CARDINAL": 0.5},
    "measure": {"QUANTITY": 1.0, "CARDINAL": 0.6, "MONEY": 0.4, "PERCENT": 0.4},
    "place": {"GPE": 1.0, "LOC": 1.0, "FAC": 1.0, "ORG": 0.5},
    "org": {"ORG": 1.0, "NORP": 0.6, "PERSON": 0.3, "GPE": 0.3},
}
# Kinds only a phrase of their type answers ("thing" takes any noun phrase, None a clause).
TYPED_KINDS = frozenset(KIND_LABELS)
FIGURE_KINDS = frozenset("number money percent measure".split())  # answered by a figure that counts what is asked
# The noun of "which X" / "what X" as a kind: a general answer-type taxonomy (as in question classification),
# not a list fitted to any question set. A noun not here is matched by the quote itself (head or apposition).
_NOUN_KINDS: dict[str, str] = {
    **dict.fromkeys("year years date day days month months decade century time period era season".split(), "date"),
    **dict.fromkeys("number amount total count score toll tally population turnout".split(), "number"),
    **dict.fromkeys("percentage percent proportion share rate".split(), "percent"),
    **dict.fromkeys("price cost fee salary budget revenue".split(), "money"),
    **dict.fromkeys(
        "place city country state nation region province county capital town village location "
        "continent area territory island district venue stadium arena site".split(),
        "place",
    ),
    **dict.fromkeys(
        "person man woman people player leader president king queen emperor duke author writer individual".split(),
        "person",
    ),
    **dict.fromkeys(
        "team company organization organisation group party agency network club band university "
        "school institution".split(),
        "org",
    ),
}
_HOW: dict[str, str] = {
    "many": "number",
    "much": "number",
    "long": "duration",
    "old": "duration",
    "far": "measure",
    "large": "measure",
    "big": "measure",
    "tall": "measure",
    "high": "measure",
    "deep": "measure",
    "wide": "measure",
    "heavy": "measure",
    "often": "number",
}


def _wh_token(doc: Doc) -> Token | None:
    return next((t for t in doc if t.lower_ in WH_WORDS and t.tag_ in ("WDT", "WP", "WP$", "WRB")), None) or next(
        (t for t in doc if t.lower_ in WH_WORDS), None
    )


def _wh_phrase_head(wh: Token) -> Token:
    """The phrase the question word stands in: "which treaty" -> treaty, "how many members" -> members."""
    if wh.dep_ in ("det", "poss") or wh.lower_ == "whose":
        return wh.head
    if wh.lower_ == "how" and wh.head.lower_ in _HOW and wh.head.dep_ == "amod":
        return wh.head.head
    following = wh.doc[wh.i + 1] if wh.i + 1 < len(wh.doc) else None
    while (
        following is not None
        and (following.pos_ in ("ADJ", "ADV") or following.tag_ in ("VBG", "VBN"))
        and following.i + 1 < len(wh.doc)
    ):
        following = wh.doc[following.i + 1]  # "Which earlier British", "Which departing ...": the noun after them
    if wh.lower_ in ("which", "what") and following is not None and following.pos_ in ("NOUN", "PROPN"):
        # "Which MVP died?" parsed with "Which" as an object: the noun after it is still what is asked for
        node = following
        while node.dep_ == "compound" and node.head.i > node.i:
            node = node.head
        return node
    return wh


def _role(phrase: Token) -> str | None:
    node = phrase
    while node.dep_ in ("amod", "compound", "det", "nummod") and node.head is not node:
        node = node.head
    if node.dep_ in ("nsubj", "nsubjpass", "csubj") or (node.dep_ == "ROOT" and node.pos_ != "VERB"):
        return "subject"
    if node.dep_ in ("dobj", "attr", "oprd", "dative"):
        return "object"
    if node.dep_ == "pobj":
        return f"prep:{node.head.lower_}"
    return None


def _kind(wh: Token, phrase: Token, doc: Doc) -> tuple[str | None, str | None]:
    """(kind, target lemma) from the question word and the noun it governs."""
    word = wh.lower_
    following = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
    if word == "how":
        how = following.lower_ if following is not None else ""
        if how in ("many", "much"):
            target = phrase.lemma_.lower() if phrase is not wh and phrase.pos_ in ("NOUN", "PROPN") else None
            return "number", target  # a count, an amount of money, a quantity or a percentage
        return _HOW.get(how), None
    if word in ("who", "whom", "whose"):
        return "person", None
    if word == "when":
        return "date", None
    if word == "where":
        return "place", None
    if word == "why":
        return None, None
    # which / what
    if phrase is not wh and phrase.pos_ in ("NOUN", "PROPN"):
        target = phrase.lemma_.lower()
        return _NOUN_KINDS.get(target, "thing"), target
    # "What is the name of ...", "What was the number of ...": the noun after the copula
    for token in doc[wh.i + 1 :]:
        if token.pos_ in ("NOUN", "PROPN"):
            if token.dep_ in ("nsubj", "attr") and token.lemma_.lower() in _NOUN_KINDS:
                return _NOUN_KINDS[token.lemma_.lower()], token.lemma_.lower()
            break
    return "thing", None


@dataclass(frozen=True)
class QuestionAnalysis:
    """Everything later steps need to know about a question, computed once."""

    text: str
    terms: tuple[str, ...]  # `analysis.terms`: what keyword search and word overlap compare
    wh: str | None  # "who", "when", "how many", ... (None: no question word found)
    kind: str | None  # person, org, place, date, number, money, percent, duration, measure, thing, None (why/how)
    target: str | None  # the lemma of X in "which X" / "what X" / "how many X"
    verbs: frozenset[str]  # keys of the question's verbs (not be/do/have)
    role: str | None  # "subject", "object" or "prep:<in|at|...>": where the asked-for phrase sits
    content: frozenset[str]  # keys of the lemmas and forms of the question's content words, without the target
    names: tuple[str, ...]  # named things the question mentions (`nlp.names_in`)
    common: frozenset[str]  # keys of the content words written in lower case
    years: frozenset[str]  # years the question names ("the 2014 final"): another year is another event
    plural: bool = False  # it asks for several ("Which cities ...?", "Who were the commentators?"): a list answers

    @cached_property
    def term_set(self) -> frozenset[str]:
        """`terms` as a set, made once: every candidate phrase and sentence is compared with it."""
        return frozenset(self.terms)

    @property
    def labels(self) -> dict[str, float]:
        """Entity labels that answer this kind of question: 1.0 the expected kind, lower a looser fit."""
        return KIND_LABELS.get(self.kind or "", {})


def analyse_question(question: str, *, nlp: Language | None = None) -> QuestionAnalysis:
    """The expected answer kind, the asked-for phrase's role, the question's verbs, words and names."""
    doc = pipeline(nlp)(question)
    content = frozenset(k for t in doc if is_content(t) for k in keys(t))
    verbs = frozenset(
        key(t.lemma_)
        for t in doc
        if (t.pos_ in ("VERB", "AUX") or t.dep_ == "ROOT") and t.lemma_.lower() not in LIGHT_VERBS and is_content(t)
    )
    wh = _wh_token(doc)
    kind: str | None
    kind, target, role, label = "thing", None, None, None
    plural = False
    if wh is not None:
        phrase = _wh_phrase_head(wh)
        kind, target = _kind(wh, phrase, doc)
        role = _role(phrase)
        plural = phrase.tag_ in ("NNS", "NNPS") or (wh.lower_ == "who" and wh.head.lower_ in ("are", "were"))
        label = f"how {doc[wh.i + 1].lower_}" if wh.lower_ == "how" and wh.i + 1 < len(doc) else wh.lower_
    return QuestionAnalysis(
        text=question,
        terms=tuple(terms(question)),
        wh=label,
        kind=kind,
        target=target,
        verbs=verbs,
        role=role,
        content=content - {key(target)} if target else content,
        names=tuple(names_in(doc)),
        common=frozenset(k for t in doc if is_content(t) and t.text.islower() for k in keys(t)),
        years=frozenset(YEAR.findall(question)),
        plural=plural,
    )


def noun_kind(noun: str) -> str | None:
    """The answer kind a noun names in "which X" ("city" -> place, "year" -> date), if the taxonomy has it."""
    return _NOUN_KINDS.get(noun)


def names_not_in_corpus(question: QuestionAnalysis, reader: StoreReader) -> list[str]:
    """The names a question mentions (places, people, organisations...) that no article holds.

    "Who did the delegation meet in Tokyo?" over articles that never say "Tokyo" -> ["Tokyo"]: whatever the
    nearest sentence says, it cannot be about Tokyo. A name counts as mentioned when any of its words is (so
    "Merceds-Benz Superdome" finds "Benz", "Bhutto-Zardari" is "Bhutto Zardari"), accents and one typo aside.
    """
    return [
        name
        for name in question.names
        if not name.islower()  # a name is written with capitals; "ref" tagged as an organisation is not one
        and (words := terms(name))
        and not any(reader.mentions(word) for word in words)
    ]
