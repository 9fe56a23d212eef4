"""The store on Milvus: every row and index lives in Milvus, so API replicas are stateless and start in seconds.

`QA_MILVUS_URI` names the engine: a path ending in `.db` runs Milvus Lite inside this process (one process per
path), `http://host:19530` a Milvus standalone server or a cluster shared by any number of replicas.

Collections (names start with `QA_MILVUS_PREFIX`, so two corpora can share one Milvus):
    meta       settings the vectors were made with, the format version, the generation
    documents  one row per visible document: its current write id, hash, metadata and row counts (the "head")
    texts      document text in pieces (VARCHAR holds 64 KB), per write id
    chunks     offsets, the keyword terms (BM25 inside Milvus) and the dense vector, per write id
    sentences  offsets, terms (for document frequencies) and vector, per write id
    writes     a journal: one row per document of each write or delete until it is finished

Atomic visibility without multi-row transactions. Every write gets a new write id (time-ordered). Its texts,
chunks and sentences are inserted first, under that id; then the document rows are upserted in one request:
that is the commit. Readers only use rows whose write id is the one their document row names, so rows of a
write in flight (or of a write that died) are invisible, and a replaced version disappears at the instant its
document row flips. Afterwards the writer deletes the old version's rows and its journal rows. A delete removes
the document row first (the commit), then the rows. Whatever a crash leaves behind is named by the journal: at
open and every `QA_MILVUS_SWEEP_INTERVAL_S` (in a background thread), journal entries older than
`QA_MILVUS_ORPHAN_GRACE_S` are settled by deleting that document's rows that its document row does not name.

A reader pins the version of each document it touches (its document row, read once) and reads text, chunks and
sentences of that version only: a question never mixes two versions of a document, even while it is replaced.
Different documents may be read at different instants: Milvus has no snapshot across requests (unlike SQLite).

Consistency: every request uses `QA_MILVUS_CONSISTENCY`, Strong by default. With Strong, Milvus serves a read
only once it has applied every write acknowledged before the read began, whichever replica (client) sent it;
Bounded (Milvus' default) may miss writes of the last few seconds, Session only guarantees a client its own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa_service.errors import IndexMismatchError, QAServiceError
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
from qa_service.store.embedded import LABEL_SOURCE_CHARS  # noqa: E402 - one definition for both stores

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
COLLECTIONS = ("meta", "documents", "texts", "chunks", "sentences", "writes")
MAX_VARCHAR = 65_535  # bytes: Milvus' limit for one VARCHAR value
TEXT_PIECE = 16_000  # characters per text row: at most 64,000 bytes of UTF-8
QUERY_WINDOW = 16_384  # Milvus answers at most this many rows per query (offset + limit)
FREQUENCY_CAP = 1_024  # Milvus Lite: sentence frequencies are counted up to this (see sentence_frequency)
INSERT_ROWS = 1_000  # rows per insert request (keeps requests far below the 64 MB gRPC limit)
FILTER_ITEMS = 500  # ids in one `in [...]` filter
FREQUENCY_TTL_S = 60.0  # how old a remembered document frequency may be
# Keyword terms come from `analysis.terms` (stemmed, stopwords removed, the same as the embedded store indexes):
# Milvus only splits them on spaces, so both stores score the same terms with BM25.
ANALYZER_PARAMS = {"tokenizer": "standard", "filter": ["lowercase"]}
INDEX_PARAMS = {
    "FLAT": {},
    "IVF_FLAT": {"nlist": 1024},
    "IVF_SQ8": {"nlist": 1024},
    "HNSW": {"M": 16, "efConstruction": 200},
}
SEARCH_PARAMS = {"FLAT": {}, "IVF_FLAT": {"nprobe": 32}, "IVF_SQ8": {"nprobe": 32}, "HNSW": {"ef": 128}}


class _LiteIteratorNotice(logging.Filter):
    """Milvus Lite has no MVCC timestamp for iterators and pymilvus warns on every listing; a server has one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "failed to get mvccTs" not in record.getMessage()


logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_LiteIteratorNotice())


class StoreUnavailableError(QAServiceError):
    """The configured Milvus cannot be reached or refused the request."""


