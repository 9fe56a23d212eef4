"""`qa-service migrate --to milvus`: copy the embedded store into Milvus without embedding anything again.

Rows and vectors are read from the SQLite file in batches of documents (chunk vectors float32, sentence vectors
float16, the chunks' keyword terms as FTS5 holds them) and written as `PreparedDocument`s, so Milvus gets exactly
what the embedded store had. Sentence terms are recomputed from the text (`analysis.terms`, no model). A document
already in Milvus with the same content hash is skipped, so an interrupted migration resumes where it stopped.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa_service.analysis import terms
from qa_service.config import Settings
from qa_service.errors import IndexMismatchError
from qa_service.schemas import Document
from qa_service.store.base import PreparedDocument
from qa_service.store.embedded import DB_NAME, EmbeddedStore, stored_config


@dataclass
class MigrationReport:
    copied: int = 0
    unchanged: int = 0
    chunks: int = 0
    sentences: int = 0
    seconds: float = 0.0


def embedded_documents(db: sqlite3.Connection, dimension: int, batch: int) -> Iterator[list[PreparedDocument]]:
    """The embedded store's documents with their rows and vectors, `batch` documents at a time."""
    cursor = db.execute("SELECT id, doc_id, text, title, date, source, origin, content_hash FROM documents ORDER BY id")
    while rows := cursor.fetchmany(batch):
        out = []
        for doc, doc_id, text, title, date, source, origin, content_hash in rows:
            chunk_rows = db.execute(
                'SELECT c.start, c."end", c.vector, f.terms FROM chunks c JOIN chunk_fts f ON f.rowid = c.chunk_id '
                "WHERE c.doc = ? ORDER BY c.chunk_id",
                (doc,),
            ).fetchall()
            sentence_rows = db.execute(
                'SELECT start, "end", vector FROM sentences WHERE doc = ? ORDER BY ordinal', (doc,)
            ).fetchall()
            chunk_vectors = np.frombuffer(b"".join(r[2] for r in chunk_rows), dtype=np.float32)
            sentence_vectors = np.frombuffer(b"".join(r[2] for r in sentence_rows), dtype=np.float16)
            out.append(
                PreparedDocument(
                    document=Document(
                        doc_id=doc_id, text=text, title=title, date=date, source=source, content_hash=content_hash
                    ),
                    origin=origin,
                    chunks=[(r[0], r[1]) for r in chunk_rows],
                    chunk_terms=[r[3].split() for r in chunk_rows],
                    chunk_vectors=chunk_vectors.reshape(len(chunk_rows), dimension),
                    sentences=[(r[0], r[1]) for r in sentence_rows],
                    sentence_terms=[terms(text[r[0] : r[1]]) for r in sentence_rows],
                    sentence_vectors=sentence_vectors.reshape(len(sentence_rows), dimension),
                )
            )
        yield out


def migrate_to_milvus(settings: Settings, *, batch: int = 100, progress: bool = True) -> MigrationReport:
    """Copy the embedded store in `settings.index_dir` into the Milvus store the QA_MILVUS_* settings name."""
    from tqdm import tqdm

    from qa_service.store import build_store

    source = Path(settings.index_dir) / DB_NAME
    if not EmbeddedStore.exists(settings.index_dir):
        raise IndexMismatchError(f"no embedded store to migrate: {source} does not exist (QA_INDEX_DIR)")
    started = time.perf_counter()
    report = MigrationReport()
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        db.execute("BEGIN")  # one read transaction: a consistent copy even while the embedded store is written
        config = stored_config(db)
        total = db.execute("SELECT count(*) FROM documents").fetchone()[0]
        target = build_store(settings.model_copy(update={"store": "milvus"}), config).open()
        try:
            with tqdm(total=total, unit="doc", desc="migrate", disable=not progress, dynamic_ncols=True) as bar:
                for prepared in embedded_documents(db, config.dimension, batch):
                    with target.read() as reader:
                        states = reader.states([p.document.doc_id for p in prepared])
                    fresh = [
                        p
                        for p in prepared
                        if (state := states.get(p.document.doc_id)) is None
                        or state.content_hash != p.document.content_hash
                    ]
                    if fresh:
                        target.write(fresh)
                    report.copied += len(fresh)
                    report.unchanged += len(prepared) - len(fresh)
                    report.chunks += sum(len(p.chunks) for p in fresh)
                    report.sentences += sum(len(p.sentences) for p in fresh)
                    bar.update(len(prepared))
            target.flush()
        finally:
            target.close()
        db.execute("COMMIT")
    finally:
        db.close()
    report.seconds = time.perf_counter() - started
    return report
