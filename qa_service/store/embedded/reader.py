"""The read side of the embedded store: one SQLite read transaction, so every call sees one committed state."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from qa_service.errors import IndexMismatchError
from qa_service.schemas import Document, DocumentSummary, Filters, SourceCount
from qa_service.store.base import (
    DocumentState,
    PreparedDocument,
    StoredChunk,
    StoredSentence,
    StoreStats,
    batched,
    decode_phrases,
)
from qa_service.store.embedded.dense_cache import chunk_vectors
from qa_service.store.embedded.filters import chunk_selection, condition
from qa_service.store.embedded.schema import meta
from qa_service.store.typos import TYPO_PREFIX, variants

if TYPE_CHECKING:
    from qa_service.store.embedded.store import EmbeddedStore


class EmbeddedReader:
    """The read side of one transaction (see `StoreReader`)."""

    native_fusion = False  # FAISS and FTS5 are separate engines: the retriever fuses their rankings

    def __init__(self, store: EmbeddedStore, db: sqlite3.Connection, generation: int) -> None:
        self._store = store
        self._db = db
        self.generation = generation

    def stats(self) -> StoreStats:
        values = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('documents', 'chunks', 'sentences')"))
        return StoreStats(
            documents=int(values["documents"]),
            chunks=int(values["chunks"]),
            sentences=int(values["sentences"]),
            generation=self.generation,
        )

    def documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        out: dict[str, Document] = {}
        for part in batched(list(dict.fromkeys(doc_ids))):
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                "SELECT doc_id, text, title, date, source, content_hash, label, url, author FROM documents "
                f"WHERE doc_id IN ({marks})",
                part,
            )
            for doc_id, text, title, date, source, content_hash, label, url, author in rows:
                out[doc_id] = Document(
                    doc_id=doc_id,
                    text=text,
                    title=title,
                    date=date,
                    source=source,
                    url=url,
                    author=author,
                    content_hash=content_hash,
                    label=label or "",
                )
        return out

    def summaries(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        doc_ids: Sequence[str] | None = None,
        filters: Filters | None = None,
    ) -> list[DocumentSummary]:
        columns = "SELECT doc_id, title, label, date, source, chunk_count FROM documents d"
        if doc_ids is not None:
            wanted = list(dict.fromkeys(doc_ids))[:1000]
            marks = ",".join("?" * len(wanted))
            rows = self._db.execute(f"{columns} WHERE doc_id IN ({marks}) ORDER BY id", wanted)
        else:
            where, params = condition(filters or Filters())
            page = (-1 if limit is None else limit, offset)
            rows = self._db.execute(f"{columns} WHERE {where} ORDER BY id LIMIT ? OFFSET ?", (*params, *page))
        return [
            DocumentSummary(doc_id=doc_id, title=title, label=label or "", date=date, source=source, chunks=chunks)
            for doc_id, title, label, date, source, chunks in rows
        ]

    def sources(self, filters: Filters | None = None) -> list[SourceCount]:
        """Outlets with their number of articles, most articles first (null: outlet not known)."""
        where, params = condition(filters or Filters())
        rows = self._db.execute(
            f"SELECT d.source, count(*) FROM documents d WHERE {where} GROUP BY d.source ORDER BY 2 DESC, 1", params
        )
        return [SourceCount(source=source, documents=count) for source, count in rows]

    def states(self, doc_ids: Sequence[str]) -> dict[str, DocumentState]:
        out: dict[str, DocumentState] = {}
        for part in batched(list(dict.fromkeys(doc_ids))):
            marks = ",".join("?" * len(part))
            query = f"SELECT doc_id, content_hash, origin FROM documents WHERE doc_id IN ({marks})"
            for doc_id, content_hash, origin in self._db.execute(query, part):
                out[doc_id] = DocumentState(doc_id, content_hash, origin)
        return out

    def ids_with_hashes(self, hashes: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for part in batched(list(dict.fromkeys(hashes))):
            marks = ",".join("?" * len(part))
            query = f"SELECT content_hash, doc_id FROM documents WHERE content_hash IN ({marks}) ORDER BY id"
            for content_hash, doc_id in self._db.execute(query, part):
                out.setdefault(content_hash, doc_id)
        return out

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        dense = self._store.dense.index
        if dense is None:
            return []
        if filters is None or not filters.active:
            return dense.search(vector, k)
        return dense.search(vector, k, chunk_selection(self._db, filters, int(meta(self._db, "chunks"))))

    def keyword_search(self, terms: Sequence[str], k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """FTS5's bm25 over the rarest query terms, as long as together they are in at most `keyword_max_postings`
        chunks: FTS5 scores every matching chunk (about 1 µs each), and a term in that many chunks barely ranks."""
        frequencies = self._term_counts(terms, "chunks")
        kept: list[str] = []
        total = 0
        for term in sorted((t for t in frequencies if frequencies[t] > 0), key=frequencies.__getitem__):
            total += frequencies[term]
            if total > self._store.keyword_max_postings:
                break
            kept.append(term)
        if not kept:
            return []
        query = " OR ".join(f'"{t}"' for t in kept)
        if filters is not None and filters.active:  # only the allowed documents' chunks are ranked
            where, params = condition(filters)
            rows = self._db.execute(
                "SELECT rowid, -bm25(chunk_fts) FROM chunk_fts WHERE chunk_fts MATCH ? AND rowid IN (SELECT c.chunk_id "
                f"FROM chunks c JOIN documents d ON d.id = c.doc WHERE {where}) ORDER BY rank LIMIT ?",
                (query, *params, k),
            )
        else:
            rows = self._db.execute(
                "SELECT rowid, -bm25(chunk_fts) FROM chunk_fts WHERE chunk_fts MATCH ? ORDER BY rank LIMIT ?",
                (query, k),
            )
        return [(int(r), float(s)) for r, s in rows]

    def _term_counts(self, terms: Sequence[str], column: str) -> dict[str, int]:
        unique = list(dict.fromkeys(terms))
        out: dict[str, int] = {}
        for part in batched(unique):
            marks = ",".join("?" * len(part))
            out.update(self._db.execute(f"SELECT term, {column} FROM terms WHERE term IN ({marks})", part).fetchall())
        return out

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
        out: dict[int, StoredChunk] = {}
        for part in batched(list(chunk_ids)):
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f'SELECT c.chunk_id, d.doc_id, c.start, c."end" FROM chunks c JOIN documents d ON d.id = c.doc '
                f"WHERE c.chunk_id IN ({marks})",
                part,
            )
            for chunk_id, doc_id, start, end in rows:
                out[chunk_id] = StoredChunk(chunk_id, doc_id, start, end)
        return out

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        return chunk_vectors(self._db, chunk_ids)

    def sentences(
        self, spans: Sequence[tuple[str, int, int]], *, margin: int = 1, vectors: bool = True
    ) -> dict[str, list[StoredSentence]]:
        wanted: dict[str, set[int]] = {}
        for doc_id, start, end in spans:
            row = self._db.execute(
                "SELECT d.id, min(s.ordinal), max(s.ordinal) FROM documents d JOIN sentences s ON s.doc = d.id "
                'WHERE d.doc_id = ? AND s.start < ? AND s."end" > ?',
                (doc_id, end, start),
            ).fetchone()
            if row is None or row[1] is None:
                continue
            wanted.setdefault(doc_id, set()).update(range(row[1] - margin, row[2] + margin + 1))
        out: dict[str, list[StoredSentence]] = {}
        column = "s.vector" if vectors else "NULL"
        for doc_id, ordinals in wanted.items():
            rows = self._db.execute(
                f'SELECT s.ordinal, s.start, s."end", {column}, s.phrases, s.terms FROM sentences s '
                "JOIN documents d ON d.id = s.doc WHERE d.doc_id = ? AND s.ordinal BETWEEN ? AND ? ORDER BY s.ordinal",
                (doc_id, min(ordinals), max(ordinals)),
            )
            out[doc_id] = [
                StoredSentence(
                    doc_id,
                    ordinal,
                    start,
                    end,
                    None if blob is None else np.frombuffer(blob, dtype=np.float16).astype(np.float32),
                    decode_phrases(phrases, start),
                    None if words is None else frozenset(words.split()),
                )
                for ordinal, start, end, blob, phrases, words in rows
                if ordinal in ordinals
            ]
        return out

    def sentence_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        total = int(meta(self._db, "sentences"))
        return total, self._term_counts(terms, "sentences")

    def mentions(self, term: str) -> bool:
        """The word, else any stored chunk term among its typos: those share its first two characters, so one
        range of the terms table holds them all."""
        if self._term_counts([term], "chunks").get(term, 0) > 0:
            return True
        typos = variants(term)
        if not typos:
            return False
        prefix = term[:TYPO_PREFIX]
        rows = self._db.execute(
            "SELECT term FROM terms WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ? AND chunks > 0",
            (prefix, prefix + "\uffff", len(term) - 1, len(term) + 1),
        )
        return any(other in typos for (other,) in rows)

    def export(self, batch: int = 100) -> Iterator[list[PreparedDocument]]:
        """Every document with its rows and vectors as `write` takes them, `batch` documents at a time, in the
        order added (a copy into another store embeds and analyses nothing again). Documents an earlier version
        stored without label or sentence terms must be completed first (`DocumentStore.complete_documents`)."""
        dimension = self._store.config.dimension
        cursor = self._db.execute(
            "SELECT id, doc_id, text, title, date, source, origin, content_hash, label, url, author FROM documents "
            "ORDER BY id"
        )
        while rows := cursor.fetchmany(batch):
            out = []
            for doc, doc_id, text, title, date, source, origin, content_hash, label, url, author in rows:
                chunk_rows = self._db.execute(
                    'SELECT c.start, c."end", c.vector, f.terms FROM chunks c JOIN chunk_fts f ON f.rowid = c.chunk_id '
                    "WHERE c.doc = ? ORDER BY c.chunk_id",
                    (doc,),
                ).fetchall()
                sentence_rows = self._db.execute(
                    'SELECT start, "end", vector, terms, phrases FROM sentences WHERE doc = ? ORDER BY ordinal', (doc,)
                ).fetchall()
                if label is None or any(r[3] is None for r in sentence_rows):
                    raise IndexMismatchError(
                        f"document {doc_id!r} was stored by an earlier version without its label or sentence terms; "
                        "open the index once with this version (e.g. `qa-service stats`) to complete it"
                    )
                chunk_vectors = np.frombuffer(b"".join(r[2] for r in chunk_rows), dtype=np.float32)
                sentence_vectors = np.frombuffer(b"".join(r[2] for r in sentence_rows), dtype=np.float16)
                out.append(
                    PreparedDocument(
                        document=Document(
                            doc_id=doc_id,
                            text=text,
                            title=title,
                            date=date,
                            source=source,
                            url=url,
                            author=author,
                            content_hash=content_hash,
                            label=label,
                        ),
                        origin=origin,
                        label=label,
                        chunks=[(r[0], r[1]) for r in chunk_rows],
                        chunk_terms=[r[3].split() for r in chunk_rows],
                        chunk_vectors=chunk_vectors.reshape(len(chunk_rows), dimension),
                        sentences=[(r[0], r[1]) for r in sentence_rows],
                        sentence_terms=[r[3].split() for r in sentence_rows],
                        sentence_vectors=sentence_vectors.reshape(len(sentence_rows), dimension),
                        sentence_phrases=[decode_phrases(r[4], r[0]) for r in sentence_rows],
                    )
                )
            yield out
