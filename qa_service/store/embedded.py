"""The embedded store: SQLite (WAL) is the source of truth, FAISS the dense index derived from it.

Layout of the index folder:
    store.sqlite3 (+ -wal, -shm)  documents, chunks (+ float32 vectors), sentences (+ float16 vectors), an FTS5
                                  keyword index of the chunks, term counts, a change log and the settings
    dense.faiss                   the FAISS index as of some generation (a cache: rebuilt when missing or damaged)

SQLite's own locking serialises writers across processes (BEGIN IMMEDIATE); readers never wait for a writer.

One SQLite transaction adds or removes whole documents: their row, chunks, sentences, vectors, keyword rows and
term counts, and bumps the generation. A reader runs inside one read transaction, so it never sees half a
document; a kill at any instant leaves the database at the last committed transaction. Every process keeps
its own FAISS index in memory and brings it up to date from the change log (chunk ids added or removed per
generation) when it sees a newer generation: the cost of a write is the size of the write.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from qa_service.errors import IndexCorruptError, IndexMismatchError
from qa_service.ingest import document_label
from qa_service.schemas import Document, DocumentSummary
from qa_service.store.base import (
    REBUILD_HINT,
    DocumentState,
    IndexConfig,
    PreparedDocument,
    StoredChunk,
    StoredSentence,
    StoreStats,
    batched,
)
from qa_service.store.dense import DenseIndex, resolve_factory

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
DB_NAME = "store.sqlite3"
CACHE_NAME = "dense.faiss"
KEEP_CHANGES = 20_000  # generations of change log kept; a process further behind rebuilds its dense index
QUICK_CHECK_MAX_BYTES = 256 * 2**20  # check the whole file at start-up up to this size (under a second)
LABEL_SOURCE_CHARS = 480  # the opening a label (ingest.document_label) is derived from: enough for 80 characters
KEYWORD_MAX_POSTINGS = 10_000  # chunks keyword search may score per question (~1 µs each)

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    title TEXT,
    date TEXT,
    source TEXT,
    origin TEXT,
    content_hash TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    sentence_count INTEGER NOT NULL
);
CREATE INDEX documents_hash ON documents (content_hash);
CREATE TABLE chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX chunks_doc ON chunks (doc);
CREATE TABLE sentences (
    doc INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (doc, ordinal)
);
CREATE INDEX sentences_span ON sentences (doc, start, "end", ordinal);
CREATE VIRTUAL TABLE chunk_fts USING fts5 (terms, tokenize = 'unicode61 remove_diacritics 0');
CREATE TABLE terms (term TEXT PRIMARY KEY, chunks INTEGER NOT NULL, sentences INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE changes (generation INTEGER NOT NULL, chunk_id INTEGER NOT NULL, added INTEGER NOT NULL);
CREATE INDEX changes_generation ON changes (generation);
"""
TABLES = ("meta", "documents", "chunks", "sentences", "chunk_fts", "terms", "changes")


