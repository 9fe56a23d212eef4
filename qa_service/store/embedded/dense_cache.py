"""The lifecycle of the embedded store's FAISS index in one process: load the cache or rebuild it from SQLite,
catch up from the change log when another write committed, save it for the next start.

SQLite is the source of truth: every process keeps its own index in memory and brings it up to date from the
change log (chunk ids added or removed per generation) when it sees a newer generation, so the cost of a write
is the size of the write. A process further behind than the log reaches (KEEP_CHANGES) rebuilds.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from qa_service.store.base import IndexConfig, batched
from qa_service.store.embedded.dense import DenseIndex, resolve_factory
from qa_service.store.embedded.schema import meta, stored_config

log = logging.getLogger(__name__)

CACHE_NAME = "dense.faiss"


class DenseCache:
    """The dense index of one process and where it stands against the database."""

    def __init__(
        self, root: Path, config: IndexConfig, where: str, *, faiss_setting: str, exact_max: int, nprobe: int
    ) -> None:
        self.root = root
        self.config = config
        self.where = where  # the database, for messages
        self.faiss_setting = faiss_setting
        self.exact_max = exact_max
        self.nprobe = nprobe
        self.index: DenseIndex | None = None
        self.saved_generation = -1

    def load(self, db: sqlite3.Connection, store_id: str) -> None:
        """Reuse the cache when it belongs to this store and the change log reaches back to it; else rebuild."""
        generation, size, changes_from = (int(meta(db, k)) for k in ("generation", "chunks", "changes_from"))
        factory = resolve_factory(self.faiss_setting, size, exact_max=self.exact_max)
        path = self.root / CACHE_NAME
        cached = DenseIndex.load(path, nprobe=self.nprobe)
        if cached is None and size and not path.exists():
            log.warning("dense index cache %s is missing; rebuilding it from the store", path)
        dense = None
        if cached is not None:
            index, tag = cached
            usable = (
                tag.store_id == store_id
                and tag.dimension == self.config.dimension
                and changes_from <= tag.generation <= generation
                and (tag.factory == factory or self.faiss_setting == "auto" and _same_family(tag.factory, factory))
            )
            if usable:
                dense = index
                self.saved_generation = tag.generation
        if dense is None:
            dense = self.build(db, factory, generation)
        self.index = dense
        self.catch_up(db, generation)
        if dense.count != size:
            log.warning("dense index holds %d vectors for %d chunks; rebuilding it", dense.count, size)
            self.index = self.build(db, factory, generation)

    def save(self, store_id: str) -> None:
        """Save the index for the next start, if it changed since it was last saved."""
        dense = self.index
        if dense is not None and dense.generation != self.saved_generation:
            started = time.perf_counter()
            dense.save(self.root / CACHE_NAME, store_id)
            self.saved_generation = dense.generation
            log.info("dense index saved (%d vectors) in %.1f s", dense.count, time.perf_counter() - started)

    def build(self, db: sqlite3.Connection, factory: str, generation: int) -> DenseIndex:
        import faiss

        started = time.perf_counter()
        dimension = self.config.dimension
        size = int(meta(db, "chunks"))
        sample = None
        if factory.startswith("IVF") and size:
            wanted = min(size, 40 * _nlist(factory))  # FAISS asks for ~39 training points a list
            step = max(1, size // wanted)
            rows = db.execute("SELECT vector FROM chunks WHERE chunk_id % ? = 0", (step,)).fetchall()
            sample = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float32).reshape(-1, dimension)

        def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            cursor = db.execute("SELECT chunk_id, vector FROM chunks ORDER BY chunk_id")
            while rows := cursor.fetchmany(20_000):
                ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                yield ids, vectors.reshape(len(rows), dimension)

        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(max(1, threads, os.cpu_count() or 1))  # a rebuild is bulk work: every core
        try:
            dense = DenseIndex.build(
                factory, dimension, batches(), training_sample=sample, nprobe=self.nprobe, generation=generation
            )
        finally:
            faiss.omp_set_num_threads(threads)
        if size:
            log.info("dense index %s built from %d vectors in %.1f s", factory, size, time.perf_counter() - started)
        self.saved_generation = -1
        return dense

    def catch_up(self, db: sqlite3.Connection, generation: int) -> None:
        """Apply the chunks added and removed since the index's generation (inside `db`'s snapshot)."""
        dense = self.index
        if dense is None or dense.generation >= generation:
            return
        if dense.generation < int(meta(db, "changes_from")):
            self.config.check(stored_config(db), self.where)  # another process may have rebuilt with other settings
            factory = resolve_factory(self.faiss_setting, int(meta(db, "chunks")), exact_max=self.exact_max)
            self.index = self.build(db, factory, generation)
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
        vectors = chunk_vectors(db, added_ids)
        present = np.fromiter((c for c in added_ids if c in vectors), dtype=np.int64)
        matrix = np.stack([vectors[c] for c in present.tolist()]) if len(present) else None
        dense.apply((present, matrix) if matrix is not None else None, removed, generation)


def chunk_vectors(db: sqlite3.Connection, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
    """The stored float32 vectors of these chunks."""
    out: dict[int, np.ndarray] = {}
    for part in batched(list(chunk_ids)):
        marks = ",".join("?" * len(part))
        for chunk_id, blob in db.execute(f"SELECT chunk_id, vector FROM chunks WHERE chunk_id IN ({marks})", part):
            out[chunk_id] = np.frombuffer(blob, dtype=np.float32)
    return out


def _same_family(cached: str, wanted: str) -> bool:
    """With QA_FAISS_INDEX=auto a cache stays usable while the corpus stays on the same side of the size limit."""
    return cached.startswith("IVF") == wanted.startswith("IVF")


def _nlist(factory: str) -> int:
    """The number of inverted lists an `IVFn,...` factory string asks for."""
    head = factory.split(",")[0]
    return int(head[3:]) if head[3:].isdigit() else 4096
