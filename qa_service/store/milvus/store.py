"""`MilvusStore`: the connection, opening and closing, the requests every part sends, and the `DocumentStore`
methods (the rows of a write are in `writer`, the clean-up in `journal`, the reads in `reader`)."""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from qa_service.errors import IndexMismatchError, QAServiceError
from qa_service.store.base import REBUILD_HINT, IndexConfig, Phrases, PreparedDocument, batched
from qa_service.store.milvus import connection, journal, writer
from qa_service.store.milvus.connection import StoreUnavailableError
from qa_service.store.milvus.expressions import is_in
from qa_service.store.milvus.frequencies import Frequencies
from qa_service.store.milvus.reader import MilvusReader
from qa_service.store.milvus.schema import (
    COLLECTIONS,
    FORMAT_VERSION,
    HEAD_FIELDS,
    PAD,
    QUERY_WINDOW,
    SENTENCE_FIELDS,
    Creator,
    Head,
)

log = logging.getLogger(__name__)

INSERT_ROWS = 1_000  # rows per insert request (keeps requests far below the 64 MB gRPC limit)
FILTER_ITEMS = 500  # ids in one `in [...]` filter


class MilvusStore:
    """Documents, chunks and sentences in Milvus collections; cheap to construct, `open()` connects."""

    def __init__(
        self,
        uri: str,
        config: IndexConfig,
        *,
        token: str | None = None,
        prefix: str = "qa",
        index_type: str = "FLAT",
        consistency: str = "Strong",
        orphan_grace_s: float = 900.0,
        sweep_interval_s: float = 300.0,
    ) -> None:
        self.uri = uri
        self.config = config
        self.token = token
        self.prefix = prefix
        self.index_type = index_type
        self.consistency = consistency
        self.orphan_grace_s = orphan_grace_s
        self.sweep_interval_s = sweep_interval_s
        self.location = f"{uri} (collections {prefix}_*)"
        self._client: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._opened = False
        self.lite = False  # Milvus Lite (pure Python: TEXT_MATCH scans rows) rather than a Milvus server
        self.frequencies = Frequencies()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    connect = staticmethod(connection.connect)
    exists = staticmethod(connection.exists)
    drop = staticmethod(connection.drop)

    def name(self, collection: str) -> str:
        return f"{self.prefix}_{collection}"

    @property
    def client(self) -> Any:  # noqa: ANN401 - pymilvus.MilvusClient, imported lazily
        if self._client is None:
            if not self._opened:
                raise RuntimeError("MilvusStore.open() was not called")
            self._client = connection.connect(self.uri, self.token)  # used after close(), as the embedded store allows
        return self._client

    @property
    def pool(self) -> ThreadPoolExecutor:
        """Threads for requests a question sends together (gRPC multiplexes them on one connection)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="milvus-request")
        return self._pool

    # ---- lifecycle ---------------------------------------------------------------------------------------

    def open(self, *, reset: bool = False) -> MilvusStore:
        from pymilvus import MilvusException

        self._client = connection.connect(self.uri, self.token)
        self._opened = True
        try:
            if reset:
                for collection in (*COLLECTIONS, "sentences_v2"):
                    if self.client.has_collection(self.name(collection)):
                        self.client.drop_collection(self.name(collection))
            existing = {c for c in COLLECTIONS if self.client.has_collection(self.name(c))}
            if "sentences" not in existing and self.client.has_collection(self.name("sentences_v2")):
                existing.add("sentences")  # an upgrade stopped between dropping the old and renaming the copy
            if "meta" in existing and existing != set(COLLECTIONS):
                missing = ", ".join(self.name(c) for c in COLLECTIONS if c not in existing)
                raise IndexMismatchError(f"Milvus store {self.location} is incomplete (no {missing}); {REBUILD_HINT}")
            if not existing:
                self._create()
            elif "meta" not in existing:
                raise IndexMismatchError(f"Milvus store {self.location} has no meta collection; {REBUILD_HINT}")
            self.client.load_collection(self.name("meta"))
            self._check()
            for collection in COLLECTIONS:  # before any read: a restarted engine comes back with them released
                self.client.load_collection(self.name(collection))
            self.lite = str(self.client.get_server_version()).startswith("milvus_lite")
            self.sweep()
        except MilvusException as exc:
            self.close()
            raise StoreUnavailableError(f"Milvus at {self.uri} refused a request: {exc.message}") from exc
        except QAServiceError:
            self.close()
            raise
        if self.sweep_interval_s > 0:
            self._stop.clear()
            self._sweeper = threading.Thread(target=self._sweep_loop, name="milvus-sweeper", daemon=True)
            self._sweeper.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=30)
            self._sweeper = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    def flush(self) -> None:
        """Seal what was written into segments, so Milvus indexes it (after a bulk ingest); safe to skip."""
        if self._client is not None:
            for collection in ("documents", "texts", "chunks", "sentences"):
                self.client.flush(self.name(collection))

    def _creator(self) -> Creator:
        return Creator(self.client, self.name, self.config, index_type=self.index_type, consistency=self.consistency)

    def _create(self) -> None:
        self._creator().all()
        values = {"format_version": FORMAT_VERSION, "store_id": uuid.uuid4().hex, "generation": 0, **self.config.meta()}
        self.client.insert(self.name("meta"), [{"key": k, "value": str(v), "pad": PAD} for k, v in values.items()])
        log.info("created Milvus store %s", self.location)

    def _meta(self) -> dict[str, str]:
        rows = self.query("meta", "", ["key", "value"])
        return {r["key"]: r["value"] for r in rows}

    def _check(self) -> None:
        meta = self._meta()
        version = meta.get("format_version")
        if version == "1":  # sentences without phrases: copied into a collection that has the field
            self.config.check(IndexConfig.from_meta(meta), self.location)
            if self.client.has_collection(self.name("sentences")):
                self.client.load_collection(self.name("sentences"))
            self._creator().upgrade_sentences(lambda: self._pages(self.name("sentences"), SENTENCE_FIELDS))
            self.client.upsert(self.name("meta"), [{"key": "format_version", "value": str(FORMAT_VERSION), "pad": PAD}])
            version = str(FORMAT_VERSION)
        if version != str(FORMAT_VERSION):
            raise IndexMismatchError(
                f"Milvus store {self.location} has format version {version}, this service reads {FORMAT_VERSION}; "
                f"{REBUILD_HINT}"
            )
        self.config.check(IndexConfig.from_meta(meta), self.location)

    # ---- requests ------------------------------------------------------------------------------------------

    def query(self, collection: str, expr: str, fields: list[str], *, limit: int | None = None) -> list[dict]:
        kwargs: dict[str, Any] = {"consistency_level": self.consistency}
        if limit is not None:
            kwargs["limit"] = limit
        elif expr == "":
            kwargs["limit"] = QUERY_WINDOW
        return list(self.client.query(self.name(collection), filter=expr, output_fields=fields, **kwargs))

    def iterate(self, collection: str, expr: str, fields: list[str], batch: int = 1_000) -> Iterator[dict]:
        """Every matching row, in primary-key order, in pages (a query answers at most QUERY_WINDOW rows)."""
        for page in self._pages(self.name(collection), fields, expr, batch):
            yield from page

    def _pages(self, name: str, fields: list[str], expr: str = "", batch: int = 1_000) -> Iterator[list[dict]]:
        iterator = self.client.query_iterator(
            name, batch_size=batch, filter=expr, output_fields=fields, consistency_level=self.consistency
        )
        try:
            while page := iterator.next():
                yield page
        finally:
            iterator.close()

    def count(self, collection: str, expr: str = "") -> int:
        rows = self.client.query(
            self.name(collection), filter=expr, output_fields=["count(*)"], consistency_level=self.consistency
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def insert(self, collection: str, rows: list[dict]) -> None:
        for first in range(0, len(rows), INSERT_ROWS):
            self.client.insert(self.name(collection), rows[first : first + INSERT_ROWS])

    def heads(self, doc_ids: Sequence[str]) -> dict[str, Head]:
        out: dict[str, Head] = {}
        for part in batched(list(dict.fromkeys(doc_ids)), FILTER_ITEMS):
            for row in self.query("documents", is_in("doc_id", part), HEAD_FIELDS, limit=len(part)):
                out[row["doc_id"]] = Head.from_row(row)
        return out

    def generation(self) -> int:
        rows = self.client.query(
            self.name("meta"), ids=["generation"], output_fields=["value"], consistency_level=self.consistency
        )
        return int(rows[0]["value"]) if rows else 0

    def set_generation(self, write_id: int) -> None:
        self.client.upsert(self.name("meta"), [{"key": "generation", "value": str(write_id), "pad": PAD}])

    # ---- the DocumentStore methods -------------------------------------------------------------------------

    @contextlib.contextmanager
    def read(self) -> Iterator[MilvusReader]:
        yield MilvusReader(self)

    def write(self, documents: Sequence[PreparedDocument]) -> int:
        return writer.write(self, documents)

    def delete(self, doc_ids: Sequence[str]) -> list[str]:
        return writer.delete(self, doc_ids)

    def remove_versions(self, versions: dict[str, int]) -> None:
        """Delete the rows of these (document, write id) versions (the last step of a write or delete)."""
        writer.remove_versions(self, versions)

    def untyped_sentences(self, limit: int) -> list[tuple[str, int, int, int]]:
        return writer.untyped_sentences(self, limit)

    def set_phrases(self, items: Sequence[tuple[str, int, Phrases]]) -> int:
        return writer.set_phrases(self, items)

    def incomplete_documents(self, limit: int) -> list[str]:
        """None: the Milvus store always kept labels and sentence terms."""
        return []

    def complete_documents(self, items: Sequence[tuple[str, str, Sequence[Sequence[str]]]]) -> int:
        return 0

    # ---- cleaning up after crashes -------------------------------------------------------------------------

    def sweep(self, grace_s: float | None = None) -> int:
        """Settle unfinished writes older than the grace period (see `journal.sweep`)."""
        return journal.sweep(self, self.orphan_grace_s if grace_s is None else grace_s)

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.sweep_interval_s):
            try:
                self.sweep()
            except Exception:  # a background clean-up must not take the service down; the next round retries
                log.exception("Milvus clean-up failed; retrying in %.0f s", self.sweep_interval_s)
