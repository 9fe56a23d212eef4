"""The dense index: FAISS over chunk vectors keyed by chunk id, derived from the store and cached on disk.

The store's database is the source of truth; this index can always be rebuilt from it. The cache file holds a
one-line JSON header (store id, generation, FAISS type, count, and the SHA-256 of what follows) and the FAISS
index, written to a temporary file and renamed, so a cache on disk always describes exactly the index inside it.
The checksum catches what FAISS's own reading cannot: vectors overwritten in place, structure intact, which were
used silently (30 of 30 rankings and 22 of 30 answers changed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa_service.store.embedded.filters import ChunkSelection

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # 2: the header has `sha256`
_NO_DIGEST = "0" * 64


def resolve_factory(setting: str, size: int, *, exact_max: int) -> str:
    """The FAISS `index_factory` string to use for a corpus of `size` chunks.

    "auto": exact search (`Flat`) up to `exact_max` chunks, where it is fast enough and needs no training; past
    that an inverted file with 8-bit scalar quantisation (`IVFn,SQ8`, 4x less memory than float32, n about
    4 * sqrt(size)), which supports deletes (HNSW does not). Any other string is used as given.
    """
    if setting != "auto":
        return setting
    if size <= exact_max:
        return "Flat"
    nlist = 2 ** round(math.log2(4 * math.sqrt(size)))
    return f"IVF{nlist},SQ8"


class _ReadWriteLock:
    """Many searches at once; an update waits for them and holds new ones back briefly (FAISS is not
    safe for a search during an add or remove)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer)
            self._writer = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@dataclass(frozen=True)
class CacheTag:
    store_id: str
    generation: int
    factory: str
    dimension: int
    count: int


