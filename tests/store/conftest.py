"""Store tests run with the deterministic fake embedder: what they check does not depend on the model."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import pytest

from qa_service.config import Settings
from qa_service.ingest.clean import make_document
from qa_service.schemas import Document
from qa_service.service import QAService
from qa_service.store.embedded import EmbeddedStore
from qa_service.store.embedded.dense import DenseIndex
from qa_service.text.phrases import sentence_spans
from qa_service.text.terms import terms

from ..conftest import SEEDS

if TYPE_CHECKING:
    from qa_service.store.milvus import MilvusStore


def fake_settings(index_dir: Path, **overrides: Any) -> Settings:  # Settings validates them
    values = {"index_dir": index_dir, "seeds_dir": SEEDS, "embedding_model": "hashing-fake", **overrides}
    return Settings(_env_file=None, **values)


def embedded_store(service: QAService) -> EmbeddedStore:
    """The service's store as the embedded store it is (`QAService.store` is typed as the protocol)."""
    store = service.store
    assert isinstance(store, EmbeddedStore)
    return store


def dense_index(service: QAService) -> DenseIndex:
    """The embedded store's FAISS index (built by `load`)."""
    index = embedded_store(service).dense.index
    assert index is not None
    return index


def milvus_store(service: QAService) -> MilvusStore:
    """The service's store as the Milvus store it is."""
    from qa_service.store.milvus import MilvusStore

    store = service.store
    assert isinstance(store, MilvusStore)
    return store


@pytest.fixture
def fake_service(tmp_path: Path) -> QAService:
    return QAService(fake_settings(tmp_path / "index")).load()


QUESTION = "When will construction of the Riverton 3 library start?"


def untitled(doc_id: str = "untitled") -> Document:
    return make_document("Mayor Ada Quill opened the library in Paris on Monday. It holds 40,000 books.", doc_id)


def article_text(n: int, topic: str = "library") -> str:
    """A short titled article; `topic` changes its words, `n` its names and numbers."""
    return (
        f"Riverton {n} opens a {topic}\n\n"
        f"The town council of Riverton {n} approved a budget for a new public {topic} on Monday. "
        f"Construction will start in spring {2030 + n} and the {topic} will hold {n + 1}0,000 books. "
        f"Mayor Ada Quill{n} said the {topic} would open in {2032 + n}."
    )


def article(n: int, topic: str = "library") -> Document:
    """`article_text` cleaned as ingest cleans it (its first line becomes the title)."""
    return make_document(article_text(n, topic), f"riverton-{n}")


DocumentRow = tuple[str, str | None, str | None, str, int]  # text, title, date, content_hash, chunk_count
ChunkRow = tuple[str, int, int, bytes]  # doc_id, start, end, vector
SentenceRow = tuple[str, int, int, int, bytes]  # doc_id, ordinal, start, end, vector


class StoreRows(TypedDict):
    """What a store holds, as both stores' readers below return it (comparable across stores)."""

    documents: dict[str, DocumentRow]
    chunks: list[ChunkRow]
    sentences: list[SentenceRow]
    keyword_rows: list[set[str]]  # each chunk's keyword terms


class DatabaseRows(StoreRows):
    term_counts: dict[str, tuple[int, int]]  # term: (chunks, sentences) holding it
    meta: dict[str, str]


class MilvusRows(StoreRows):
    sentence_counts: dict[str, int]
    sentence_terms: dict[tuple[str, int], str]  # (doc_id, ordinal): its terms
    orphans: int  # rows of unfinished writes
    journal: int


def database_rows(index_dir: Path) -> DatabaseRows:
    """Everything the store holds, read straight from SQLite, to compare a store with a clean build of it."""
    db = sqlite3.connect(index_dir / "store.sqlite3")
    try:
        documents = {
            r[0]: r[1:]
            for r in db.execute("SELECT doc_id, text, title, date, content_hash, chunk_count FROM documents")
        }
        chunks = sorted(
            (doc_id, s, e, bytes(v))
            for doc_id, s, e, v in db.execute(
                'SELECT d.doc_id, c.start, c."end", c.vector FROM chunks c JOIN documents d ON d.id = c.doc'
            )
        )
        sentences = sorted(
            db.execute(
                'SELECT d.doc_id, s.ordinal, s.start, s."end", s.vector '
                "FROM sentences s JOIN documents d ON d.id = s.doc"
            )
        )
        keyword_rows = [set(r[0].split()) for r in db.execute("SELECT terms FROM chunk_fts")]
        term_counts = dict((t, (c, s)) for t, c, s in db.execute("SELECT term, chunks, sentences FROM terms"))
        meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('documents', 'chunks', 'sentences')"))
    finally:
        db.close()
    return {
        "documents": documents,
        "chunks": chunks,
        "sentences": sentences,
        "keyword_rows": keyword_rows,
        "term_counts": term_counts,
        "meta": meta,
    }


