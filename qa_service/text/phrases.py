"""Typed phrases of sentences: spaCy's entities and noun chunks, found once when a sentence is indexed.

Answer selection asks of every candidate sentence "does it hold a person / a date / a figure the question does
not already give?"; parsing 30-60 candidate sentences per question would cost 0.2-0.4 s, so each sentence is
typed once at ingest (`type_sentences`, batched with `nlp.pipe`) and the phrases are stored beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

from qa_service.budget import checkpoint
from qa_service.store.base import Phrases, TypedSpan

BATCH = 64  # sentences per nlp.pipe batch
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
    for i, doc in enumerate(nlp.pipe(texts, batch_size=BATCH, disable=["lemmatizer"])):
        checkpoint("finding phrases")  # a document's CPU budget (budget.py), when one is active
        shift = offsets[i] if offsets is not None else 0
        found: dict[tuple[int, int], str] = {}
        for ent in doc.ents:
            found[(ent.start_char, ent.end_char)] = ent.label_
        for chunk in doc.noun_chunks:
            if chunk.root.pos_ == "PRON":
                continue
            tokens = [t for t in chunk if not (t.i == chunk.start and t.lower_ in _DETERMINERS)]
            if tokens:
                span = (tokens[0].idx, chunk.end_char)
                if not any(s <= span[0] and span[1] <= e for s, e in found):
                    found.setdefault(span, NOUN_PHRASE)
        out.append(tuple(TypedSpan(s + shift, e + shift, label) for (s, e), label in sorted(found.items())))
    return out
