"""Persist the index as immutable snapshots, switched atomically, so a crash never loses the last good one.

Layout of `index/`:
    CURRENT              name of the live snapshot folder (replaced atomically with os.replace)
    snap-000042/         manifest.json, documents.jsonl, chunks.jsonl, sentences.jsonl,
                         chunks.faiss (FAISS inner-product index), sentences.npy
    .write.lock          serialises writers across processes
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from qa_service.errors import IndexCorruptError, IndexMismatchError
from qa_service.schemas import Chunk, Document, Sentence

FORMAT_VERSION = 1
KEEP_SNAPSHOTS = 2  # the live one plus its predecessor, which a concurrent reader may still be loading
REBUILD_HINT = "rebuild it with `qa-service ingest --rebuild <your articles>` (or delete the folder)"


@dataclass(frozen=True)
class IndexConfig:
    """What must match between the index on disk and the running service for results to mean anything."""

    embedding_model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int


@dataclass(frozen=True)
class IndexSnapshot:
    """One consistent, immutable state of the corpus; writers build a new one instead of mutating."""

    config: IndexConfig
    documents: dict[str, Document] = field(default_factory=dict)
    chunks: list[Chunk] = field(default_factory=list)
    chunk_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    sentences: list[Sentence] = field(default_factory=list)
    sentence_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    version: int = 0

    @classmethod
    def empty(cls, config: IndexConfig) -> IndexSnapshot:
        zeros = np.zeros((0, config.dimension), dtype=np.float32)
        return cls(config=config, chunk_vectors=zeros, sentence_vectors=zeros.copy())

    def manifest(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "embedding_model": self.config.embedding_model,
            "dimension": self.config.dimension,
            "chunking": {"chunk_size": self.config.chunk_size, "chunk_overlap": self.config.chunk_overlap},
            "counts": {"documents": len(self.documents), "chunks": len(self.chunks), "sentences": len(self.sentences)},
            "version": self.version,
        }


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexStore:
    """Reads and writes snapshots under one folder; cheap to construct, touches disk only when asked."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    def current_name(self) -> str | None:
        """Name of the live snapshot, or None for a new, empty index folder."""
        try:
            return self.current_file.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Exclusive across processes (several workers may share one index folder)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".write.lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def load(self, expected: IndexConfig) -> IndexSnapshot:
        """The live snapshot; raises a clear error if it was built differently or a file is damaged."""
        name = self.current_name()
        if name is None:
            return IndexSnapshot.empty(expected)
        folder = self.root / name
        manifest_path = folder / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(
                f"index file {manifest_path} is missing or unreadable ({exc}); {REBUILD_HINT}"
            ) from exc
        self._check_compatible(manifest, expected, manifest_path)
        for filename, checksum in manifest.get("checksums", {}).items():
            path = folder / filename
            if not path.is_file() or _sha256(path) != checksum:
                raise IndexCorruptError(f"index file {path} is missing, truncated or corrupted; {REBUILD_HINT}")
        try:
            documents = [Document(**row) for row in _read_jsonl(folder / "documents.jsonl")]
            chunks = [Chunk(**row) for row in _read_jsonl(folder / "chunks.jsonl")]
            sentences = [Sentence(**row) for row in _read_jsonl(folder / "sentences.jsonl")]
            faiss_index = faiss.read_index(str(folder / "chunks.faiss"))
            chunk_vectors = faiss_index.reconstruct_n(0, faiss_index.ntotal) if faiss_index.ntotal else None
            sentence_vectors = np.load(folder / "sentences.npy", allow_pickle=False)
        except Exception as exc:  # any parse error means the same thing to the user: this index is damaged
            raise IndexCorruptError(f"index {folder} cannot be read ({exc}); {REBUILD_HINT}") from exc
        if chunk_vectors is None:
            chunk_vectors = np.zeros((0, expected.dimension), dtype=np.float32)
        if len(chunk_vectors) != len(chunks) or len(sentence_vectors) != len(sentences):
            raise IndexCorruptError(f"index {folder} has mismatched file lengths; {REBUILD_HINT}")
        return IndexSnapshot(
            config=expected,
            documents={d.doc_id: d for d in documents},
            chunks=chunks,
            chunk_vectors=np.ascontiguousarray(chunk_vectors, dtype=np.float32),
            sentences=sentences,
            sentence_vectors=np.ascontiguousarray(sentence_vectors, dtype=np.float32),
            version=int(manifest.get("version", 0)),
        )

    @staticmethod
    def _check_compatible(manifest: dict[str, Any], expected: IndexConfig, path: Path) -> None:
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {path.parent} has format version {manifest.get('format_version')!r}, this service "
                f"reads version {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        found = IndexConfig(
            embedding_model=manifest.get("embedding_model"),
            dimension=manifest.get("dimension"),
            chunk_size=manifest.get("chunking", {}).get("chunk_size"),
            chunk_overlap=manifest.get("chunking", {}).get("chunk_overlap"),
        )
        if found != expected:
            differences = ", ".join(
                f"{key}: index has {getattr(found, key)!r}, settings say {getattr(expected, key)!r}"
                for key in expected.__dataclass_fields__
                if getattr(found, key) != getattr(expected, key)
            )
            raise IndexMismatchError(
                f"index {path.parent} was built with other settings ({differences}); {REBUILD_HINT}, "
                "or set QA_EMBEDDING_MODEL / QA_CHUNK_SIZE / QA_CHUNK_OVERLAP back to what it was built with"
            )

    def save(self, snapshot: IndexSnapshot) -> str:
        """Write a new snapshot folder completely, fsync it, then switch CURRENT to it in one rename."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"snap-{snapshot.version:06d}-{time.time_ns() % 10**9:09d}"
        staging = self.root / f".tmp-{name}"
        staging.mkdir()
        _write_jsonl(staging / "documents.jsonl", (d.model_dump() for d in snapshot.documents.values()))
        _write_jsonl(staging / "chunks.jsonl", (c.model_dump() for c in snapshot.chunks))
        _write_jsonl(staging / "sentences.jsonl", (s.model_dump() for s in snapshot.sentences))
        faiss_index = faiss.IndexFlatIP(snapshot.config.dimension)
        if len(snapshot.chunk_vectors):
            faiss_index.add(snapshot.chunk_vectors)
        faiss.write_index(faiss_index, str(staging / "chunks.faiss"))
        np.save(staging / "sentences.npy", snapshot.sentence_vectors, allow_pickle=False)
        manifest = snapshot.manifest()
        manifest["checksums"] = {p.name: _sha256(p) for p in sorted(staging.iterdir())}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for path in staging.iterdir():
            _fsync(path)
        os.rename(staging, self.root / name)
        pointer = self.root / f".CURRENT.{name}"
        pointer.write_text(name + "\n", encoding="utf-8")
        _fsync(pointer)
        os.replace(pointer, self.current_file)
        _fsync(self.root)
        self._prune(keep=name)
        return name

    def _prune(self, keep: str) -> None:
        snapshots = sorted(p for p in self.root.glob("snap-*") if p.is_dir())
        stale = [p for p in snapshots if p.name != keep][: max(0, len(snapshots) - KEEP_SNAPSHOTS)]
        for path in stale + list(self.root.glob(".tmp-*")):
            shutil.rmtree(path, ignore_errors=True)