def assert_store_consistent(index_dir: Path) -> DatabaseRows:
    """Every document whole: its chunk and sentence rows, keyword rows and term counts all agree with its text."""
    rows = database_rows(index_dir)
    documents = rows["documents"]
    assert {c[0] for c in rows["chunks"]} == set(documents)
    for doc_id, (text, *_rest, chunk_count) in documents.items():
        mine = [c for c in rows["chunks"] if c[0] == doc_id]
        assert len(mine) == chunk_count
        assert [(s[2], s[3]) for s in rows["sentences"] if s[0] == doc_id] == sentence_spans(text)
    assert len(rows["keyword_rows"]) == len(rows["chunks"])
    expected: dict[str, list[int]] = {}
    for words in rows["keyword_rows"]:
        for term in words:
            expected.setdefault(term, [0, 0])[0] += 1
    for doc_id, (text, *_rest, _chunks) in documents.items():
        for _, start, end in ((s[0], s[2], s[3]) for s in rows["sentences"] if s[0] == doc_id):
            for term in set(terms(text[start:end])):
                expected.setdefault(term, [0, 0])[1] += 1
    assert rows["term_counts"] == {t: tuple(v) for t, v in expected.items()}
    assert rows["meta"] == {
        "documents": str(len(documents)),
        "chunks": str(len(rows["chunks"])),
        "sentences": str(len(rows["sentences"])),
    }
    return rows


def milvus_settings(index_dir: Path, uri: str = "", prefix: str = "qa", **overrides: Any) -> Settings:
    """Fake-embedder settings for the Milvus store (Milvus Lite in `index_dir` unless `uri` names a server)."""
    values = {
        "store": "milvus",
        "milvus_uri": uri,
        "milvus_prefix": prefix,
        "milvus_orphan_grace_s": 0.0,
        "milvus_sweep_interval_s": 0.0,
        **overrides,
    }
    return fake_settings(index_dir, **values)


def milvus_rows(uri: str, prefix: str = "qa") -> MilvusRows:
    """Every row of a Milvus store, read straight from Milvus: the committed view (rows of the version each
    document row names) and the rows no document row names (`orphans`, invisible to readers)."""
    from qa_service.store.milvus import MilvusStore

    client = MilvusStore.connect(uri)
    try:

        def rows(collection: str, fields: list[str]) -> list[dict[str, Any]]:
            iterator = client.query_iterator(f"{prefix}_{collection}", batch_size=1000, filter="", output_fields=fields)
            out: list[dict[str, Any]] = []
            while page := iterator.next():
                out.extend(page)
            iterator.close()
            return out

        heads = {r["doc_id"]: r for r in rows("documents", ["doc_id", "write_id", "content_hash", "meta", "chunk_count",
                                                            "sentence_count", "parts"])}  # fmt: skip
        live = {(d, int(h["write_id"])) for d, h in heads.items()}
        texts = rows("texts", ["doc_id", "write_id", "part", "text"])
        chunks = rows("chunks", ["doc_id", "write_id", "start", "end", "terms", "vector"])
        sentences = rows("sentences", ["doc_id", "write_id", "ordinal", "start", "end", "terms", "vector"])
        journal = rows("writes", ["key"])
    finally:
        client.close()

    def visible(row: dict[str, Any]) -> bool:
        return (row["doc_id"], int(row["write_id"])) in live

    pieces: dict[str, dict[int, str]] = {}
    for row in filter(visible, texts):
        pieces.setdefault(row["doc_id"], {})[int(row["part"])] = row["text"]
    documents = {
        d: (
            "".join(pieces.get(d, {}).get(i, "\0missing\0") for i in range(int(h["parts"]))),
            h["meta"]["title"],
            h["meta"]["date"],
            h["content_hash"],
            int(h["chunk_count"]),
        )
        for d, h in heads.items()
    }
    return {
        "documents": documents,
        "sentence_counts": {d: int(h["sentence_count"]) for d, h in heads.items()},
        "chunks": sorted(
            (r["doc_id"], r["start"], r["end"], np.asarray(r["vector"], dtype=np.float32).tobytes())
            for r in filter(visible, chunks)
        ),
        "sentences": sorted(
            (r["doc_id"], r["ordinal"], r["start"], r["end"], np.asarray(r["vector"], dtype=np.float16).tobytes())
            for r in filter(visible, sentences)
        ),
        "keyword_rows": [set(r["terms"].split()) for r in filter(visible, chunks)],
        "sentence_terms": {(r["doc_id"], r["ordinal"]): r["terms"] for r in filter(visible, sentences)},
        "orphans": sum(not visible(r) for r in (*texts, *chunks, *sentences)),
        "journal": len(journal),
    }


def assert_milvus_consistent(uri: str, prefix: str = "qa", *, settled: bool = True) -> MilvusRows:
    """Every visible document whole: text, chunks, sentences and their terms agree with it. `settled`: nothing
    is left of unfinished writes either (no orphan rows, an empty journal)."""
    rows = milvus_rows(uri, prefix)
    documents = rows["documents"]
    assert {c[0] for c in rows["chunks"]} == {d for d, v in documents.items() if v[4] > 0}
    for doc_id, (text, *_rest, chunk_count) in documents.items():
        assert "\0missing\0" not in text, f"{doc_id}: a piece of its text is missing"
        mine = [c for c in rows["chunks"] if c[0] == doc_id]
        assert len(mine) == chunk_count
        spans = [(s[2], s[3]) for s in rows["sentences"] if s[0] == doc_id]
        assert spans == sentence_spans(text) and len(spans) == rows["sentence_counts"][doc_id]
        for ordinal, (start, end) in enumerate(spans):
            assert rows["sentence_terms"][(doc_id, ordinal)] == " ".join(sorted(set(terms(text[start:end]))))
    if settled:
        assert (rows["orphans"], rows["journal"]) == (0, 0), "rows of unfinished writes are left"
    return rows