def new_write_id() -> int:
    """Milliseconds since the epoch and 12 random bits: time-ordered across replicas, below 2**53 (JSON-safe)."""
    return (time.time_ns() // 1_000_000) << 12 | secrets.randbits(12)


def write_id_at(seconds: float) -> int:
    """The smallest write id a write started at `seconds` (epoch) can have."""
    return int(seconds * 1000) << 12


def _quote(value: str) -> str:
    """A string literal for a Milvus filter expression (JSON escaping is what its parser reads)."""
    return json.dumps(value, ensure_ascii=False)


def _in(field: str, values: Iterable[str] | Iterable[int]) -> str:
    items = [_quote(v) if isinstance(v, str) else str(int(v)) for v in values]
    return f"{field} in [{', '.join(items)}]"


def _fit(words: Sequence[str]) -> str:
    """Terms joined by spaces, cut at a term boundary to fit a VARCHAR."""
    text = " ".join(words)
    if len(text.encode()) <= MAX_VARCHAR:
        return text
    cut = text.encode()[: MAX_VARCHAR + 1].decode(errors="ignore")
    return cut[: cut.rfind(" ")] if " " in cut else ""


@dataclass(frozen=True)
class _Head:
    """A document row: which write id holds the visible version, and what the listing needs."""

    doc_id: str
    write_id: int
    content_hash: str
    title: str | None
    date: str | None
    source: str | None
    origin: str | None
    label: str
    chunk_count: int
    sentence_count: int
    parts: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> _Head:
        meta = row["meta"] or {}
        return cls(
            doc_id=row["doc_id"],
            write_id=int(row["write_id"]),
            content_hash=row["content_hash"],
            title=meta.get("title"),
            date=meta.get("date"),
            source=meta.get("source"),
            origin=meta.get("origin"),
            label=meta.get("label") or "",
            chunk_count=int(row["chunk_count"]),
            sentence_count=int(row["sentence_count"]),
            parts=int(row["parts"]),
        )


HEAD_FIELDS = ["doc_id", "write_id", "content_hash", "meta", "chunk_count", "sentence_count", "parts"]


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
        self.frequencies = _Frequencies()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def name(self, collection: str) -> str:
        return f"{self.prefix}_{collection}"

    @property
    def client(self) -> Any:  # noqa: ANN401 - pymilvus.MilvusClient, imported lazily
        if self._client is None:
            if not self._opened:
                raise RuntimeError("MilvusStore.open() was not called")
            self._client = self.connect(self.uri, self.token)  # used after close(), as the embedded store allows
        return self._client

    @property
    def pool(self) -> ThreadPoolExecutor:
        """Threads for requests a question sends together (gRPC multiplexes them on one connection)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="milvus-request")
        return self._pool

    # ---- lifecycle ---------------------------------------------------------------------------------------

    @staticmethod
    def connect(uri: str, token: str | None = None) -> Any:  # noqa: ANN401
        """A MilvusClient, or one clear error naming the URI (pymilvus' own is a gRPC trace)."""
        from pymilvus import MilvusClient, MilvusException

        if "://" not in uri:
            from pathlib import Path

            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            return MilvusClient(uri=uri, token=token or "", timeout=10)
        except MilvusException as exc:
            raise StoreUnavailableError(f"cannot connect to Milvus at {uri}: {exc.message}") from exc

    @staticmethod
    def exists(uri: str, prefix: str, token: str | None = None) -> bool:
        """True when Milvus holds this prefix's store (even empty); a Milvus Lite path that is missing does not."""
        if "://" not in uri:
            from pathlib import Path

            if not Path(uri).exists():
                return False
        client = MilvusStore.connect(uri, token)
        try:
            return bool(client.has_collection(f"{prefix}_meta"))
        finally:
            with contextlib.suppress(Exception):
                client.close()

    @staticmethod
    def drop(uri: str, prefix: str, token: str | None = None) -> None:
        """Drop this prefix's collections (a scratch store's)."""
        client = MilvusStore.connect(uri, token)
        try:
            for collection in COLLECTIONS:
                if client.has_collection(f"{prefix}_{collection}"):
                    client.drop_collection(f"{prefix}_{collection}")
        finally:
            with contextlib.suppress(Exception):
                client.close()

    def open(self, *, reset: bool = False) -> MilvusStore:
        from pymilvus import MilvusException

        self._client = self.connect(self.uri, self.token)
        self._opened = True
        try:
            if reset:
                for collection in COLLECTIONS:
                    if self.client.has_collection(self.name(collection)):
                        self.client.drop_collection(self.name(collection))
            existing = {c for c in COLLECTIONS if self.client.has_collection(self.name(c))}
            if "meta" in existing and existing != set(COLLECTIONS):
                missing = ", ".join(self.name(c) for c in COLLECTIONS if c not in existing)
                raise IndexMismatchError(f"Milvus store {self.location} is incomplete (no {missing}); {REBUILD_HINT}")
            if not existing:
                self._create()
            elif "meta" not in existing:
                raise IndexMismatchError(f"Milvus store {self.location} has no meta collection; {REBUILD_HINT}")
            for collection in COLLECTIONS:  # before any read: a restarted engine comes back with them released
                self.client.load_collection(self.name(collection))
            self._check()
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

    def _create(self) -> None:
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        dimension = self.config.dimension

        def schema(*, auto_id: bool = False) -> Any:  # noqa: ANN401
            return MilvusClient.create_schema(auto_id=auto_id, enable_dynamic_field=False)

        def pad(s: Any, params: Any) -> None:  # noqa: ANN401
            # Milvus needs a vector field in every collection; these rows are found by key and filter only.
            s.add_field("pad", DataType.FLOAT_VECTOR, dim=2)
            params.add_index("pad", index_type="FLAT", metric_type="IP")

        def create(collection: str, s: Any, params: Any, *, mmap: bool = False) -> None:  # noqa: ANN401
            properties = {"mmap.enabled": "true"} if mmap else {}
            name = self.name(collection)
            self.client.create_collection(name, schema=s, consistency_level=self.consistency, properties=properties)
            # Indexes of an empty collection are ready at once: not waiting saves pymilvus' 0.5 s poll per index.
            self.client.create_index(name, params, sync=False)
            self.client.load_collection(name)

        # meta
        s, p = schema(), self.client.prepare_index_params()
        s.add_field("key", DataType.VARCHAR, max_length=256, is_primary=True)
        s.add_field("value", DataType.VARCHAR, max_length=MAX_VARCHAR)
        pad(s, p)
        create("meta", s, p)
        # documents: the heads
        s, p = schema(), self.client.prepare_index_params()
        s.add_field("doc_id", DataType.VARCHAR, max_length=1024, is_primary=True)
        s.add_field("write_id", DataType.INT64)
        s.add_field("content_hash", DataType.VARCHAR, max_length=256)
        s.add_field("meta", DataType.JSON)
        s.add_field("chunk_count", DataType.INT64)
        s.add_field("sentence_count", DataType.INT64)
        s.add_field("parts", DataType.INT64)
        pad(s, p)
        p.add_index("content_hash", index_type="INVERTED")
        create("documents", s, p)
        # texts
        s, p = schema(auto_id=True), self.client.prepare_index_params()
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        s.add_field("write_id", DataType.INT64)
        s.add_field("part", DataType.INT64)
        s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
        pad(s, p)
        p.add_index("write_id", index_type="INVERTED")
        p.add_index("doc_id", index_type="INVERTED")
        create("texts", s, p, mmap=True)
        # chunks
        s, p = schema(), self.client.prepare_index_params()
        s.add_field("chunk_id", DataType.INT64, is_primary=True)
        s.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        s.add_field("write_id", DataType.INT64)
        s.add_field("start", DataType.INT64)
        s.add_field("end", DataType.INT64)
        s.add_field(
            "terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=ANALYZER_PARAMS
        )
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        s.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["terms"],
                output_field_names=["sparse"],
            )
        )
        p.add_index("vector", index_type=self.index_type, metric_type="IP", params=INDEX_PARAMS[self.index_type])
        p.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        p.add_index("write_id", index_type="INVERTED")
        p.add_index("doc_id", index_type="INVERTED")
        create("chunks", s, p)
        # sentences: terms only for document frequencies (a BM25 posting list per term), vectors only fetched
        s, p = schema(auto_id=True), self.client.prepare_index_params()
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        s.add_field("write_id", DataType.INT64)
        s.add_field("ordinal", DataType.INT64)
        s.add_field("start", DataType.INT64)
        s.add_field("end", DataType.INT64)
        s.add_field(
            "terms",
            DataType.VARCHAR,
            max_length=MAX_VARCHAR,
            enable_analyzer=True,
            enable_match=True,
            analyzer_params=ANALYZER_PARAMS,
        )
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        s.add_function(
            Function(
                name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]
            )
        )
        p.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        p.add_index("vector", index_type="FLAT", metric_type="IP")
        p.add_index("write_id", index_type="INVERTED")
        p.add_index("doc_id", index_type="INVERTED")
        create("sentences", s, p, mmap=True)
        # writes: the journal
        s, p = schema(), self.client.prepare_index_params()
        s.add_field("key", DataType.VARCHAR, max_length=1100, is_primary=True)
        s.add_field("write_id", DataType.INT64)
        s.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        pad(s, p)
        p.add_index("write_id", index_type="INVERTED")
        create("writes", s, p)
        values = {
            "format_version": FORMAT_VERSION,
            "store_id": uuid.uuid4().hex,
            "generation": 0,
            **self.config.meta(),
        }
        self.client.insert(
            self.name("meta"), [{"key": k, "value": str(v), "pad": [1.0, 0.0]} for k, v in values.items()]
        )
        log.info("created Milvus store %s", self.location)

    def _meta(self) -> dict[str, str]:
        rows = self._query("meta", "", ["key", "value"])
        return {r["key"]: r["value"] for r in rows}

    def _check(self) -> None:
        meta = self._meta()
        version = meta.get("format_version")
        if version != str(FORMAT_VERSION):
            raise IndexMismatchError(
                f"Milvus store {self.location} has format version {version}, this service reads {FORMAT_VERSION}; "
                f"{REBUILD_HINT}"
            )
        self.config.check(IndexConfig.from_meta(meta), self.location)

    # ---- requests ------------------------------------------------------------------------------------------

    def _query(self, collection: str, expr: str, fields: list[str], *, limit: int | None = None) -> list[dict]:
        kwargs: dict[str, Any] = {"consistency_level": self.consistency}
        if limit is not None:
            kwargs["limit"] = limit
        elif expr == "":
            kwargs["limit"] = QUERY_WINDOW
        return list(self.client.query(self.name(collection), filter=expr, output_fields=fields, **kwargs))

    def _iterate(self, collection: str, expr: str, fields: list[str], batch: int = 1_000) -> Iterator[dict]:
        """Every matching row, in primary-key order, in pages (a query answers at most QUERY_WINDOW rows)."""
        iterator = self.client.query_iterator(
            self.name(collection), batch_size=batch, filter=expr, output_fields=fields,
            consistency_level=self.consistency,
        )  # fmt: skip
        try:
            while page := iterator.next():
                yield from page
        finally:
            iterator.close()

    def _count(self, collection: str, expr: str = "") -> int:
        rows = self.client.query(
            self.name(collection), filter=expr, output_fields=["count(*)"], consistency_level=self.consistency
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def _insert(self, collection: str, rows: list[dict]) -> None:
        for first in range(0, len(rows), INSERT_ROWS):
            self.client.insert(self.name(collection), rows[first : first + INSERT_ROWS])

    def heads(self, doc_ids: Sequence[str]) -> dict[str, _Head]:
        out: dict[str, _Head] = {}
        for part in batched(list(dict.fromkeys(doc_ids)), FILTER_ITEMS):
            for row in self._query("documents", _in("doc_id", part), HEAD_FIELDS, limit=len(part)):
                out[row["doc_id"]] = _Head.from_row(row)
        return out

    def sentence_frequency(self, term: str) -> int:
        """Sentences holding `term` (see `_Reader.sentence_frequencies`).

        On Milvus Lite the count stops at FREQUENCY_CAP: counting further means a TEXT_MATCH scan of every
        sentence (over a minute a question at 100k chunks), and Lite's search costs more the more hits it returns
        (at 450k sentences a word: 0.3 s with 64 hits, 0.5 s with 1,024, 1-6 s with 4,096). A word in that many
        sentences is common and weighs little either way; its weight is overstated, as if it were in
        FREQUENCY_CAP sentences (Lite is for tests and small archives; a server counts exactly)."""
        if not self.lite:
            return self._count("sentences", f"TEXT_MATCH(terms, {_quote(term)})")
        hits = self.client.search(
            self.name("sentences"),
            data=[term],
            anns_field="sparse",
            limit=FREQUENCY_CAP,
            search_params={"metric_type": "BM25"},
            output_fields=[],
            consistency_level=self.consistency,
        )
        return len(hits[0]) if hits else 0

    def generation(self) -> int:
        rows = self.client.query(
            self.name("meta"), ids=["generation"], output_fields=["value"], consistency_level=self.consistency
        )
        return int(rows[0]["value"]) if rows else 0

    # ---- reading -------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def read(self) -> Iterator[_Reader]:
        yield _Reader(self)

    # ---- writing -------------------------------------------------------------------------------------------

    def write(self, documents: Sequence[PreparedDocument]) -> int:
        """Rows first under a new write id, then the document rows (the commit), then the old version's rows."""
        if not documents:
            return self.generation()
        write_id = new_write_id()
        doc_ids = [p.document.doc_id for p in documents]
        old = self.heads(doc_ids)
        self._journal(write_id, doc_ids)
        texts, chunks, sentences, heads = [], [], [], []
        chunk_ids = self._new_chunk_ids(sum(len(p.chunks) for p in documents))
        for prepared in documents:
            d = prepared.document
            pieces = [d.text[i : i + TEXT_PIECE] for i in range(0, len(d.text), TEXT_PIECE)] or [""]
            texts.extend(
                {"doc_id": d.doc_id, "write_id": write_id, "part": i, "text": piece, "pad": [1.0, 0.0]}
                for i, piece in enumerate(pieces)
            )
            vectors = np.ascontiguousarray(prepared.chunk_vectors, dtype=np.float32)
            for (start, end), vector, words in zip(prepared.chunks, vectors, prepared.chunk_terms, strict=True):
                chunks.append(
                    {
                        "chunk_id": chunk_ids.pop(),
                        "doc_id": d.doc_id,
                        "write_id": write_id,
                        "start": start,
                        "end": end,
                        "terms": _fit(words),
                        "vector": vector.tolist(),
                    }
                )
            # float16 precision, as the embedded store keeps them: both stores score answers on the same values
            sentence_vectors = np.asarray(prepared.sentence_vectors, dtype=np.float16).astype(np.float32)
            for ordinal, ((start, end), vector, words) in enumerate(
                zip(prepared.sentences, sentence_vectors, prepared.sentence_terms, strict=True)
            ):
                sentences.append(
                    {
                        "doc_id": d.doc_id,
                        "write_id": write_id,
                        "ordinal": ordinal,
                        "start": start,
                        "end": end,
                        "terms": _fit(sorted(set(words))),  # presence is what a document frequency counts
                        "vector": vector.tolist(),
                    }
                )
            heads.append(
                {
                    "doc_id": d.doc_id,
                    "write_id": write_id,
                    "content_hash": d.content_hash,
                    "meta": {
                        "title": d.title,
                        "date": d.date,
                        "source": d.source,
                        "origin": prepared.origin,
                        "label": document_label(d.text[:LABEL_SOURCE_CHARS], d.title),  # for listings
                    },
                    "chunk_count": len(prepared.chunks),
                    "sentence_count": len(prepared.sentences),
                    "parts": len(pieces),
                    "pad": [1.0, 0.0],
                }
            )
        self._insert("texts", texts)
        self._insert("chunks", chunks)
        self._insert("sentences", sentences)
        self.client.upsert(self.name("documents"), heads)  # the commit: one request for the whole batch
        self.frequencies.clear()
        self._set_generation(write_id)
        self._remove_versions({doc_id: head.write_id for doc_id, head in old.items()})
        self.client.delete(self.name("writes"), filter=f"write_id == {write_id}")
        return write_id

    def delete(self, doc_ids: Sequence[str]) -> list[str]:
        """The document rows first (the commit; only if still the version read), then the rows under them."""
        old = self.heads(doc_ids)
        if not old:
            return []
        write_id = new_write_id()
        self._journal(write_id, list(old))
        for part in batched(list(old), FILTER_ITEMS):
            expr = " or ".join(f"(doc_id == {_quote(d)} and write_id == {old[d].write_id})" for d in part)
            self.client.delete(self.name("documents"), filter=expr)
        self.frequencies.clear()
        self._set_generation(write_id)
        self._remove_versions({doc_id: head.write_id for doc_id, head in old.items()})
        self.client.delete(self.name("writes"), filter=f"write_id == {write_id}")
        return [doc_id for doc_id in dict.fromkeys(doc_ids) if doc_id in old]

    def _journal(self, write_id: int, doc_ids: Sequence[str]) -> None:
        rows = [{"key": f"{write_id}:{d}", "write_id": write_id, "doc_id": d, "pad": [1.0, 0.0]} for d in doc_ids]
        self._insert("writes", rows)

    def _set_generation(self, write_id: int) -> None:
        self.client.upsert(self.name("meta"), [{"key": "generation", "value": str(write_id), "pad": [1.0, 0.0]}])

    def _new_chunk_ids(self, count: int) -> list[int]:
        """Random ids below 2**53 (exact in JSON), redrawn where one is taken."""
        ids: set[int] = set()
        while len(ids) < count:
            fresh = {secrets.randbits(53) for _ in range(count - len(ids))} - ids
            for part in batched(sorted(fresh), FILTER_ITEMS):
                taken = self.client.query(
                    self.name("chunks"), ids=part, output_fields=["chunk_id"], consistency_level=self.consistency
                )
                fresh -= {r["chunk_id"] for r in taken}
            ids |= fresh
        return list(ids)

    def _remove_versions(self, versions: dict[str, int]) -> None:
        """Delete the rows of these (document, write id) versions."""
        items = list(versions.items())
        for part in batched(items, FILTER_ITEMS):
            expr = f"{_in('doc_id', [d for d, _ in part])} and {_in('write_id', sorted({w for _, w in part}))}"
            for collection in ("chunks", "sentences", "texts"):
                self.client.delete(self.name(collection), filter=expr)

    # ---- cleaning up after crashes -------------------------------------------------------------------------

    def sweep(self, grace_s: float | None = None) -> int:
        """Settle journal entries older than the grace period: delete each such document's rows, up to that
        write, that its document row does not name. Returns the journal entries settled."""
        grace = self.orphan_grace_s if grace_s is None else grace_s
        cutoff = write_id_at(time.time() - grace)
        settled = 0
        seen: set[str] = set()
        while True:
            entries = self._query("writes", f"write_id < {cutoff}", ["key", "write_id", "doc_id"], limit=FILTER_ITEMS)
            if not entries or seen.issuperset(e["key"] for e in entries):  # none left, or none could be removed
                return settled
            seen.update(e["key"] for e in entries)
            newest: dict[str, int] = {}
            for entry in entries:
                newest[entry["doc_id"]] = max(newest.get(entry["doc_id"], 0), int(entry["write_id"]))
            current = self.heads(list(newest))
            conditions = []
            for doc_id, upto in newest.items():
                keep = current[doc_id].write_id if doc_id in current else -1
                conditions.append(f"(doc_id == {_quote(doc_id)} and write_id <= {upto} and write_id != {keep})")
            for part in batched(conditions, 100):
                expr = " or ".join(part)
                for collection in ("chunks", "sentences", "texts"):
                    self.client.delete(self.name(collection), filter=expr)
            self.client.delete(self.name("writes"), ids=[e["key"] for e in entries])
            settled += len(entries)
            log.info("settled %d unfinished writes in %s", len(entries), self.location)

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.sweep_interval_s):
            try:
                self.sweep()
            except Exception:  # a background clean-up must not take the service down; the next round retries
                log.exception("Milvus clean-up failed; retrying in %.0f s", self.sweep_interval_s)


