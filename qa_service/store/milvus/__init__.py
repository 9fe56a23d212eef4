"""The store on Milvus: every row and index lives in Milvus, so API replicas are stateless and start in seconds.

`QA_MILVUS_URI` names the engine: a path ending in `.db` runs Milvus Lite inside this process (one process per
path), `http://host:19530` a Milvus standalone server or a cluster shared by any number of replicas.

Collections (names start with `QA_MILVUS_PREFIX`, so two corpora can share one Milvus):
    meta       settings the vectors were made with, the format version, the generation
    documents  one row per visible document: its current write id, hash, metadata and row counts (the "head")
    texts      document text in pieces (VARCHAR holds 64 KB), per write id
    chunks     offsets, the keyword terms (BM25 inside Milvus) and the dense vector, per write id
    sentences  offsets, terms (for document frequencies), vector and typed phrases, per write id
    writes     a journal: one row per document of each write or delete until it is finished

Atomic visibility without multi-row transactions. Every write gets a new write id (time-ordered). Its texts,
chunks and sentences are inserted first, under that id; then the document rows are upserted in one request:
that is the commit. Readers only use rows whose write id is the one their document row names, so rows of a
write in flight (or of a write that died) are invisible, and a replaced version disappears at the instant its
document row flips. Afterwards the writer deletes the old version's rows and its journal rows. A delete removes
the document row first (the commit), then the rows. Whatever a crash leaves behind is named by the journal: at
open and every `QA_MILVUS_SWEEP_INTERVAL_S` (in a background thread), journal entries older than
`QA_MILVUS_ORPHAN_GRACE_S` are settled by deleting that document's rows that its document row does not name.

A reader pins the version of each document it touches (see `reader`).

Consistency: every request uses `QA_MILVUS_CONSISTENCY`, Strong by default. With Strong, Milvus serves a read
only once it has applied every write acknowledged before the read began, whichever replica (client) sent it;
Bounded (Milvus' default) may miss writes of the last few seconds, Session only guarantees a client its own.

Modules: `schema` (collections, the document row, the format-1 upgrade), `connection`, `expressions` (filters),
`journal` (write ids, the sweeper), `writer`, `reader`, `frequencies` (sentence document frequencies), `store`
(`MilvusStore`), `lite` (Milvus Lite as a server process, for tests and benchmarks).
"""

from __future__ import annotations

from qa_service.store.milvus.connection import StoreUnavailableError
from qa_service.store.milvus.schema import COLLECTIONS
from qa_service.store.milvus.store import MilvusStore

__all__ = ["COLLECTIONS", "MilvusStore", "StoreUnavailableError"]
