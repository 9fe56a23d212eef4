"""`EmbeddedStore`: connections, transactions, opening and closing; the rows are written by `writer`, read by
`reader`, the dense index kept by `dense_cache`."""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from qa_service.errors import IndexCorruptError, IndexMismatchError
from qa_service.store.base import REBUILD_HINT, IndexConfig, Phrases, PreparedDocument
from qa_service.store.embedded import filters, schema, writer
from qa_service.store.embedded.dense_cache import DenseCache
from qa_service.store.embedded.reader import EmbeddedReader
from qa_service.store.embedded.schema import DB_NAME, meta

log = logging.getLogger(__name__)

QUICK_CHECK_MAX_BYTES = 256 * 2**20  # check the whole file at start-up up to this size (under a second)
KEYWORD_MAX_POSTINGS = 10_000  # chunks keyword search may score per question (~1 µs each)
EMPTY_FILE_WAIT_S = 2.0  # how long a 0-byte database may stay empty before it counts as truncated


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
        self.keyword_max_postings = keyword_max_postings
        self.location = str(self.root / DB_NAME)
        self.dense = DenseCache(
            self.root, config, self.location, faiss_setting=faiss_index, exact_max=exact_max, nprobe=nprobe
        )
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._catch_up_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._store_id = ""

    @property
    def path(self) -> Path:
        return self.root / DB_NAME

    @staticmethod
    def exists(root: Path) -> bool:
        """True when `root` already holds a store (even an empty one): the seeds go only into a new store."""
        return (Path(root) / DB_NAME).exists()

    @staticmethod
    def stored_config(root: Path) -> IndexConfig:
        """The settings the store in `root` was built with (to open it as it is: `migrate`)."""
        db = sqlite3.connect(f"file:{Path(root) / DB_NAME}?mode=ro", uri=True)
        try:
            return schema.stored_config(db)
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(
                f"index database {Path(root) / DB_NAME} is damaged ({exc}); {REBUILD_HINT}"
            ) from exc
        finally:
            db.close()

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
        with self._translate_errors(), self._reader_transaction() as db:
            self.dense.load(db, self._store_id)
        self.flush()
        return self

    def _open_database(self, *, reset: bool) -> None:
        self._refuse_empty_file()
        with self._translate_errors():
            with self._writing() as db:
                if not schema.table_exists(db, "meta"):
                    schema.create(db, self.config)
                elif reset:
                    schema.reset(db, self.config)
                schema.check(db, self.config, str(self.path))
                added = schema.upgrade(db)
                if added:
                    log.info("index %s: added columns %s", self.path, ", ".join(added))
                self._store_id = meta(db, "store_id")
            if self.path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                assert self._writer is not None
                result = self._writer.execute("PRAGMA quick_check").fetchone()[0]
                if result != "ok":
                    raise sqlite3.DatabaseError(result)

    def _refuse_empty_file(self) -> None:
        """SQLite takes a 0-byte file for a new, empty database: a truncated archive would start as an empty,
        healthy index and hide what it held. A store being created by another process this instant is 0 bytes
        only until that process sets WAL mode (milliseconds), so a file still empty after a short wait is damage."""
        deadline = time.monotonic() + EMPTY_FILE_WAIT_S
        while self.path.exists() and self.path.stat().st_size == 0:
            if time.monotonic() > deadline:
                raise IndexCorruptError(
                    f"index database {self.path} is damaged (it is empty, 0 bytes, as a truncated file is, and "
                    f"would open as an empty index); restore it from a backup or {REBUILD_HINT}"
                )
            time.sleep(0.05)

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
        self.dense.save(self._store_id)

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

    # ---- connections and transactions ----------------------------------------------------------------------

    def _connect(self, *, reader: bool) -> sqlite3.Connection:
        # Connections are used by one thread at a time (per-thread readers, a locked writer) but closed by any.
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=60)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")  # a committed write survives power loss, not just a kill
        connection.execute("PRAGMA cache_size = -16000")  # 16 MB per connection
        filters.register(connection)
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

    # ---- reading -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def read(self) -> Iterator[EmbeddedReader]:
        """A consistent view; the dense index is brought up to date first unless another thread is doing it."""
        with self._translate_errors(), self._reader_transaction() as db:
            generation = int(meta(db, "generation"))
            dense = self.dense.index
            if dense is not None and dense.generation < generation and self._catch_up_lock.acquire(blocking=False):
                try:
                    self.dense.catch_up(db, generation)
                finally:
                    self._catch_up_lock.release()
            yield EmbeddedReader(self, db, generation)

    # ---- writing -----------------------------------------------------------------------------------------

    def write(self, documents: Sequence[PreparedDocument]) -> int:
        if not documents:
            return self._generation()
        with self._writing() as db:
            generation = int(meta(db, "generation")) + 1
            tally = writer.Tally()
            for prepared in documents:
                old = db.execute("SELECT id FROM documents WHERE doc_id = ?", (prepared.document.doc_id,)).fetchone()
                if old is not None:
                    writer.delete(db, old[0], generation, tally)
                writer.insert(db, prepared, generation, tally)
            writer.finish(db, generation, tally)
        self._catch_up_after_write()
        return generation

    def delete(self, doc_ids: Sequence[str]) -> list[str]:
        deleted: list[str] = []
        with self._writing() as db:
            generation = int(meta(db, "generation")) + 1
            tally = writer.Tally()
            for doc_id in doc_ids:
                row = db.execute("SELECT id FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
                if row is not None:
                    writer.delete(db, row[0], generation, tally)
                    deleted.append(doc_id)
            if deleted:
                writer.finish(db, generation, tally)
        if deleted:
            self._catch_up_after_write()
        return deleted

    def untyped_sentences(self, limit: int) -> list[tuple[str, int, int, int]]:
        with self._reader_transaction() as db:
            rows = db.execute(
                'SELECT d.doc_id, s.ordinal, s.start, s."end" FROM sentences s JOIN documents d ON d.id = s.doc '
                "WHERE s.phrases IS NULL ORDER BY s.doc, s.ordinal LIMIT ?",
                (limit,),
            ).fetchall()
        return [(doc_id, ordinal, start, end) for doc_id, ordinal, start, end in rows]

    def set_phrases(self, items: Sequence[tuple[str, int, Phrases]]) -> int:
        """One transaction; the generation rises, as answers may change with the phrases."""
        if not items:
            return 0
        with self._writing() as db:
            updated = writer.set_phrases(db, items)
            if updated:
                schema.set_meta(db, "generation", int(meta(db, "generation")) + 1)
        return updated

    def incomplete_documents(self, limit: int) -> list[str]:
        with self._reader_transaction() as db:
            rows = db.execute(
                "SELECT doc_id FROM documents WHERE label IS NULL ORDER BY id LIMIT ?",  # complete: label and terms
                (limit,),
            ).fetchall()
        return [r[0] for r in rows]

    def complete_documents(self, items: Sequence[tuple[str, str, Sequence[Sequence[str]]]]) -> int:
        if not items:
            return 0
        with self._writing() as db:
            return writer.complete(db, items)

    def _generation(self) -> int:
        with self.read() as reader:
            return reader.generation

    def _catch_up_after_write(self) -> None:
        """The writing process sees its own write as soon as `write` returns."""
        with self._catch_up_lock, self._reader_transaction() as db:
            self.dense.catch_up(db, int(meta(db, "generation")))