class _Reader:
    """Reads of one question; each document is pinned to the version its document row named when first seen."""

    def __init__(self, store: MilvusStore) -> None:
        self._store = store
        self._heads: dict[str, _Head | None] = {}
        self._documents: dict[str, Document | None] = {}
        self.generation = -1

    def _pin(self, doc_ids: Sequence[str]) -> dict[str, _Head]:
        unseen = [d for d in dict.fromkeys(doc_ids) if d not in self._heads]
        if unseen:
            found = self._store.heads(unseen)
            for doc_id in unseen:
                self._heads[doc_id] = found.get(doc_id)
        return {d: head for d in doc_ids if (head := self._heads.get(d)) is not None}

    def stats(self) -> StoreStats:
        store = self._store
        return StoreStats(
            documents=store._count("documents"),
            chunks=store._count("chunks"),
            sentences=store._count("sentences"),
            generation=store.generation(),
        )

    def documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        heads = self._pin(doc_ids)
        wanted = [h for d, h in heads.items() if d not in self._documents]
        for part in batched(wanted, 100):
            expr = " or ".join(f"(doc_id == {_quote(h.doc_id)} and write_id == {h.write_id})" for h in part)
            pieces: dict[str, dict[int, str]] = {}
            for row in self._store._query("texts", expr, ["doc_id", "part", "text"], limit=QUERY_WINDOW):
                pieces.setdefault(row["doc_id"], {})[int(row["part"])] = row["text"]
            for head in part:
                got = pieces.get(head.doc_id, {})
                if len(got) != head.parts:  # the version was replaced and removed since it was pinned
                    self._documents[head.doc_id] = None
                    continue
                self._documents[head.doc_id] = Document(
                    doc_id=head.doc_id,
                    text="".join(got[i] for i in range(head.parts)),
                    title=head.title,
                    date=head.date,
                    source=head.source,
                    content_hash=head.content_hash,
                )
        return {d: doc for d in doc_ids if (doc := self._documents.get(d)) is not None}

    def summaries(
        self, *, offset: int = 0, limit: int | None = None, doc_ids: Sequence[str] | None = None
    ) -> list[DocumentSummary]:
        out: list[DocumentSummary] = []
        if limit == 0:
            return out
        if doc_ids is not None:
            heads = self._store.heads(doc_ids)
            rows: Iterable[dict] = []
            chosen = [heads[d] for d in dict.fromkeys(doc_ids) if d in heads]
        else:
            rows = self._store._iterate("documents", "", HEAD_FIELDS)
            chosen = None
        for i, head in enumerate(chosen if chosen is not None else (_Head.from_row(r) for r in rows)):
            if i < offset:
                continue
            out.append(
                DocumentSummary(
                    doc_id=head.doc_id,
                    title=head.title,
                    label=head.label,
                    date=head.date,
                    source=head.source,
                    chunks=head.chunk_count,
                )
            )
            if limit is not None and len(out) >= limit:
                break
        return out

    def states(self, doc_ids: Sequence[str]) -> dict[str, DocumentState]:
        found = self._store.heads(doc_ids)  # not pinned: ingest decides on what is committed now
        return {d: DocumentState(d, h.content_hash, h.origin) for d, h in found.items()}

    def ids_with_hashes(self, hashes: Sequence[str]) -> dict[str, str]:
        best: dict[str, tuple[int, str]] = {}
        for part in batched(list(dict.fromkeys(hashes)), FILTER_ITEMS):
            rows = self._store._query("documents", _in("content_hash", part), ["doc_id", "write_id", "content_hash"])
            for row in rows:
                key = (int(row["write_id"]), row["doc_id"])
                if row["content_hash"] not in best or key < best[row["content_hash"]]:
                    best[row["content_hash"]] = key
        return {h: doc_id for h, (_, doc_id) in best.items()}

    def _search(self, data: list, field: str, params: dict, k: int) -> list[tuple[int, float]]:
        store = self._store
        hits = store.client.search(
            store.name("chunks"),
            data=data,
            anns_field=field,
            limit=k,
            search_params=params,
            output_fields=[],
            consistency_level=store.consistency,
        )
        return [(int(h.id), float(h.distance)) for h in hits[0]] if hits else []

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        params = {"metric_type": "IP", "params": SEARCH_PARAMS[self._store.index_type]}
        return self._search([np.asarray(vector, dtype=np.float32).tolist()], "vector", params, k)

    def keyword_search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        if not terms:
            return []
        hits = self._search([_fit(terms)], "sparse", {"metric_type": "BM25"}, k)
        return [(chunk_id, abs(score)) for chunk_id, score in hits]  # Milvus Lite reports BM25 negated

    def hybrid_search(
        self, vector: np.ndarray, terms: Sequence[str], k: int, *, depth: int, rrf_k: int
    ) -> list[tuple[int, float]] | None:
        if not terms:
            return None  # a dense ranking alone: the retriever's fusion gives the same scale as with both
        from pymilvus import AnnSearchRequest, RRFRanker

        store = self._store
        requests = [
            AnnSearchRequest(
                data=[np.asarray(vector, dtype=np.float32).tolist()],
                anns_field="vector",
                param={"metric_type": "IP", "params": SEARCH_PARAMS[store.index_type]},
                limit=depth,
            ),
            AnnSearchRequest(data=[_fit(terms)], anns_field="sparse", param={"metric_type": "BM25"}, limit=depth),
        ]
        hits = store.client.hybrid_search(
            store.name("chunks"),
            requests,
            RRFRanker(rrf_k),
            limit=k,
            output_fields=[],
            consistency_level=store.consistency,
        )
        return [(int(h.id), float(h.distance)) for h in hits[0]] if hits else []

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
        rows: list[dict] = []
        for part in batched(list(dict.fromkeys(chunk_ids)), FILTER_ITEMS):
            rows.extend(
                self._store.client.query(
                    self._store.name("chunks"),
                    ids=part,
                    output_fields=["chunk_id", "doc_id", "write_id", "start", "end"],
                    consistency_level=self._store.consistency,
                )
            )
        heads = self._pin([r["doc_id"] for r in rows])
        committed = [r for r in rows if r["doc_id"] in heads and heads[r["doc_id"]].write_id == r["write_id"]]
        whole = self.documents([r["doc_id"] for r in committed])  # read now, so quotes come from this version
        return {
            int(r["chunk_id"]): StoredChunk(int(r["chunk_id"]), r["doc_id"], int(r["start"]), int(r["end"]))
            for r in committed
            if r["doc_id"] in whole
        }

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for part in batched(list(chunk_ids), FILTER_ITEMS):
            rows = self._store.client.query(
                self._store.name("chunks"),
                ids=part,
                output_fields=["chunk_id", "vector"],
                consistency_level=self._store.consistency,
            )
            for row in rows:
                out[int(row["chunk_id"])] = np.asarray(row["vector"], dtype=np.float32)
        return out

    def sentences(
        self, spans: Sequence[tuple[str, int, int]], *, margin: int = 1, vectors: bool = True
    ) -> dict[str, list[StoredSentence]]:
        heads = self._pin([doc_id for doc_id, _, _ in spans])
        spans = [s for s in spans if s[0] in heads]
        if not spans:
            return {}
        store = self._store
        # One filter on doc_id alone (an index lookup on a server; Milvus Lite scans every row, and a compound
        # filter scans slower: 1.9 s against 1.0 s at 450k sentences), this version's rows picked here, and the
        # vectors fetched by primary key.
        expr, fields = (
            _in("doc_id", sorted({d for d, _, _ in spans})),
            ["id", "doc_id", "write_id", "ordinal", "start", "end"],
        )
        rows = store._query("sentences", expr, fields, limit=QUERY_WINDOW)
        if len(rows) == QUERY_WINDOW:  # very long articles: more than one query answers, page through them
            rows = list(store._iterate("sentences", expr, fields))
        rows = [row for row in rows if row["write_id"] == heads[row["doc_id"]].write_id]
        wanted: dict[str, set[int]] = {}
        for doc_id, start, end in spans:
            ordinals = [
                int(r["ordinal"]) for r in rows if r["doc_id"] == doc_id and r["start"] < end and r["end"] > start
            ]
            if ordinals:
                wanted.setdefault(doc_id, set()).update(range(min(ordinals) - margin, max(ordinals) + margin + 1))
        chosen = sorted(
            (r for r in rows if int(r["ordinal"]) in wanted.get(r["doc_id"], ())), key=lambda r: int(r["ordinal"])
        )
        found: dict[int, np.ndarray] = {}
        for part in batched([int(r["id"]) for r in chosen] if vectors else [], FILTER_ITEMS):
            for row in store.client.query(
                store.name("sentences"), ids=part, output_fields=["id", "vector"], consistency_level=store.consistency
            ):
                found[int(row["id"])] = np.asarray(row["vector"], dtype=np.float32)
        out: dict[str, list[StoredSentence]] = {}
        for row in chosen:
            if vectors and int(row["id"]) not in found:  # removed since (its version was replaced): as if unseen
                continue
            out.setdefault(row["doc_id"], []).append(
                StoredSentence(
                    row["doc_id"], int(row["ordinal"]), int(row["start"]), int(row["end"]), found.get(int(row["id"]))
                )
            )
        return out

    def mentions(self, term: str) -> bool:
        """Whether a chunk holds `term`: a search of the keyword index with the word alone (exact words only:
        Milvus does not list its vocabulary, so a typo is not forgiven here as the embedded store forgives it)."""
        return bool(term.strip()) and bool(self._search([term], "sparse", {"metric_type": "BM25"}, 1))

    def sentence_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """Milvus keeps document frequencies but does not tell them, and counters that several replicas update
        would need locks it does not have. So each question word is counted among the sentences' terms: on a
        Milvus server with `count(*)` and TEXT_MATCH, which the terms' match index answers; on Milvus Lite,
        which scans rows for TEXT_MATCH, as the length of the word's posting list in the sentences' BM25 index
        (a search with the word alone: every sentence holding it scores above 0), up to FREQUENCY_CAP. All words
        in one round trip, and remembered for FREQUENCY_TTL_S, as is the number of sentences (under the key "",
        never a term)."""
        store = self._store
        unique = [t for t in dict.fromkeys(terms) if t.strip()]
        counts = store.frequencies.get(["", *unique])
        missing = [t for t in unique if t not in counts]
        total_future = None if "" in counts else store.pool.submit(store._count, "sentences")
        for term, count in zip(missing, store.pool.map(store.sentence_frequency, missing), strict=True):
            counts[term] = count
        if total_future is not None:
            counts[""] = total_future.result()
            missing.append("")
        store.frequencies.put({t: counts[t] for t in missing})
        total = counts.pop("")
        return total, {t: c for t, c in counts.items() if c}


