"""Whether a passage is worth offering when the service abstains, and which of the question's words it mentions.

An abstention used to list the three closest passages whatever they were, so "Who won the 2022 FIFA World Cup?"
offered three passages about a diplomatic visit. A passage is offered only when it is related by meaning
(cosine of question and passage at least QA_RELATED_MIN_SIMILARITY) *and* it shares a content word with the
question, so the page can say what it is: "passages that mention Bilawal, though they do not answer it". A
passage that holds two or more words of the question's names (`QuestionAnalysis.names`: "Hina Rabbani Khar")
is related whatever its cosine: a long passage that names the person asked about can score low on meaning.

The default threshold, 0.25, was measured on eval/questions.jsonl with all-MiniLM-L6-v2: the best passage of the
off-topic unanswerable questions (FIFA, capital of Australia, president of France, boiling point, Olympics) has a
cosine of 0.22 at most; the on-topic ones (the delegation's trip cost, Bilawal's football club, the Karachi
stock market) 0.30 to 0.49; the passages that answer the answerable questions 0.33 and more but one (0.19, which
its rare words "Dorothy Shea" find anyway, and which is answered, not abstained on).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from qa_service.text.terms import WORD, terms

if TYPE_CHECKING:
    from qa_service.answering.question import QuestionAnalysis

MAX_MENTIONS = 5


def mentioned_words(
    question: str, text: str, names: Iterable[str] = (), present: frozenset[str] | None = None
) -> list[str]:
    """The question's content words (stopwords out) whose stem occurs in `text`, as the question spells them, the
    words of each of its `names` that `text` holds whole as that name (`whole_names`); `present`: the terms of
    `text` when the caller has them (`AnswerContext.passage_terms`).

    Names first (capitalised words, in the question's order), then longer words: they say best what it is about.
    """
    present = frozenset(terms(text)) if present is None else present
    found: dict[str, str] = {}
    for word, stems in _question_words(question):
        if stems and all(stem in present for stem in stems) and stems[0] not in found:
            found[stems[0]] = word.removesuffix("'s").removesuffix("’s")
    words = sorted(found.values(), key=lambda w: (0, 0) if w[:1].isupper() else (1, -len(w)))
    return whole_names(words, names)[:MAX_MENTIONS]


def whole_names(words: list[str], names: Iterable[str]) -> list[str]:
    """`words` with all the content words of one of the question's names given as that name, where its first word
    stood: "Passages that mention Dorothy Shea", never "Dorothy and Shea", as if they were two people."""
    out = list(words)
    for name in names:
        name = name.removesuffix("'s").removesuffix("’s")
        parts = [word.removesuffix("'s").removesuffix("’s") for word in WORD.findall(name) if terms(word)]
        if len(parts) > 1 and all(part in out for part in parts):
            at = min(out.index(part) for part in parts)
            out = [w for w in out[:at] if w not in parts] + [name] + [w for w in out[at:] if w not in parts]
    return out


@lru_cache(maxsize=256)
def _question_words(question: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The question's words with their stems, made once per question rather than once per passage."""
    return tuple((word, tuple(terms(word))) for word in WORD.findall(question))


def relation(
    question: QuestionAnalysis,
    text: str,
    similarity: float,
    min_similarity: float,
    present: frozenset[str] | None = None,
) -> tuple[list[str], bool]:
    """(the question's names and words the passage mentions, whether it is related enough to offer on abstaining);
    `present`: the passage's terms, when known."""
    mentions = mentioned_words(question.text, text, question.names, present)
    named = {word for name in question.names for word in WORD.findall(name)}
    names = len(named & {word for mention in mentions for word in WORD.findall(mention)})
    return mentions, bool(mentions) and (similarity >= min_similarity or names >= 2)
