"""What every store implements, and the records that cross its boundary.

Retrieval, answering and the API talk to a `DocumentStore` and a `StoreReader` only, so the embedded store
(SQLite + FAISS, `embedded/`) and a distributed engine (`milvus/`) can be swapped by a setting. Stores only store:
everything derived from a document's text (label, terms, sentence phrases) is computed by the indexer and arrives
in a `PreparedDocument`; no store module imports `ingest`, `text` or another store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, fields
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

from qa_service.errors import IndexMismatchError
from qa_service.schemas import Document, DocumentSummary, Filters, SourceCount

REBUILD_HINT = "rebuild it with `qa-service ingest --rebuild <your articles>` (or move the folder away)"


@dataclass(frozen=True)
class IndexConfig:
    """What must match between the stored vectors and the running service for results to mean anything."""

    embedding_model: str
    embedding_backend: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    analyzer: str  # version of `text.terms.terms`: keyword rows and term counts were computed with it

    def meta(self) -> dict[str, str | int]:
        """The `config.*` rows a store keeps about itself."""
        return {f"config.{k}": v for k, v in asdict(self).items()}

    @classmethod
    def from_meta(cls, meta: Mapping[str, str]) -> IndexConfig:
        """The config a store was built with, from its `config.*` rows (missing ones read as empty)."""
        values = {k.removeprefix("config."): v for k, v in meta.items() if k.startswith("config.")}
        return cls(
            embedding_model=values.get("embedding_model", ""),
            embedding_backend=values.get("embedding_backend", ""),
            dimension=int(values.get("dimension", 0)),
            chunk_size=int(values.get("chunk_size", 0)),
            chunk_overlap=int(values.get("chunk_overlap", 0)),
            analyzer=values.get("analyzer", ""),
        )

    def check(self, found: IndexConfig, where: str) -> None:
        """Raise IndexMismatchError naming every setting that differs (`found` is what the store holds)."""
        differences = [
            f"{f.name}: index has {getattr(found, f.name)!r}, settings say {getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(found, f.name) != getattr(self, f.name)
        ]
        if differences == [d for d in differences if d.startswith("analyzer:")] and differences:
            raise IndexMismatchError(
                f"index {where} was built by an earlier version of qa-service, which split words differently "
                f"({differences[0]}); {REBUILD_HINT}"
            )
        if differences:
            raise IndexMismatchError(
                f"index {where} was built with other settings ({', '.join(differences)}); {REBUILD_HINT}, "
                "or set QA_EMBEDDING_MODEL / QA_EMBEDDING_BACKEND / QA_CHUNK_SIZE / QA_CHUNK_OVERLAP back to "
                "what it was built with"
            )


@dataclass(frozen=True)
class TypedSpan:
    """A phrase of a sentence found once at ingest: a named entity or a noun chunk."""

    start: int  # offsets in the DOCUMENT text
    end: int
    label: str  # a spaCy entity label (PERSON, ORG, GPE, DATE, CARDINAL, MONEY, ...) or "NP" for a noun chunk


Phrases = tuple[TypedSpan, ...]


@dataclass(frozen=True)
class PreparedDocument:
    """A document with everything derived from it, ready to be written in one transaction."""

    document: Document
    origin: str | None  # the file it came from (None: the API); a different file may not take its id
    label: str  # a readable name for listings and citations (`ingest.clean.document_label`)
    chunks: list[tuple[int, int]]  # (start, end) in document.text
    chunk_terms: list[list[str]]  # keyword terms of each chunk (with the title), `text.terms.terms`
    chunk_vectors: np.ndarray  # float32, one row per chunk
    sentences: list[tuple[int, int]]
    sentence_terms: list[list[str]]
    sentence_vectors: np.ndarray  # one row per sentence (stored as float16)
    # one tuple per sentence (empty: typed, nothing found); None, or a list shorter than `sentences` (the
    # default: empty), for sentences never typed
    sentence_phrases: Sequence[Phrases | None] = ()

    def phrases_of(self, ordinal: int) -> Phrases | None:
        """The phrases of one sentence, None when it was not typed."""
        return self.sentence_phrases[ordinal] if ordinal < len(self.sentence_phrases) else None


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as stored: its text is `document.text[start:end]`, so it cannot drift from the document."""

    chunk_id: int
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class StoredSentence:
    doc_id: str
    ordinal: int  # position in its document, so neighbours are ordinal - 1 and + 1
    start: int
    end: int
    vector: np.ndarray | None  # float32; None when not asked for
    phrases: Phrases | None = None  # None: this sentence was never typed (an index built before typing)
    # `text.terms.terms` of its text as stored at ingest, so answering does not analyse it again; None: not
    # stored (an index written before sentence terms, not yet completed) or cut short by the store
    terms: frozenset[str] | None = None