class EmbeddedStore:
    """SQLite + FAISS in one folder; cheap to construct, `open()` connects and loads the dense index."""

    def __init__(
        self,
        root: Path,
        config: IndexConfig,
        *,
        faiss_index: str = "auto",
        exact_max: int = 200_000,
        nprobe: int = 128,
        keyword_max_postings: int = KEYWORD_MAX_POSTINGS,
    ) -> None:
        self.root = Path(root)
        self.config = config
        self.faiss_setting = faiss_index
        self.exact_max = exact_max
        self.nprobe = nprobe
        self.keyword_max_postings = keyword_max_postings
        self.location = str(self.root / DB_NAME)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._catch_up_lock = threading.Lock()
        self._dense: DenseIndex | None = None
        self._writer: sqlite3.Connection | None = None
        self._store_id = ""
        self._saved_generation = -1

    @property
    def path(self) -> Path:
        return self.root / DB_NAME

    @staticmethod
    def exists(root: Path) -> bool:
        """True when `root` already holds a store (even an empty one): the seeds go only into a new store."""
        return (Path(root) / DB_NAME).exists()

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def open(self, *, reset: bool = False) -> EmbeddedStore:
        self._check_not_legacy(remove=reset)
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._open_database(reset=reset)
        except IndexCorruptError:
            if not reset:
                raise
            self._set_aside_damaged()  # --rebuild of a damaged store: keep the old file, start a new one
            self._open_database(reset=reset)
        with self._translate_errors():
            self._load_dense()
        return self

    def _open_database(self, *, reset: bool) -> None:
        with self._translate_errors():
            with self._writing() as db:
                if not _table_exists(db, "meta"):
                    self._create(db)
                elif reset:
                    self._reset(db)
                self._check(db)
                self._store_id = _meta(db, "store_id")
            if self.path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                result = self._writer.execute("PRAGMA quick_check").fetchone()[0]
                if result != "ok":
                    raise sqlite3.DatabaseError(result)

    def _set_aside_damaged(self) -> None:
        self.close()
        self._writer = None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            path = self.root / (DB_NAME + suffix)
            if path.exists():
                path.rename(self.root / f"{DB_NAME}{suffix}.damaged-{stamp}")
        log.warning("the damaged index database was moved aside to %s.damaged-%s", self.path, stamp)

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        """A damaged database file is the user's problem to fix: say so in one line (busy/locked stays as is)."""
        try:
            yield
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(
                f"index database {self.path} is damaged ({exc}); restore it from a backup or {REBUILD_HINT}"
            ) from exc

    def close(self) -> None:
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    connection.close()
            self._connections.clear()
        self._local = threading.local()
        self._writer = None

    def flush(self) -> None:
        """Save the dense index for the next start, if it changed since it was last saved."""
        dense = self._dense
        if dense is not None and dense.generation != self._saved_generation:
            started = time.perf_counter()
            dense.save(self.root / CACHE_NAME, self._store_id)
            self._saved_generation = dense.generation
            log.info("dense index saved (%d vectors) in %.1f s", dense.count, time.perf_counter() - started)

    def _check_not_legacy(self, *, remove: bool) -> None:
        """Index folders of the snapshot format (before the store) hold CURRENT and snap-* folders."""
        candidates = (self.root / "CURRENT", *self.root.glob("snap-*"), *self.root.glob(".tmp-snap-*"))
        legacy = [p for p in candidates if p.exists()]
        if not legacy:
            return
        if not remove:
            raise IndexMismatchError(
                f"index {self.root} is in the snapshot format of an earlier version, which this version does not "
                f"read; {REBUILD_HINT}"
            )
        for path in legacy:
            shutil.rmtree(path) if path.is_dir() else path.unlink()

    def _connect(self, *, reader: bool) -> sqlite3.Connection:
        # Connections are used by one thread at a time (per-thread readers, a locked writer) but closed by any.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")  # a committed write survives power loss, not just a kill
        connection.execute("PRAGMA cache_size = -16000")  # 16 MB per connection
        if reader:
            connection.execute("PRAGMA query_only = 1")
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    @contextlib.contextmanager
    def _reader_transaction(self) -> Iterator[sqlite3.Connection]:
        """A read transaction on this thread's connection; a nested one (a write inside a read) gets its own."""
        pool = self._local.__dict__.setdefault("connections", [])
        depth = self._local.__dict__.get("depth", 0)
        if depth == len(pool):
            pool.append(self._connect(reader=True))
        connection = pool[depth]
        self._local.depth = depth + 1
        try:
            connection.execute("BEGIN")
            try:
                yield connection
            finally:
                connection.execute("COMMIT")
        finally:
            self._local.depth = depth

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes SQLite's write lock, so other processes queue."""
        with self._write_lock:
            connection = self._writer
            if connection is None:
                connection = self._writer = self._connect(reader=False)
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _create(self, db: sqlite3.Connection) -> None:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)  # not executescript: that would commit the open transaction first
        values = {
            "format_version": FORMAT_VERSION,
            "store_id": uuid.uuid4().hex,
            "generation": 0,
            "reset_generation": 0,
            "changes_from": 0,
            "documents": 0,
            "chunks": 0,
            "sentences": 0,
            **self.config.meta(),
        }
        db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in values.items()])

    def _reset(self, db: sqlite3.Connection) -> None:
        """Empty the store in one transaction (drop and recreate: fast at any size), keep the generation rising."""
        generation = int(_meta(db, "generation")) + 1
        for table in TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")
        self._create(db)
        for key, value in (("generation", generation), ("reset_generation", generation), ("changes_from", generation)):
            _set_meta(db, key, value)

    def _check(self, db: sqlite3.Connection) -> None:
        version = _meta(db, "format_version")
        if version != str(FORMAT_VERSION):
            raise IndexMismatchError(
                f"index {self.path} has format version {version}, this service reads {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        self.config.check(stored_config(db), str(self.path))

    # ---- the dense index ---------------------------------------------------------------------------------

    def _load_dense(self) -> None:
        """Reuse the cache when it belongs to this store and the change log reaches back to it; else rebuild."""
        with self._reader_transaction() as db:
            generation, size, changes_from = (int(_meta(db, k)) for k in ("generation", "chunks", "changes_from"))
            factory = resolve_factory(self.faiss_setting, size, exact_max=self.exact_max)
            cached = DenseIndex.load(self.root / CACHE_NAME, nprobe=self.nprobe)
            dense = None
            if cached is not None:
                index, tag = cached
                usable = (
                    tag.store_id == self._store_id
                    and tag.dimension == self.config.dimension
                    and changes_from <= tag.generation <= generation
                    and (tag.factory == factory or self.faiss_setting == "auto" and _same_family(tag.factory, factory))
                )
                if usable:
                    dense = index
                    self._saved_generation = tag.generation
            if dense is None:
                dense = self._build_dense(db, factory, generation)
            self._dense = dense
            self._catch_up(db, generation)
            if dense.count != size:
                log.warning("dense index holds %d vectors for %d chunks; rebuilding it", dense.count, size)
                self._dense = self._build_dense(db, factory, generation)
        self.flush()

    def _build_dense(self, db: sqlite3.Connection, factory: str, generation: int) -> DenseIndex:
        import faiss

        started = time.perf_counter()
        size = int(_meta(db, "chunks"))
        sample = None
        if factory.startswith("IVF") and size:
            wanted = min(size, 40 * _nlist(factory))  # FAISS asks for ~39 training points a list
            step = max(1, size // wanted)
            rows = db.execute("SELECT vector FROM chunks WHERE chunk_id % ? = 0", (step,)).fetchall()
            sample = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(-1, self.config.dimension)

        def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            cursor = db.execute("SELECT chunk_id, vector FROM chunks ORDER BY chunk_id")
            while rows := cursor.fetchmany(20_000):
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                yield ids, vectors.reshape(len(rows), self.config.dimension)

        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(max(1, threads, _cpu_count()))  # a rebuild is bulk work: every core
        try:
            dense = DenseIndex.build(
                factory,
                self.config.dimension,
                batches(),
                training_sample=sample,
                nprobe=self.nprobe,
                generation=generation,
            )
        finally:
            faiss.omp_set_num_threads(threads)
        if size:
            log.info("dense index %s built from %d vectors in %.1f s", factory, size, time.perf_counter() - started)
        self._saved_generation = -1
        return dense

    def _catch_up(self, db: sqlite3.Connection, generation: int) -> None:
        """Apply the chunks added and removed since the dense index's generation (inside `db`'s snapshot)."""
        dense = self._dense
        if dense is None or dense.generation >= generation:
            return
        if dense.generation < int(_meta(db, "changes_from")):
            config = stored_config(db)
            self.config.check(config, str(self.path))  # another process may have rebuilt with other settings
            factory = resolve_factory(self.faiss_setting, int(_meta(db, "chunks")), exact_max=self.exact_max)
            self._dense = self._build_dense(db, factory, generation)
            return
        rows = db.execute(
            "SELECT chunk_id, added FROM changes WHERE generation > ? AND generation <= ? ORDER BY generation",
            (dense.generation, generation),
        ).fetchall()
        last: dict[int, int] = {}
        for chunk_id, added in rows:
            last[chunk_id] = added
        removed = np.fromiter((c for c, a in last.items() if not a), dtype=np.int64)
        added_ids = [c for c, a in last.items() if a]
        vectors = self._chunk_vectors(db, added_ids)
        present = np.fromiter((c for c in added_ids if c in vectors), dtype=np.int64)
        matrix = np.stack([vectors[c] for c in present.tolist()]) if len(present) else None
        dense.apply((present, matrix) if matrix is not None else None, removed, generation)

    def _chunk_vectors(self, db: sqlite3.Connection, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for part in batched(list(chunk_ids)):
            marks = ",".join("?" * len(part))
            for chunk_id, blob in db.execute(f"SELECT chunk_id, vector FROM chunks WHERE chunk_id IN ({marks})", part):
                out[chunk_id] = np.frombuffer(blob, dtype=np.float32)
        return out

    # ---- reading -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def read(self) -> Iterator[_Reader]:
        """A consistent view; the dense index is brought up to date first unless another thread is doing it."""
        with self._translate_errors(), self._reader_transaction() as db:
            generation = int(_meta(db, "generation"))
            dense = self._dense
            if dense is not None and dense.generation < generation and self._catch_up_lock.acquire(blocking=False):
                try:
                    self._catch_up(db, generation)
                finally:
                    self._catch_up_lock.release()
            yield _Reader(self, db, generation)

    # ---- writing -----------------------------------------------------------------------------------------

    def write(self, documents: Sequence[PreparedDocument]) -> int:
        if not documents:
            return self._generation()
        with self._writing() as db:
            generation = int(_meta(db, "generation")) + 1
            counts = Counter[str]()
            chunk_terms = Counter[str]()
            sentence_terms = Counter[str]()
            for prepared in documents:
                old = db.execute("SELECT id FROM documents WHERE doc_id = ?", (prepared.document.doc_id,)).fetchone()
                if old is not None:
                    self._delete_rows(db, old[0], generation, counts, chunk_terms, sentence_terms)
                self._insert(db, prepared, generation, counts, chunk_terms, sentence_terms)
            self._finish_write(db, generation, counts, chunk_terms, sentence_terms)
        self._catch_up_after_write(generation)
        return generation

    def delete(self, doc_ids: Sequence[str]) -> list[str]:
        deleted: list[str] = []
        with self._writing() as db:
            generation = int(_meta(db, "generation")) + 1
            counts = Counter[str]()
            chunk_terms = Counter[str]()
            sentence_terms = Counter[str]()
            for doc_id in doc_ids:
                row = db.execute("SELECT id FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
                if row is not None:
                    self._delete_rows(db, row[0], generation, counts, chunk_terms, sentence_terms)
                    deleted.append(doc_id)
            if deleted:
                self._finish_write(db, generation, counts, chunk_terms, sentence_terms)
        if deleted:
            self._catch_up_after_write(generation)
        return deleted

    def _generation(self) -> int:
        with self.read() as reader:
            return reader.generation

    def _catch_up_after_write(self, generation: int) -> None:
        """The writing process sees its own write as soon as `write` returns."""
        with self._catch_up_lock, self._reader_transaction() as db:
            self._catch_up(db, int(_meta(db, "generation")))

    def _insert(
        self,
        db: sqlite3.Connection,
        prepared: PreparedDocument,
        generation: int,
        counts: Counter[str],
        chunk_terms: Counter[str],
        sentence_terms: Counter[str],
    ) -> None:
        d = prepared.document
        cursor = db.execute(
            "INSERT INTO documents (doc_id, text, title, date, source, origin, content_hash, chunk_count, "
            "sentence_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            chunk_terms.update(set(words))
        halves = np.asarray(prepared.sentence_vectors, dtype=np.float16)
        db.executemany(
            'INSERT INTO sentences (doc, ordinal, start, "end", vector) VALUES (?, ?, ?, ?, ?)',
            [(doc, i, s, e, v.tobytes()) for i, ((s, e), v) in enumerate(zip(prepared.sentences, halves, strict=True))],
        )
        for words in prepared.sentence_terms:
            sentence_terms.update(set(words))
        counts.update(documents=1, chunks=len(prepared.chunks), sentences=len(prepared.sentences))

    def _delete_rows(
        self,
        db: sqlite3.Connection,
        doc: int,
        generation: int,
        counts: Counter[str],
        chunk_terms: Counter[str],
        sentence_terms: Counter[str],
    ) -> None:
        from qa_service.analysis import terms

        chunk_ids = [r[0] for r in db.execute("SELECT chunk_id FROM chunks WHERE doc = ?", (doc,))]
        for part in batched(chunk_ids):
            marks = ",".join("?" * len(part))
            for (words,) in db.execute(f"SELECT terms FROM chunk_fts WHERE rowid IN ({marks})", part):
                chunk_terms.subtract(set(words.split()))
            db.execute(f"DELETE FROM chunk_fts WHERE rowid IN ({marks})", part)
        text = db.execute("SELECT text FROM documents WHERE id = ?", (doc,)).fetchone()[0]
        spans = db.execute('SELECT start, "end" FROM sentences WHERE doc = ?', (doc,)).fetchall()
        for start, end in spans:
            sentence_terms.subtract(set(terms(text[start:end])))
        db.executemany("INSERT INTO changes VALUES (?, ?, 0)", [(generation, c) for c in chunk_ids])
        db.execute("DELETE FROM chunks WHERE doc = ?", (doc,))
        db.execute("DELETE FROM sentences WHERE doc = ?", (doc,))
        db.execute("DELETE FROM documents WHERE id = ?", (doc,))
        counts.subtract(documents=1, chunks=len(chunk_ids), sentences=len(spans))

    def _finish_write(
        self,
        db: sqlite3.Connection,
        generation: int,
        counts: Counter[str],
        chunk_terms: Counter[str],
        sentence_terms: Counter[str],
    ) -> None:
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
            _set_meta(db, key, int(_meta(db, key)) + counts[key])
        _set_meta(db, "generation", generation)
        oldest = generation - KEEP_CHANGES
        if oldest > int(_meta(db, "changes_from")):
            db.execute("DELETE FROM changes WHERE generation <= ?", (oldest,))
            _set_meta(db, "changes_from", oldest)


class _Reader:
    """The read side of one transaction (see `StoreReader`)."""

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
                f"SELECT doc_id, text, title, date, source, content_hash FROM documents WHERE doc_id IN ({marks})",
                part,
            )
            for doc_id, text, title, date, source, content_hash in rows:
                out[doc_id] = Document(
                    doc_id=doc_id, text=text, title=title, date=date, source=source, content_hash=content_hash
                )
        return out

    def summaries(
        self, *, offset: int = 0, limit: int | None = None, doc_ids: Sequence[str] | None = None
    ) -> list[DocumentSummary]:
        columns = "SELECT doc_id, title, date, source, chunk_count, substr(text, 1, ?) FROM documents"
        if doc_ids is not None:
            wanted = list(dict.fromkeys(doc_ids))[:1000]
            marks = ",".join("?" * len(wanted))
            rows = self._db.execute(f"{columns} WHERE doc_id IN ({marks}) ORDER BY id", (LABEL_SOURCE_CHARS, *wanted))
        else:
            rows = self._db.execute(
                f"{columns} ORDER BY id LIMIT ? OFFSET ?", (LABEL_SOURCE_CHARS, -1 if limit is None else limit, offset)
            )
        return [
            DocumentSummary(
                doc_id=doc_id,
                title=title,
                label=document_label(opening, title),
                date=date,
                source=source,
                chunks=chunks,
            )
            for doc_id, title, date, source, chunks, opening in rows
        ]

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

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        dense = self._store._dense
        return [] if dense is None else dense.search(vector, k)

    def keyword_search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
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
        rows = self._db.execute(
            "SELECT rowid, -bm25(chunk_fts) FROM chunk_fts WHERE chunk_fts MATCH ? ORDER BY rank LIMIT ?", (query, k)
        )
        return [(int(r), float(s)) for r, s in rows]

    def hybrid_search(
        self, vector: np.ndarray, terms: Sequence[str], k: int, *, depth: int, rrf_k: int
    ) -> list[tuple[int, float]] | None:
        return None  # FAISS and FTS5 are separate engines: the retriever fuses their rankings

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
        return self._store._chunk_vectors(self._db, chunk_ids)

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
                f'SELECT s.ordinal, s.start, s."end", {column} FROM sentences s JOIN documents d ON d.id = s.doc '
                "WHERE d.doc_id = ? AND s.ordinal BETWEEN ? AND ? ORDER BY s.ordinal",
                (doc_id, min(ordinals), max(ordinals)),
            )
            out[doc_id] = [
                StoredSentence(
                    doc_id,
                    ordinal,
                    start,
                    end,
                    None if blob is None else np.frombuffer(blob, dtype=np.float16).astype(np.float32),
                )
                for ordinal, start, end, blob in rows
                if ordinal in ordinals
            ]
        return out

    def sentence_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        total = int(_meta(self._db, "sentences"))
        return total, self._term_counts(terms, "sentences")

    def mentions(self, term: str) -> bool:
        if self._term_counts([term], "chunks").get(term, 0) > 0:
            return True
        if len(term) < 3:  # too short to tell a typo from another word
            return False
        prefix = term[:2]
        rows = self._db.execute(
            "SELECT term FROM terms WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ? AND chunks > 0",
            (prefix, prefix + "\uffff", len(term) - 1, len(term) + 1),
        )
        return any(one_edit_apart(term, other) for (other,) in rows)


def one_edit_apart(a: str, b: str) -> bool:
    """True when one insertion, deletion or substitution turns `a` into `b` (a typo)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k in range(len(a)) if a[k] != b[k]), len(a))
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


def stored_config(db: sqlite3.Connection) -> IndexConfig:
    """The settings a store database was built with (its `meta` rows)."""
    return IndexConfig.from_meta(dict(db.execute("SELECT key, value FROM meta WHERE key LIKE 'config.%'").fetchall()))


def _meta(db: sqlite3.Connection, key: str) -> str:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise sqlite3.DatabaseError(f"meta key {key!r} is missing")
    return row[0]


def _set_meta(db: sqlite3.Connection, key: str, value: object) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))


def _table_exists(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _same_family(cached: str, wanted: str) -> bool:
    """With QA_FAISS_INDEX=auto a cache stays usable while the corpus stays on the same side of the size limit."""
    return cached.startswith("IVF") == wanted.startswith("IVF")


def _nlist(factory: str) -> int:
    """The number of inverted lists an `IVFn,...` factory string asks for."""
    head = factory.split(",")[0]
    return int(head[3:]) if head[3:].isdigit() else 4096


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1
