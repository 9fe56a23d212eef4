"""The FAISS index derived from the store: type by corpus size, add/remove by chunk id, the cache file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa_service.store.embedded.dense import DenseIndex, resolve_factory


def _vectors(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, d)).astype(np.float32)
    unit: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return unit


def test_auto_is_exact_for_small_corpora_and_quantised_ivf_beyond() -> None:
    assert resolve_factory("auto", 10_000, exact_max=200_000) == "Flat"
    assert resolve_factory("auto", 1_000_000, exact_max=200_000) == "IVF4096,SQ8"
    assert resolve_factory("IVF256,Flat", 10, exact_max=200_000) == "IVF256,Flat"


@pytest.mark.parametrize("factory", ["Flat", "IVF16,SQ8"])
def test_add_remove_and_search_by_chunk_id(factory: str) -> None:
    vectors = _vectors(2_000)
    ids = np.arange(1_000, 3_000, dtype=np.int64)
    index = DenseIndex.build(factory, 32, [(ids, vectors)], training_sample=vectors, nprobe=16, generation=1)
    hits = index.search(vectors[5], 3)
    assert hits[0][0] == 1_005 and hits[0][1] == pytest.approx(1.0, abs=0.02)
    index.apply(None, np.array([1_005], dtype=np.int64), generation=2)
    assert 1_005 not in [i for i, _ in index.search(vectors[5], 10)]
    index.apply((np.array([9_999], dtype=np.int64), vectors[5:6]), None, generation=3)
    assert index.search(vectors[5], 1)[0][0] == 9_999
    assert (index.count, index.generation) == (2_000, 3)


def test_hnsw_is_refused_because_articles_can_be_deleted() -> None:
    with pytest.raises(ValueError, match="cannot delete vectors"):
        DenseIndex.empty("HNSW32", 32, nprobe=1)
    with pytest.raises(ValueError, match="not a FAISS index_factory string"):
        DenseIndex.empty("NoSuchIndex", 32, nprobe=1)


def test_too_few_vectors_to_train_fall_back_to_exact_search() -> None:
    vectors = _vectors(10)
    index = DenseIndex.build(
        "IVF64,SQ8", 32, [(np.arange(10, dtype=np.int64), vectors)], training_sample=vectors, nprobe=8, generation=1
    )
    assert index.factory == "Flat" and index.search(vectors[3], 1)[0][0] == 3


def test_cache_round_trip_and_damage(tmp_path: Path) -> None:
    vectors = _vectors(300)
    index = DenseIndex.build(
        "Flat", 32, [(np.arange(300, dtype=np.int64), vectors)], training_sample=None, nprobe=1, generation=7
    )
    path = tmp_path / "dense.faiss"
    index.save(path, "store-a")
    cached = DenseIndex.load(path, nprobe=1)
    assert cached is not None
    loaded, tag = cached
    assert (tag.store_id, tag.generation, tag.count, tag.factory) == ("store-a", 7, 300, "Flat")
    assert loaded.search(vectors[42], 1)[0][0] == 42
    path.write_bytes(path.read_bytes()[:-100])
    assert DenseIndex.load(path, nprobe=1) is None
    assert DenseIndex.load(tmp_path / "missing.faiss", nprobe=1) is None
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"