@dataclass(frozen=True)
class StoreStats:
    documents: int
    chunks: int
    sentences: int
    generation: int  # increases with every committed write


@dataclass(frozen=True)
class DocumentState:
    """What ingest needs to decide add / replace / unchanged / conflict without loading the text."""

    doc_id: str
    content_hash: str
    origin: str | None


class DocumentReader(Protocol):
    """Documents and the parts they were cut into, as stored."""

    def stats(self) -> StoreStats: ...

    def documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        """The committed documents among these ids, each with the label stored with it."""
        ...

    def summaries(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        doc_ids: Sequence[str] | None = None,
        filters: Filters | None = None,
    ) -> list[DocumentSummary]:
        """In the order added, a page at a time (of those `filters` allow); or just those of `doc_ids` (never the
        whole archive by accident)."""
        ...

    def sources(self, filters: Filters | None = None) -> list[SourceCount]:
        """The outlets with their number of articles (of those `filters` allow), most articles first."""
        ...

    def states(self, doc_ids: Sequence[str]) -> dict[str, DocumentState]: ...

    def ids_with_hashes(self, hashes: Sequence[str]) -> dict[str, str]:
        """content hash -> doc_id, for the hashes already stored (duplicate detection)."""
        ...

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
        """The committed chunks among these ids (a chunk of a write not yet visible, or gone, is left out)."""
        ...

    def sentences(
        self, spans: Sequence[tuple[str, int, int]], *, margin: int = 1, vectors: bool = True
    ) -> dict[str, list[StoredSentence]]:
        """Per document, in order: the sentences overlapping each (doc_id, start, end) plus `margin` on each side,
        with their phrases (None: never typed) and, if asked, their vectors."""
        ...

    def export(self, batch: int = 100) -> Iterator[list[PreparedDocument]]:
        """Every document as `write` takes it (vectors, terms, label, phrases as stored), `batch` at a time in
        the order added: a copy into another store embeds and analyses nothing again."""
        ...


class VectorReader(Protocol):
    """The chunks' dense vectors."""

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """(chunk_id, cosine) best first, among the chunks of the documents `filters` allow (applied inside the
        engine: k of them whenever k match)."""
        ...

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]: ...


