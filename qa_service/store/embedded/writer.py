"""The rows of one write transaction: insert a prepared document, delete one with everything derived from it,
keep the term counts, the row counts, the generation and the change log in step.

Each function runs inside the caller's `BEGIN IMMEDIATE` transaction, so a kill at any instant leaves the
database at the last committed write. Nothing here analyses text: terms and phrases arrive prepared, and a
delete subtracts the terms the rows it removes were stored with.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence

import numpy as np

from qa_service.store.base import Phrases, PreparedDocument, batched, encode_phrases
from qa_service.store.embedded.schema import meta, set_meta

KEEP_CHANGES = 20_000  # generations of change log kept; a process further behind rebuilds its dense index


class Tally:
    """What one transaction changes in the counts: rows per kind, and chunks / sentences per term."""

    def __init__(self) -> None:
        self.rows = Counter[str]()
        self.chunk_terms = Counter[str]()
        self.sentence_terms = Counter[str]()


def insert(db: sqlite3.Connection, prepared: PreparedDocument, generation: int, tally: Tally) -> None:
    d = prepared.document
    cursor = db.execute(
        "INSERT INTO documents (doc_id, text, title, date, source, origin, content_hash, chunk_count, "
        "sentence_count, label, url, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            d.doc_id,
            d.text,
            d.title,
            d.date,
            d.source,
            prepared.origin,
            d.content_hash,
            len(prepared.chunks),
            len(prepared.sentences),
            prepared.label,
            d.url,
            d.author,
        ),
    )
    doc = cursor.lastrowid
    vectors = np.ascontiguousarray(prepared.chunk_vectors, dtype=np.float32)
    for (start, end), vector, words in zip(prepared.chunks, vectors, prepared.chunk_terms, strict=True):
        chunk_id = db.execute(
            'INSERT INTO chunks (doc, start, "end", vector) VALUES (?, ?, ?, ?)',
            (doc, start, end, vector.tobytes()),
        ).lastrowid
        db.execute("INSERT INTO chunk_fts (rowid, terms) VALUES (?, ?)", (chunk_id, " ".join(words)))
        db.execute("INSERT INTO changes VALUES (?, ?, 1)", (generation, chunk_id))
        tally.chunk_terms.update(set(words))
    halves = np.asarray(prepared.sentence_vectors, dtype=np.float16)
    rows = []
    for i, ((start, end), vector, words) in enumerate(
        zip(prepared.sentences, halves, prepared.sentence_terms, strict=True)
    ):
        present = sorted(set(words))  # presence is what a document frequency counts
        rows.append(
            (doc, i, start, end, vector.tobytes(), " ".join(present), encode_phrases(prepared.phrases_of(i), start))
        )
        tally.sentence_terms.update(present)
    db.executemany(
        'INSERT INTO sentences (doc, ordinal, start, "end", vector, terms, phrases) VALUES (?, ?, ?, ?, ?, ?, ?)', rows
    )
    tally.rows.update(documents=1, chunks=len(prepared.chunks), sentences=len(prepared.sentences))


def delete(db: sqlite3.Connection, doc: int, generation: int, tally: Tally) -> None:
    """Remove a document's rows, subtracting the terms they were stored with."""
    chunk_ids = [r[0] for r in db.execute("SELECT chunk_id FROM chunks WHERE doc = ?", (doc,))]
    for part in batched(chunk_ids):
        marks = ",".join("?" * len(part))
        for (words,) in db.execute(f"SELECT terms FROM chunk_fts WHERE rowid IN ({marks})", part):
            tally.chunk_terms.subtract(set(words.split()))
        db.execute(f"DELETE FROM chunk_fts WHERE rowid IN ({marks})", part)
    sentences = 0
    for (words,) in db.execute("SELECT terms FROM sentences WHERE doc = ?", (doc,)):
        if words is None:  # written before sentence terms were stored, and not completed since
            raise RuntimeError(f"document row {doc} has sentences without stored terms: complete_documents() first")
        tally.sentence_terms.subtract(words.split())
        sentences += 1
    db.executemany("INSERT INTO changes VALUES (?, ?, 0)", [(generation, c) for c in chunk_ids])
    db.execute("DELETE FROM chunks WHERE doc = ?", (doc,))
    db.execute("DELETE FROM sentences WHERE doc = ?", (doc,))
    db.execute("DELETE FROM documents WHERE id = ?", (doc,))
    tally.rows.subtract(documents=1, chunks=len(chunk_ids), sentences=sentences)


def finish(db: sqlite3.Connection, generation: int, tally: Tally) -> None:
    """Apply the term and row counts, the new generation, and trim the change log."""
    chunk_terms, sentence_terms = tally.chunk_terms, tally.sentence_terms
    changed = set(chunk_terms) | set(sentence_terms)
    db.executemany(
        "INSERT INTO terms VALUES (?, ?, ?) ON CONFLICT (term) DO UPDATE SET "
        "chunks = chunks + excluded.chunks, sentences = sentences + excluded.sentences",
        [(t, chunk_terms[t], sentence_terms[t]) for t in changed if chunk_terms[t] or sentence_terms[t]],
    )
    gone = [t for t in changed if chunk_terms[t] < 0 or sentence_terms[t] < 0]
    for part in batched(gone):
        marks = ",".join("?" * len(part))
        db.execute(f"DELETE FROM terms WHERE term IN ({marks}) AND chunks <= 0 AND sentences <= 0", part)
    for key in ("documents", "chunks", "sentences"):
        set_meta(db, key, int(meta(db, key)) + tally.rows[key])
    set_meta(db, "generation", generation)
    oldest = generation - KEEP_CHANGES
    if oldest > int(meta(db, "changes_from")):
        db.execute("DELETE FROM changes WHERE generation <= ?", (oldest,))
        set_meta(db, "changes_from", oldest)


def set_phrases(db: sqlite3.Connection, items: Sequence[tuple[str, int, Phrases]]) -> int:
    """Phrases of existing sentences; returns how many sentences were found."""
    updated = 0
    for doc_id, ordinal, phrases in items:
        row = db.execute(
            "SELECT s.rowid, s.start FROM sentences s JOIN documents d ON d.id = s.doc "
            "WHERE d.doc_id = ? AND s.ordinal = ?",
            (doc_id, ordinal),
        ).fetchone()
        if row is not None:
            db.execute("UPDATE sentences SET phrases = ? WHERE rowid = ?", (encode_phrases(phrases, row[1]), row[0]))
            updated += 1
    return updated


def complete(db: sqlite3.Connection, items: Sequence[tuple[str, str, Sequence[Sequence[str]]]]) -> int:
    """Label and sentence terms of documents stored without them; the sentence term counts were kept at the time
    (the old delete recomputed them), so only the rows are filled in."""
    updated = 0
    for doc_id, label, sentence_terms in items:
        row = db.execute("SELECT id, sentence_count FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            continue
        doc, count = row
        if len(sentence_terms) != count:
            raise ValueError(f"{doc_id}: {len(sentence_terms)} sentences' terms given for {count} sentences")
        db.execute("UPDATE documents SET label = ? WHERE id = ?", (label, doc))
        db.executemany(
            "UPDATE sentences SET terms = ? WHERE doc = ? AND ordinal = ?",
            [(" ".join(sorted(set(words))), doc, i) for i, words in enumerate(sentence_terms)],
        )
        updated += 1
    return updated
