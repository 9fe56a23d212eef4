"""The Milvus store's collections: their fields and indexes, the document row ("head"), and the upgrade of a
format-1 store (sentences without a `phrases` field: Milvus Lite cannot add a field to a collection, so the
sentences are copied, vectors and all, into a collection that has it; nothing is embedded again)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qa_service.store.base import IndexConfig
from qa_service.store.milvus.expressions import MAX_VARCHAR

log = logging.getLogger(__name__)

Row = dict[str, Any]
"""One row as pymilvus reads and writes it: field name -> value."""

FORMAT_VERSION = 2  # 2: sentences have `phrases` (nullable JSON text)
COLLECTIONS = ("meta", "documents", "texts", "chunks", "sentences", "writes")
QUERY_WINDOW = 16_384  # Milvus answers at most this many rows per query (offset + limit)
# Keyword terms come from `text.terms.terms` (stemmed, stopwords removed, the same as the embedded store indexes):
# Milvus only splits them on spaces, so both stores score the same terms with BM25.
ANALYZER_PARAMS = {"tokenizer": "standard", "filter": ["lowercase"]}
INDEX_PARAMS: dict[str, dict[str, int]] = {
    "FLAT": {},
    "IVF_FLAT": {"nlist": 1024},
    "IVF_SQ8": {"nlist": 1024},
    "HNSW": {"M": 16, "efConstruction": 200},
}
SEARCH_PARAMS: dict[str, dict[str, int]] = {
    "FLAT": {},
    "IVF_FLAT": {"nprobe": 32},
    "IVF_SQ8": {"nprobe": 32},
    "HNSW": {"ef": 128},
}
PAD = [1.0, 0.0]  # the value of the 2-d vector field that collections found by key and filter only must have
HEAD_FIELDS = ["doc_id", "write_id", "content_hash", "meta", "chunk_count", "sentence_count", "parts"]
SENTENCE_FIELDS = ["doc_id", "write_id", "ordinal", "start", "end", "terms", "vector"]  # what a copy carries


@dataclass(frozen=True)
class Head:
    """A document row: which write id holds the visible version, and what the listing needs."""

    doc_id: str
    write_id: int
    content_hash: str
    title: str | None
    date: str | None
    source: str | None
    origin: str | None
    label: str
    url: str | None
    author: str | None
    chunk_count: int
    sentence_count: int
    parts: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Head:
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
            url=meta.get("url"),
            author=meta.get("author"),
            chunk_count=int(row["chunk_count"]),
            sentence_count=int(row["sentence_count"]),
            parts=int(row["parts"]),
        )


class Creator:
    """Creates the collections of one store (`name` maps a collection to its prefixed name)."""

    def __init__(
        self,
        client: Any,  # pymilvus.MilvusClient
        name: Callable[[str], str],
        config: IndexConfig,
        *,
        index_type: str,
        consistency: str,
    ) -> None:
        self.client = client
        self.name = name
        self.config = config
        self.index_type = index_type
        self.consistency = consistency

    def all(self) -> None:
        self.meta()
        self.documents()
        self.texts()
        self.chunks()
        self.sentences(self.name("sentences"))
        self.writes()
        log.info("created Milvus collections %s", self.name("*"))

    def _schema(self, *, auto_id: bool = False) -> Any:
        from pymilvus import MilvusClient

        return MilvusClient.create_schema(auto_id=auto_id, enable_dynamic_field=False)

    @staticmethod
    def _pad(s: Any, params: Any) -> None:
        from pymilvus import DataType

        # Milvus needs a vector field in every collection; these rows are found by key and filter only.
        s.add_field("pad", DataType.FLOAT_VECTOR, dim=2)
        params.add_index("pad", index_type="FLAT", metric_type="IP")

    def _create(self, name: str, s: Any, params: Any, *, mmap: bool = False) -> None:
        properties = {"mmap.enabled": "true"} if mmap else {}
        self.client.create_collection(name, schema=s, consistency_level=self.consistency, properties=properties)
        # Indexes of an empty collection are ready at once: not waiting saves pymilvus' 0.5 s poll per index.
        self.client.create_index(name, params, sync=False)
        self.client.load_collection(name)

    def _bm25(self, s: Any) -> None:
        from pymilvus import Function, FunctionType

        s.add_function(
            Function(
                name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]
            )
        )

    def meta(self) -> None:
        from pymilvus import DataType

        s, p = self._schema(), self.client.prepare_index_params()
        s.add_field("key", DataType.VARCHAR, max_length=256, is_primary=True)
        s.add_field("value", DataType.VARCHAR, max_length=MAX_VARCHAR)
        self._pad(s, p)
        self._create(self.name("meta"), s, p)

    def documents(self) -> None:
        from pymilvus import DataType

        s, p = self._schema(), self.client.prepare_index_params()
        s.add_field("doc_id", DataType.VARCHAR, max_length=1024, is_primary=True)
        s.add_field("write_id", DataType.INT64)
        s.add_field("content_hash", DataType.VARCHAR, max_length=256)
        s.add_field("meta", DataType.JSON)
        s.add_field("chunk_count", DataType.INT64)
        s.add_field("sentence_count", DataType.INT64)
        s.add_field("parts", DataType.INT64)
        self._pad(s, p)
        p.add_index("content_hash", index_type="INVERTED")
        self._create(self.name("documents"), s, p)

    def texts(self) -> None:
        from pymilvus import DataType

        s, p = self._schema(auto_id=True), self.client.prepare_index_params()
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        s.add_field("write_id", DataType.INT64)
        s.add_field("part", DataType.INT64)
        s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
        self._pad(s, p)
        p.add_index("write_id", index_type="INVERTED")
        p.add_index("doc_id", index_type="INVERTED")
        self._create(self.name("texts"), s, p, mmap=True)

    def chunks(self) -> None:
        from pymilvus import DataType

        s, p = self._schema(), self.client.prepare_index_params()
        s.add_field("chunk_id", DataType.INT64, is_primary=True)
        s.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        s.add_field("write_id", DataType.INT64)
        s.add_field("start", DataType.INT64)
        s.add_field("end", DataType.INT64)
        s.add_field(
            "terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=ANALYZER_PARAMS
        )
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=self.config.dimension)
        self._bm25(s)
        p.add_index("vector", index_type=self.index_type, metric_type="IP", params=INDEX_PARAMS[self.index_type])
        p.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        p.add_index("write_id", index_type="INVERTED")
        p.add_index("doc_id", index_type="INVERTED")
        self._create(self.name("chunks"), s, p)

    def sentences(self, name: str) -> None:
        """Terms only for document frequencies (a BM25 posting list per term), vectors only fetched, phrases as
        compact JSON (`base.encode_phrases`; null: never typed)."""
        from pymilvus import DataType

        s, p = self._schema(auto_id=True), self.client.prepare_index_params()
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
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=self.config.dimension)
        s.add_field("phrases", DataType.VARCHAR, max_length=MAX_VARCHAR, nullable=True)
        self._bm25(s)
        p.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        p.add_index("vector", index_type="FLAT", metric_type="IP")
        p.add_index("write_id", index_type="INVERTED")
        p.add_index("doc_id", index_type="INVERTED")
        self._create(name, s, p, mmap=True)

    def writes(self) -> None:
        from pymilvus import DataType

        s, p = self._schema(), self.client.prepare_index_params()
        s.add_field("key", DataType.VARCHAR, max_length=1100, is_primary=True)
        s.add_field("write_id", DataType.INT64)
        s.add_field("doc_id", DataType.VARCHAR, max_length=1024)
        self._pad(s, p)
        p.add_index("write_id", index_type="INVERTED")
        self._create(self.name("writes"), s, p)

    def upgrade_sentences(self, rows: Callable[[], Any]) -> int:
        """Copy the sentences (from `rows()`, pages of SENTENCE_FIELDS) into a collection with `phrases` (null:
        untyped), then put it in the old one's place. Resumable: a copy left half-made is dropped and made again;
        one whose source was already dropped is only renamed. Run by one process, while nothing else writes."""
        target, copy = self.name("sentences"), self.name("sentences_v2")
        copied = 0
        if self.client.has_collection(target):
            if self.client.has_collection(copy):
                self.client.drop_collection(copy)
            self.sentences(copy)
            for page in rows():
                if page:
                    self.client.insert(copy, [{**r, "phrases": None} for r in page])
                    copied += len(page)
            self.client.drop_collection(target)
        self.client.rename_collection(copy, target)
        self.client.load_collection(target)
        log.info("Milvus store upgraded: %d sentences copied into %s with a phrases field", copied, target)
        return copied
