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
# cores (`ingest/pipeline.read_ahead`). One pipe over a whole batch's paragraphs instead of one per article: 48-50 ms
# (-8%), not taken: a document's CPU budget is charged per document.
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
    found: list[_Sentence] = []
    docs = nlp.pipe(
        (text[start:end] for start, end in pieces), batch_size=BATCH, disable=UNUSED, n_process=SPACY_PROCESSES
    )
    for (shift, _end), doc in zip(pieces, docs, strict=True):
        checkpoint("reading sentences")
        kept, bounds = [], []
        for sentence in doc.sents:
            raw = sentence.text
            stripped = raw.strip()
            if not stripped:
                continue
            start = shift + sentence.start_char + len(raw) - len(raw.lstrip())
            bounds.append((start, start + len(stripped)))
            kept.append(sentence)
        each = _typed(doc, kept, shift) if kept and typed else [() for _ in kept]
        found += [(start, end, phrases) for (start, end), phrases in zip(bounds, each, strict=True)]
    found = _mend_quote_marks(text, found)
    return [(start, end) for start, end, _ in found], [phrases for _, _, phrases in found] if typed else []


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


_Sentence = tuple[int, int, Phrases]  # start, end, its phrases


def _mend_quote_marks(text: str, sentences: list[_Sentence]) -> list[_Sentence]:
    """Each quote mark on the side of the boundary where its quote is: the parser starts a sentence with the closing
    mark of the one before when no space follows it ('...a historic step."The delegation ...'), and an answer
    then opens with a quote mark that quotes nobody. A sentence the move leaves without its end ('"(AP)' ->
    '(AP)') joins the next one; offsets stay the document's, phrases stay inside their sentence."""
    out: list[_Sentence] = []
    fragment = False  # the last sentence lost its closing mark and does not end a sentence
    for start, end, typed in sentences:
        if out and "\n" not in text[out[-1][1] : start]:
            prev_start, prev_end, prev_typed = out[-1]
            if fragment:
                out[-1] = (prev_start, end, prev_typed + typed)
                fragment = False
                continue
            if _closes(text, start):
                out[-1] = (prev_start, start + 1, prev_typed)
                start = _skip_space(text, start + 1, end)
                typed = tuple(p for p in typed if p.end > start)
                typed = tuple(TypedSpan(max(p.start, start), p.end, p.label) for p in typed)
                if start == end:
                    continue
                fragment = not _SENTENCE_END.search(text, start, end)
            elif _opens(text, prev_end - 1):
                new_end = len(text[prev_start : prev_end - 1].rstrip()) + prev_start
                start = prev_end - 1
                prev_typed = tuple(
                    TypedSpan(p.start, min(p.end, new_end), p.label) for p in prev_typed if p.start < new_end
                )
                if new_end > prev_start:
                    out[-1] = (prev_start, new_end, prev_typed)
                else:
                    out.pop()
        else:
            fragment = False
        out.append((start, end, typed))
    return out


_SENTENCE_END = re.compile(r"[.!?…][\"”’')\]]*$")


def _quote_marks_before(text: str, at: int, marks: str) -> str:
    """The quote marks of `marks` in the paragraph before `at`, in order."""
    paragraph = text.rfind("\n", 0, at) + 1
    return "".join(c for c in text[paragraph:at] if c in marks)


def _closes(text: str, at: int) -> bool:
    """Whether the mark at `at` closes a quote opened before it in the paragraph."""
    mark = text[at]
    if mark == "”":
        return True  # never opens
    if mark == '"':  # glued to the sentence before, after an odd number of them in the paragraph
        return text[at - 1 : at].strip() != "" and len(_quote_marks_before(text, at, '"')) % 2 == 1
    if mark in "’'":  # also an apostrophe: only after an opening single quote that no mark closed since
        return _single_quote_open(text, at)
    return False


def _opens(text: str, at: int) -> bool:
    """Whether the mark at `at` (a sentence's last character) opens a quote: it belongs to the next sentence."""
    mark = text[at] if at >= 0 else ""
    if mark in "“‘":
        return True  # never closes
    if mark == '"':  # after a space, and an even number of them in the paragraph before it
        return text[at - 1 : at].isspace() and len(_quote_marks_before(text, at, '"')) % 2 == 0
    return False


def _single_quote_open(text: str, at: int) -> bool:
    paragraph = text.rfind("\n", 0, at) + 1
    for i in range(at - 1, paragraph - 1, -1):
        c = text[i]
        if c == "‘" or (c == "'" and (i == 0 or not text[i - 1].isalnum()) and text[i + 1 : i + 2].isalnum()):
            return True
        if c in "’'" and text[i - 1 : i].strip() and not text[i + 1 : i + 2].isalnum():
            return False  # a closing single quote (not an apostrophe inside a word)
    return False


def _skip_space(text: str, start: int, end: int) -> int:
    while start < end and text[start].isspace():
        start += 1
    return start


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
