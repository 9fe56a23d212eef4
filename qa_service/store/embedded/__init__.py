"""The embedded store: SQLite (WAL) is the source of truth, FAISS the dense index derived from it.

Layout of the index folder:
    store.sqlite3 (+ -wal, -shm)  documents, chunks (+ float32 vectors), sentences (+ float16 vectors, terms and
                                  typed phrases), an FTS5 keyword index of the chunks, term counts, a change log
                                  and the settings
    dense.faiss                   the FAISS index as of some generation (a cache: rebuilt when missing or damaged)

SQLite's own locking serialises writers across processes (BEGIN IMMEDIATE); readers never wait for a writer.

One SQLite transaction adds or removes whole documents: their row, chunks, sentences, vectors, keyword rows and
term counts, and bumps the generation. A reader runs inside one read transaction, so it never sees half a
document; a kill at any instant leaves the database at the last committed transaction.

Modules: `schema` (tables, meta rows, upgrades), `writer` (the rows of a write), `reader` (the rows of a read),
`dense` (the FAISS index and its cache file), `dense_cache` (its lifecycle in a process), `store` (connections,
transactions, the `DocumentStore` methods).
"""

from __future__ import annotations

from qa_service.store.embedded.dense_cache import CACHE_NAME
from qa_service.store.embedded.schema import DB_NAME, stored_config
from qa_service.store.embedded.store import EmbeddedStore

__all__ = ["CACHE_NAME", "DB_NAME", "EmbeddedStore", "stored_config"]