class _Frequencies:
    """Document frequencies this process looked up lately: they change slowly, and idf = log(1 + N/df) hardly
    moves with them, so a question may use a count up to FREQUENCY_TTL_S old (this process's writes clear it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, int]] = {}

    def get(self, terms: Sequence[str]) -> dict[str, int]:
        now = time.monotonic()
        with self._lock:
            return {t: v[1] for t in terms if (v := self._values.get(t)) and now - v[0] < FREQUENCY_TTL_S}

    def put(self, counts: dict[str, int]) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._values) > 100_000:
                self._values.clear()
            self._values.update({t: (now, c) for t, c in counts.items()})

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


@contextlib.contextmanager
def lite_server(
    data_dir: Any,  # noqa: ANN401
    *,
    timeout_s: float = 60.0,
    stop_timeout_s: float = 300.0,
) -> Iterator[tuple[str, Any]]:
    """Milvus Lite as a server in a process of its own (what Milvus standalone is to a deployment): yields its
    URI and process. Several clients (API replicas, a writer, a benchmark) share it, and it outlives them."""
    import subprocess
    import sys

    from qa_service.devserver import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                MilvusStore.connect(uri).close()
                break
            except StoreUnavailableError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise StoreUnavailableError(f"Milvus Lite server on port {port} did not start") from None
                time.sleep(0.2)
        yield uri, process
    finally:
        process.terminate()  # its files are not always whole after a stop (seen: "Not an Arrow file" on restart)
        try:
            process.wait(timeout=stop_timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
