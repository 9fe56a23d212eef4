"""Sentences and their typed phrases: spaCy's sentence boundaries, entities and noun chunks, found once when a
document is indexed.

Answer selection asks of every candidate sentence "does it hold a person / a date / a figure the question does
not already give?"; parsing 30-60 candidate sentences per question would cost 0.2-0.4 s, so each sentence is
typed once at ingest and the phrases are stored beside it. The parse that types them also says where they end
(`read_sentences`): one pass over the text, where a second splitter (pySBD) cost another 10% of ingest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from qa_service.budget import checkpoint
from qa_service.store.base import Phrases, TypedSpan

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.tokens import Span as SpacySpan

BATCH = 64  # sentences (or paragraphs) per nlp.pipe batch
# spaCy in this process (n_process=1), deliberately, for bulk ingest too. Measured on the 65 news articles'
# paragraphs (2-core AMD EPYC shared with a training job, 2026-12-07): one process 53-55 ms of CPU an article,
# n_process=2 61 ms (self + children: each child loads the model and every Doc is pickled back) and no faster in
# wall time, because the bulk path already runs spaCy in a thread of its own beside the model's pool on both
# cores (`Indexer._ahead`). One pipe over a whole batch's paragraphs instead of one per article: 48-50 ms (-8%),
# not taken: a document's CPU budget is charged per document.
SPACY_PROCESSES = 1
UNUSED = ["lemmatizer"]  # nothing reads lemmas of stored text (terms use their own stemmer)
WINDOW = 10_000  # characters of one paragraph parsed at once: a 200,000-character line is read in pieces
# ". " after a lower-case word of two letters or more, before a capital, digit or quote: not "U.S. Army"
_CLEAR_SENTENCE_END = re.compile(r"[a-z]{2}[.!?][\"”’)]*\s+(?=[\"“A-Z0-9])")
NOUN_PHRASE = "NP"  # the label of a noun chunk that is no entity ("the delegation", "a federal judge")
_DETERMINERS = ("the", "a", "an")


def type_sentences(texts: Sequence[str], offsets: Sequence[int] | None = None) -> list[Phrases]:
    """The entities and noun chunks (without a leading article, none inside an entity) of each sentence, shifted
    by its offset in the document (0 when not given)."""
    if not texts:
        return []
    from qa_service.text.nlp import load_pipeline

    nlp = load_pipeline()
    out: list[Phrases] = []
    for i, doc in enumerate(nlp.pipe(texts, batch_size=BATCH, disable=UNUSED)):
        checkpoint("finding phrases")  # a document's CPU budget (budget.py), when one is active
        out.extend(_typed(doc, [doc[:]], offsets[i] if offsets is not None else 0))
    return out


def read_sentences(text: str, *, typed: bool = True) -> tuple[list[tuple[int, int]], list[Phrases]]:
    """(start, end) of each sentence of `text` and its typed phrases (document offsets), from one parse; with
    `typed=False` no phrases (an empty list).

    Paragraphs never merge; the parser, not a rule list, says where a sentence ends ("U.S." or "1.7" does not).
    """
    pieces = [
        (start, end) for paragraph in re.finditer(r"[^\n]+", text) for start, end in _windows(text, *paragraph.span())
    ]
    if not pieces:
        return [], []
    from qa_service.text.nlp import load_pipeline

    nlp = load_pipeline()
    spans: list[tuple[int, int]] = []
    phrases: list[Phrases] = []
    docs = nlp.pipe(
        (text[start:end] for start, end in pieces), batch_size=BATCH, disable=UNUSED, n_process=SPACY_PROCESSES
    )
    for (shift, _end), doc in zip(pieces, docs, strict=True):
        checkpoint("reading sentences")
        kept = []
        for sentence in doc.sents:
            raw = sentence.text
            stripped = raw.strip()
            if not stripped:
                continue
            start = shift + sentence.start_char + len(raw) - len(raw.lstrip())
            spans.append((start, start + len(stripped)))
            kept.append(sentence)
        if kept and typed:
            phrases.extend(_typed(doc, kept, shift))
    return spans, phrases


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`: the boundaries `read_sentences` stores."""
    return read_sentences(text, typed=False)[0]


def _typed(doc: Doc, sentences: Sequence[SpacySpan], shift: int) -> list[Phrases]:
    """The entities and noun chunks of each of `doc`'s `sentences` (without a leading article, none inside an
    entity), shifted. The doc's entities and noun chunks are found once: spaCy's `Span.noun_chunks` walks the
    whole doc again for every sentence (a paragraph of five sentences was walked five times)."""
    ents = list(doc.ents)
    chunks = list(doc.noun_chunks)
    out: list[Phrases] = []
    for sentence in sentences:
        first, last = sentence.start, sentence.end
        found: dict[tuple[int, int], str] = {}
        for ent in ents:
            if ent.start >= first and ent.end <= last:
                found[(ent.start_char, ent.end_char)] = ent.label_
        for chunk in chunks:
            if chunk.start < first or chunk.end > last or chunk.root.pos_ == "PRON":
                continue
            tokens = [t for t in chunk if not (t.i == chunk.start and t.lower_ in _DETERMINERS)]
            if tokens:
                key = (tokens[0].idx, chunk.end_char)
                if not any(s <= key[0] and key[1] <= e for s, e in found):
                    found.setdefault(key, NOUN_PHRASE)
        out.append(tuple(TypedSpan(s + shift, e + shift, label) for (s, e), label in sorted(found.items())))
    return out


def _windows(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """A paragraph in pieces of at most WINDOW characters, cut where a sentence clearly ends (else at a space):
    the parser's memory grows with what it is given, and a real paragraph is far shorter and goes whole."""
    while end - start > WINDOW:
        limit = start + WINDOW
        cut = None
        for match in _CLEAR_SENTENCE_END.finditer(text, start + WINDOW // 2, limit):
            cut = match.end()
        if cut is None:
            space = text.rfind(" ", start + 1, limit)
            cut = space + 1 if space > start else limit
        yield start, cut
        start = cut
    yield start, end
