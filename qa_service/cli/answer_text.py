"""An answer as plain lines of text (`qa-service ask`), saying what the chat page shows.

The page's parts, in its order: the answer with its short answer, the name behind "he" or "the treaty" from
another source, the sources by their labels, other articles that agree or differ, and for an abstention the
reason (names never mentioned, a language other than English) and the related passages, one line per article.
"""

from __future__ import annotations

from collections.abc import Iterable

from qa_service.schemas import Answer, Citation, DocumentSummary, Explanation, Passage, Source

Labelled = Citation | DocumentSummary

RELATED_SHOWN = 3  # articles listed under an abstention (the page shows three, then "Show more")
MENTIONS_NAMED = 3  # question words named in the related passages' heading


def label(item: Labelled) -> str:
    """The title, or the opening words in quotes (as the page sets them apart), never "untitled"."""
    return item.label if item.label_is_title else f"“{item.label}”"


def _where(item: Citation) -> str:
    dated = f" ({item.date})" if item.date else ""
    return f"{label(item)}{dated} · {item.doc_id} · chars {item.start}-{item.end}"


def list_words(words: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _short_answer(answer: Answer) -> list[str]:
    span = answer.answer_span
    if span is None:
        return []
    if span.citation > 1:
        return [f"Short answer: {span.text} (named in source [{span.citation}])"]
    return [f"Short answer: {span.text}"]


def _sources(sources: list[Source]) -> list[str]:
    if not sources:
        return []
    differs = any(s.relation == "differs" for s in sources)
    lines = ["The articles differ:" if differs else "Other articles agree:"]
    for source in sources:
        if source.relation == "differs":
            lines.append(f"  “{source.value}” instead of “{source.answer_value}” in {_where(source.citation)}")
        else:
            lines.append(f"  also stated by {_where(source.citation)}")
    return lines


def heading_words(related: list[Passage]) -> list[str]:
    """What the related passages mention, for their heading: each name or word once, a word of a name another
    passage mentions whole ("Shea" beside "Dorothy Shea") as that name (the page's `mentionedWords` alike)."""
    words = list(dict.fromkeys(w for passage in related for w in passage.mentions))

    def whole(word: str) -> str:
        return next((n for n in words if n != word and set(word.split()) <= set(n.split())), word)

    return list(dict.fromkeys(whole(w) for w in words))[:MENTIONS_NAMED]


def _related(passages: Iterable[Passage], labels: dict[str, DocumentSummary]) -> list[str]:
    related = [p for p in passages if p.related]
    if not related:
        return ["No passage in the articles is close to this question."]
    words = heading_words(related)
    by_article: dict[str, list[Passage]] = {}
    for passage in related:
        by_article.setdefault(passage.doc_id, []).append(passage)
    lines = [f"Passages that mention {list_words(words)}, though they do not answer it:"]
    for doc_id, found in list(by_article.items())[:RELATED_SHOWN]:
        known = labels.get(doc_id)
        name = f"{label(known)}{f' ({known.date})' if known.date else ''} · {doc_id}" if known else doc_id
        spans = ", ".join(f"{p.start}-{p.end}" for p in found)
        lines.append(f"  {name} · chars {spans}")
    if len(by_article) > RELATED_SHOWN:
        lines.append(f"  and {len(by_article) - RELATED_SHOWN} more (--json lists them)")
    return lines


def related_doc_ids(answer: Answer) -> list[str]:
    """The articles an abstention lists, whose labels `answer_lines` needs (passages carry only the doc_id)."""
    return list(dict.fromkeys(p.doc_id for p in answer.passages if p.related))[:RELATED_SHOWN]


def answer_lines(answer: Answer, labels: dict[str, DocumentSummary] | None = None) -> list[str]:
    """What `ask` prints; `labels` names the articles of related passages (see `related_doc_ids`)."""
    if not answer.answerable:
        lines = ["The articles don't answer this."]
        if answer.question_language:  # this explains it; "never mention “Qui”" would only confuse
            lines.append(
                f"Only English questions are understood; this one looks like another language "
                f"({answer.question_language})."
            )
        elif answer.not_found:
            lines.append(f"The articles never mention {list_words([f'“{n}”' for n in answer.not_found])}.")
        elif answer.reason:  # what the articles lack ("The articles name no judge."), or the filter did
            lines.append(answer.reason)
        if answer.outside_filter and not any(p.related for p in answer.passages):
            return [*lines, "Ask again without --source, --since and --until to see them."]
        return lines + _related(answer.passages, labels or {})
    lines = [answer.answer or "", *_short_answer(answer), "Sources:"]
    lines += [f"  [{c.id}] {_where(c)}" for c in answer.citations]
    return lines + _sources(answer.sources)


def explanation_lines(explanation: Explanation) -> list[str]:
    """`ask --explain`: the deciding rule, then each candidate with its scores (the chosen one marked)."""
    lines = [f"Why ({explanation.answerer}): {explanation.decision}"]
    if explanation.short_answer:
        lines.append(f"In bold: {explanation.short_answer}")
    for i, c in enumerate(explanation.candidates, 1):
        mark = "*" if c.chosen else " "
        reader = f" reader {c.reader:.2f}" if c.reader is not None else ""
        short = f" -> “{c.reader_answer}”" if c.reader_answer else ""
        features = " ".join(f"{k} {v:.2f}" for k, v in c.features.items())
        lines.append(f" {mark}{i}. [{c.doc_id}] score {c.score:.2f}{reader} ({features}){short}")
        sentence = c.sentence if len(c.sentence) <= 160 else c.sentence[:157].rstrip() + "..."
        lines.append(f"      {sentence}")
    return lines