class KeywordReader(Protocol):
    """The keyword index and its term statistics; terms are what `text.terms.terms` makes."""

    def keyword_search(self, terms: Sequence[str], k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """(chunk_id, BM25 score) best first; `filters` as in `dense_search`."""
        ...

    def sentence_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """(number of sentences, {term: sentences holding it}) for the idf of answer scoring (terms in none are
        left out)."""
        ...

    def mentions(self, term: str) -> bool:
        """Whether some chunk holds this term or a typo of it (`typos.variants`: one letter or digit changed,
        added or dropped after the first two): for "the articles never mention Tokyo"."""
        ...


class FusingReader(Protocol):
    """A store whose engine fuses the dense and keyword rankings itself (`StoreReader.native_fusion`)."""

    def hybrid_search(
        self,
        vector: np.ndarray,
        terms: Sequence[str],
        k: int,
        *,
        depth: int,
        rrf_k: int,
        filters: Filters | None = None,
    ) -> list[tuple[int, float]]:
        """`depth` dense and `depth` keyword hits (`terms` not empty) fused by reciprocal rank, the best `k` as
        (chunk_id, sum of 1 / (rrf_k + rank)) with ranks from 1: what the retriever's own fusion computes;
        `filters` as in `dense_search`."""
        ...


class StoreReader(DocumentReader, VectorReader, KeywordReader, Protocol):
    """One consistent view of the store: every call sees the same committed state (on Milvus: the same version
    of each document). `native_fusion`: the reader is also a `FusingReader`; otherwise the retriever fuses
    `dense_search` and `keyword_search` itself, with the same formula."""

    native_fusion: bool


class DocumentStore(Protocol):
    """Cheap to construct; `open()` connects and loads what searching needs. Safe to share between threads."""

    config: IndexConfig
    location: str

    def open(self, *, reset: bool = False) -> DocumentStore:
        """Connect; create the store if missing. `reset` empties it and adopts `config` (ingest --rebuild)."""
        ...

    def close(self) -> None: ...

    def read(self) -> AbstractContextManager[StoreReader]: ...

    def write(self, documents: Sequence[PreparedDocument]) -> int:
        """Add or replace these documents, all or nothing; returns the new generation."""
        ...

    def delete(self, doc_ids: Sequence[str]) -> list[str]:
        """Remove these documents with everything derived from them, all or nothing; returns those that existed."""
        ...

    def flush(self) -> None:
        """Persist derived caches (e.g. the dense index) so the next start is fast; safe to skip."""
        ...


@runtime_checkable
class UpgradableStore(DocumentStore, Protocol):
    """A store that can bring an index written by an earlier version up to date (an optional protocol: a new
    engine starts with the current format and need not have it). The service runs it once at start-up."""

    def untyped_sentences(self, limit: int) -> list[tuple[str, int, int, int]]:
        """Up to `limit` (doc_id, ordinal, start, end) of sentences whose phrases are None (stored before sentences
        were typed at ingest), for the indexer to type them without embedding anything again."""
        ...

    def set_phrases(self, items: Sequence[tuple[str, int, Phrases]]) -> int:
        """Store the phrases of these (doc_id, ordinal) sentences, all or nothing; returns the sentences updated
        (a sentence of a document replaced or deleted meanwhile is left out)."""
        ...

    def incomplete_documents(self, limit: int) -> list[str]:
        """Up to `limit` ids of documents stored without what the indexer now derives at ingest (their label, the
        terms of their sentences): those of an index written by an earlier version."""
        ...

    def complete_documents(self, items: Sequence[tuple[str, str, Sequence[Sequence[str]]]]) -> int:
        """Store (doc_id, label, terms of each sentence) for documents `incomplete_documents` named, all or
        nothing; returns the documents updated."""
        ...


def encode_phrases(phrases: Phrases | None, sentence_start: int) -> str | None:
    """Phrases as compact JSON, offsets relative to the sentence (`[[0, 8, "PERSON"], ...]`); None stays None."""
    if phrases is None:
        return None
    return json.dumps(
        [[p.start - sentence_start, p.end - sentence_start, p.label] for p in phrases], separators=(",", ":")
    )


def decode_phrases(value: str | None, sentence_start: int) -> Phrases | None:
    """The inverse of `encode_phrases`: document offsets again."""
    if value is None:
        return None
    return tuple(TypedSpan(sentence_start + s, sentence_start + e, label) for s, e, label in json.loads(value))


_Item = TypeVar("_Item")


def batched(items: Sequence[_Item], size: int = 500) -> Iterator[list[_Item]]:
    """SQL parameter lists and engine requests in bounded pieces."""
    for i in range(0, len(items), size):
        yield list(items[i : i + size])
