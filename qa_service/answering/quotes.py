"""Quotes and citations: exact document offsets, cut to the answer's length around the words that matter."""

from __future__ import annotations

import re

from qa_service.answering.context import AnswerContext
from qa_service.schemas import Citation, Document
from qa_service.text.terms import terms


def fit_quote(
    context: AnswerContext, doc_id: str, start: int, end: int, span: tuple[int, int] | None, max_chars: int
) -> tuple[int, int]:
    """Cut an over-long quote to the word window that holds the answer span and most question words, its ends
    moved to a clause boundary (a comma, semicolon, colon or dash) where one is near, never inside a word."""
    if end - start <= max_chars:
        return start, end
    max_chars -= 2 * len(ELLIPSIS)  # room for the marks `shown` puts where it was cut
    text = context.documents[doc_id].text
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    # each word analysed once: `terms` never joins two words, so a window's terms are its words' terms
    word_terms = [frozenset(terms(text[first:last])) for first, last in words]
    best, best_key = (words[0][0], words[0][1]), (-1, -1.0)
    for i, (first, _) in enumerate(words):
        j = i
        while j + 1 < len(words) and words[j + 1][1] - first <= max_chars:
            j += 1
        holds_span = span is not None and first <= span[0] and span[1] <= words[j][1]
        key = (int(holds_span), context.overlap(frozenset().union(*word_terms[i : j + 1])))
        if key > best_key:
            best, best_key = (first, words[j][1]), key
    return _clause_ends(text, best[0], best[1], start, end, span)


_CLAUSE_END = re.compile(r"[,;:—–]\s|\s[—–]\s")


def _clause_ends(
    text: str, first: int, last: int, start: int, end: int, span: tuple[int, int] | None
) -> tuple[int, int]:
    """Move a cut end back to the last clause boundary and a cut start past the first one, when each stays
    within the outer 40% of the window and keeps the answer span inside."""
    reach = int(0.4 * (last - first))
    keep_from = span[0] if span else last
    keep_to = span[1] if span else first
    if last < end:
        cuts = [m.start() + 1 for m in _CLAUSE_END.finditer(text, max(first, last - reach), last)]
        cuts = [c for c in cuts if c >= keep_to]
        if cuts:
            last = cuts[-1]
    if first > start:
        cuts = [m.end() for m in _CLAUSE_END.finditer(text, first, min(last, first + reach))]
        cuts = [c for c in cuts if c <= keep_from]
        if cuts:
            first = cuts[0]
    while last > first and not text[last - 1].isalnum() and text[last - 1] not in ")\"'’”.!?%":
        last -= 1  # "... Khurram Dastgir Khan, former" -> "... Khurram Dastgir Khan"
    return first, last


ELLIPSIS = "… "


def shown(text: str, start: int, end: int, whole_start: int, whole_end: int) -> str:
    """The answer as shown: `text[start:end]`, with "…" where it was cut from the quote `whole_start:whole_end`."""
    before = ELLIPSIS if start > whole_start else ""
    after = ELLIPSIS[::-1] if end < whole_end else ""
    return f"{before}{text[start:end]}{after}"


def sentence_around(context: AnswerContext, doc_id: str, start: int, end: int) -> tuple[int, int]:
    """The sentence(s) holding a span found by another answerer (a reader, an LLM), for the quote."""
    inside = context.sentences_in(doc_id, start, end)
    if not inside:
        return start, end
    return min(start, inside[0].start), max(end, inside[-1].end)


def make_citation(number: int, document: Document, start: int, end: int, score: float) -> Citation:
    """A citation whose quote is, by construction, the document's text at start:end; its label is the one the
    indexer stored (empty: the title, by `Citation`'s default)."""
    return Citation(
        id=number,
        doc_id=document.doc_id,
        title=document.title,
        label=document.label,
        date=document.date,
        source=document.source,
        start=start,
        end=end,
        quote=document.text[start:end],
        score=round(float(score), 4),
    )