class DenseIndex:
    """A FAISS index that supports add and remove by chunk id; searches may run from many threads."""

    def __init__(self, index: Any, factory: str, dimension: int, *, nprobe: int, generation: int = 0) -> None:  # noqa: ANN401
        self._index = index
        self.factory = factory
        self.dimension = dimension
        self.generation = generation
        self._lock = _ReadWriteLock()
        self._set_nprobe(nprobe)

    # ---- construction ------------------------------------------------------------------------------------

    @classmethod
    def empty(cls, factory: str, dimension: int, *, nprobe: int) -> DenseIndex:
        import faiss

        try:
            if factory == "Flat" or not factory.startswith("IVF"):
                index = faiss.index_factory(dimension, f"IDMap2,{factory}", faiss.METRIC_INNER_PRODUCT)
            else:  # an inverted file keeps ids itself
                index = faiss.index_factory(dimension, factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:
            raise ValueError(f"QA_FAISS_INDEX={factory!r} is not a FAISS index_factory string FAISS accepts") from exc
        try:
            index.remove_ids(faiss.IDSelectorBatch(np.zeros(0, dtype=np.int64)))
        except RuntimeError as exc:
            raise ValueError(
                f"QA_FAISS_INDEX={factory!r} cannot delete vectors (HNSW cannot), and articles can be deleted; "
                "use Flat or an IVF type such as IVF4096,SQ8"
            ) from exc
        return cls(index, factory, dimension, nprobe=nprobe)

    @classmethod
    def build(
        cls,
        factory: str,
        dimension: int,
        batches: Iterable[tuple[np.ndarray, np.ndarray]],
        *,
        training_sample: np.ndarray | None,
        nprobe: int,
        generation: int,
    ) -> DenseIndex:
        """Train (if the type needs it) on `training_sample`, then add (ids, vectors) batches as they stream in."""
        dense = cls.empty(factory, dimension, nprobe=nprobe)
        if not dense._index.is_trained:
            if training_sample is None or len(training_sample) < _min_training(dense._index):
                log.warning("too few vectors to train %s; using exact search until the next rebuild", factory)
                dense = cls.empty("Flat", dimension, nprobe=nprobe)
            else:
                dense._index.train(np.ascontiguousarray(training_sample, dtype=np.float32))
        for ids, vectors in batches:
            dense._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        dense.generation = generation
        return dense

    def _set_nprobe(self, nprobe: int) -> None:
        """IVF types: lists searched per question, and a hash table from id to list, so that removing one
        article's chunks looks them up instead of scanning every list (7 ms -> 0.01 ms at a million)."""
        import faiss

        with contextlib.suppress(AttributeError, RuntimeError):  # only inverted files have these
            ivf = faiss.extract_index_ivf(self._index)
            ivf.nprobe = nprobe
            ivf.set_direct_map_type(faiss.DirectMap.Hashtable)

    # ---- use ---------------------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    def search(self, vector: np.ndarray, k: int, selection: ChunkSelection | None = None) -> list[tuple[int, float]]:
        """The `k` nearest chunks; with a `selection` (a filter), the `k` nearest among the chunks it allows."""
        if selection is not None and selection.include and not len(selection.ids):
            return []
        params, keep = self._search_params(selection)
        with self._lock.reading():
            if self._index.ntotal == 0:
                return []
            query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
            scores, ids = self._index.search(query, k, params=params)
        del keep
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _search_params(self, selection: ChunkSelection | None) -> tuple[Any, list[Any]]:
        """FAISS search parameters with an id selector (and the objects it points to, kept alive by the caller).
        An inverted file probes more lists when the filter allows a small share of the chunks, so that `k` of them
        are still found (all lists for under `nprobe / nlist`)."""
        import faiss

        if selection is None:
            return None, []
        batch = faiss.IDSelectorBatch(np.ascontiguousarray(selection.ids, dtype=np.int64))
        selector = batch if selection.include else faiss.IDSelectorNot(batch)
        try:
            ivf = faiss.extract_index_ivf(self._index)
        except (AttributeError, RuntimeError):
            return faiss.SearchParameters(sel=selector), [batch, selector]
        nprobe = ivf.nlist if selection.fraction <= 0 else min(ivf.nlist, math.ceil(ivf.nprobe / selection.fraction))
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe), [batch, selector]

    def apply(self, added: tuple[np.ndarray, np.ndarray] | None, removed: np.ndarray | None, generation: int) -> None:
        """Bring the index to `generation`: remove, then add (chunk ids are never reused)."""
        import faiss

        with self._lock.writing():
            if removed is not None and len(removed):
                ids = np.ascontiguousarray(removed, dtype=np.int64)
                self._index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids)))
            if added is not None and len(added[0]):
                ids, vectors = added
                self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
            self.generation = generation

    # ---- the cache file ----------------------------------------------------------------------------------

    def save(self, path: Path, store_id: str) -> None:
        """Write header + index to a temporary file, fsync, rename: a reader sees the old cache or the new one."""
        import faiss

        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with self._lock.reading():
            tag = CacheTag(store_id, self.generation, self.factory, self.dimension, self.count)
            digest = hashlib.sha256()

            def write(data: bytes) -> None:
                digest.update(data)
                fh.write(data)

            try:
                with tmp.open("wb") as fh:
                    fh.write(_header(tag, _NO_DIGEST))  # the same length as the real one, written over it below
                    faiss.write_index(self._index, faiss.PyCallbackIOWriter(write))
                    fh.seek(0)
                    fh.write(_header(tag, digest.hexdigest()))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: Path, *, nprobe: int) -> tuple[DenseIndex, CacheTag] | None:
        """The cached index, or None when there is none or it cannot be read (the caller rebuilds it)."""
        import faiss

        digest = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                header = json.loads(fh.readline())
                if header.pop("format", None) != CACHE_FORMAT:
                    log.warning("dense index cache %s is of an earlier format; rebuilding it from the store", path)
                    return None
                expected = header.pop("sha256")
                tag = CacheTag(**header)

                def read(size: int) -> bytes:
                    data = fh.read(size)
                    digest.update(data)
                    return data

                index = faiss.read_index(faiss.PyCallbackIOReader(read))
        except FileNotFoundError:
            return None
        except Exception as exc:  # truncated, garbled, another version: all mean "rebuild it"
            log.warning("dense index cache %s is unreadable (%s); rebuilding it from the store", path, exc)
            return None
        if digest.hexdigest() != expected:
            log.warning("dense index cache %s fails its checksum (damaged); rebuilding it from the store", path)
            return None
        if index.ntotal != tag.count or index.d != tag.dimension:
            log.warning("dense index cache %s does not match its header; rebuilding it from the store", path)
            return None
        return cls(index, tag.factory, tag.dimension, nprobe=nprobe, generation=tag.generation), tag


def _header(tag: CacheTag, sha256: str) -> bytes:
    return (json.dumps({"format": CACHE_FORMAT, **tag.__dict__, "sha256": sha256}) + "\n").encode()


def _min_training(index: Any) -> int:  # noqa: ANN401
    import faiss

    try:
        return int(faiss.extract_index_ivf(index).nlist)
    except (AttributeError, RuntimeError):
        return 1
