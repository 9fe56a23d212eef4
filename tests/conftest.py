"""Session-scoped fixtures: the real model and a seed-corpus index are built once per test run.

`seed_service`, `client` and `fresh_service` come once per store (`store_kind`: the embedded SQLite + FAISS store
and Milvus, here Milvus Lite in the test's folder), so every test that uses them runs against both. A test about
one store's files overrides it: `@pytest.mark.parametrize("store_kind", ["faiss"])`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from fastapi.testclient import TestClient  # noqa: E402

from qa_service.api import create_app  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.embedding import SentenceTransformerEmbedder  # noqa: E402
from qa_service.service import QAService  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
STORES = ("faiss", "milvus")


class _RememberingEmbedder(SentenceTransformerEmbedder):
    """The real model, run once per text per test run: the stores under test index the same seeds."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._seen: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self._seen]
        if new:
            self._seen.update(zip(new, super().embed(new, show_progress=show_progress, bulk=bulk), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._seen[t] for t in texts])


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    return _RememberingEmbedder(threads=2).load()


def server_env(index_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a server subprocess: none of this shell's `QA_*` settings, offline, over `index_dir`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("QA_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", QA_INDEX_DIR=str(index_dir), QA_SEEDS_DIR=str(SEEDS))
    env.update(extra)
    return env


def make_settings(index_dir: Path, **overrides: object) -> Settings:
    return Settings(index_dir=index_dir, seeds_dir=SEEDS, _env_file=None, **overrides)


def store_settings(store_kind: str) -> dict[str, object]:
    """Settings for a store of this kind; Milvus cleans up at once (no other process writes to a test's store)."""
    if store_kind == "milvus":
        return {"store": "milvus", "milvus_orphan_grace_s": 0.0, "milvus_sweep_interval_s": 0.0}
    return {"store": store_kind}


@pytest.fixture(scope="session", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def seed_service(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder, store_kind: str
) -> Iterator[QAService]:
    """The five seed articles, indexed with the real model; tests must not write to it."""
    index_dir = tmp_path_factory.mktemp(f"seed-index-{store_kind}")
    service = QAService(make_settings(index_dir, **store_settings(store_kind)), embedder=embedder).load()
    report = service.ingest_paths([SEEDS], progress=False)
    assert len(report.added) == 5, report
    yield service
    service.close()


@pytest.fixture(scope="session")
def client(seed_service: QAService) -> Iterator[TestClient]:
    with TestClient(create_app(seed_service.settings, seed_service)) as test_client:
        yield test_client


@pytest.fixture
def fresh_service(tmp_path: Path, embedder: SentenceTransformerEmbedder, store_kind: str) -> Iterator[QAService]:
    """An empty index of its own, for tests that write."""
    service = QAService(make_settings(tmp_path / "index", **store_settings(store_kind)), embedder=embedder).load()
    yield service
    service.close()


@contextlib.contextmanager
def milvus_server(data_dir: Path) -> Iterator[str]:
    """A Milvus Lite server in a process of its own (the engine a Milvus standalone would be): yields its URI."""
    from qa_service.store.milvus import lite_server

    with lite_server(data_dir) as (uri, _process):
        yield uri
