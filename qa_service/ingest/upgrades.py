"""Bringing an index written by an earlier version up to date: what it stored without (sentence phrases, labels,
sentence terms) derived from the stored text, no model; a one-off at the first start (`QAService.load`, `migrate`).
"""

from __future__ import annotations

from tqdm import tqdm

from qa_service.ingest.clean import document_label
from qa_service.store import UpgradableStore
from qa_service.text.phrases import type_sentences
from qa_service.text.terms import terms


def type_stored(store: UpgradableStore, *, batch: int = 512, progress: bool = True) -> int:
    """Type the sentences an earlier version stored without phrases (spaCy over the stored text, no embedding):
    a one-off migration at the first start, with a progress bar. Returns the sentences typed."""
    done = 0
    with tqdm(desc="typing stored sentences", unit="sentence", disable=not progress, dynamic_ncols=True) as bar:
        while rows := store.untyped_sentences(batch):
            with store.read() as reader:
                documents = reader.documents(sorted({doc_id for doc_id, _, _, _ in rows}))
            rows = [row for row in rows if row[0] in documents]
            phrases = type_sentences([documents[d].text[s:e] for d, _, s, e in rows], [s for _, _, s, _ in rows])
            if not rows or not store.set_phrases([(d, o, p) for (d, o, _, _), p in zip(rows, phrases, strict=True)]):
                break  # deleted meanwhile: nothing left that this loop can type
            done += len(rows)
            bar.update(len(rows))
    return done


def complete_stored(store: UpgradableStore, *, batch: int = 100) -> int:
    """Fill in what an earlier version stored without (each document's label, its sentences' terms), from the
    stored text: no model, a one-off at the first start. Returns the documents completed."""
    done = 0
    while ids := store.incomplete_documents(batch):
        with store.read() as reader:
            documents = reader.documents(ids)
            spans = [(doc_id, 0, len(d.text)) for doc_id, d in documents.items()]
            sentences = reader.sentences(spans, margin=0, vectors=False)
        items = [
            (
                doc_id,
                document_label(d.text, d.title, [(s.start, s.end) for s in sentences.get(doc_id, [])]),
                [terms(d.text[s.start : s.end]) for s in sentences.get(doc_id, [])],
            )
            for doc_id, d in documents.items()
        ]
        if not store.complete_documents(items):
            break  # deleted meanwhile: nothing left that this loop can complete
        done += len(items)
    return done
