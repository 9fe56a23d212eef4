"""Session-scoped fixtures: the real model and a seed-corpus index are built once per test run.

`seed_service`, `client` and `fresh_service` come once per store (`store_kind`: the embedded SQLite + FAISS store
and Milvus, here Milvus Lite in the test's folder), so every test that uses them runs against both. A test about
one store's files overrides it: `@pytest.mark.parametrize("store_kind", ["embedded"])`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from fastapi.testclient import TestClient  # noqa: E402

from qa_service.api import create_app  # noqa: E402
from qa_service.config import Settings  # noqa: E402
from qa_service.embedding import Embedder, SentenceTransformerEmbedder, build_model_embedder  # noqa: E402
from qa_service.service import QAService  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
STORES = ("embedded", "milvus")
SEED_QUESTION = "Who met Dorothy Shea?"
"""The question most end-to-end tests ask: one answer in the seed articles, and a suggestion on the page."""


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default back-end (as a server started by a test uses), unbatched: indexes it builds are theirs too."""
    return build_model_embedder(Settings(_env_file=None, torch_threads=2)).load()


@pytest.fixture(scope="session")
def torch_embedder() -> SentenceTransformerEmbedder:
    """The model as sentence-transformers runs it: the reference the other back-ends are checked against."""
    return SentenceTransformerEmbedder(threads=2).load()


def server_env(index_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a server subprocess: none of this shell's `QA_*` settings, offline, over `index_dir`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("QA_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", QA_INDEX_DIR=str(index_dir), QA_SEEDS_DIR=str(SEEDS))
    env.update(extra)
    return env


def make_settings(index_dir: Path, **overrides: Any) -> Settings:  # Settings validates them
    return Settings(index_dir=index_dir, seeds_dir=SEEDS, _env_file=None, **overrides)


def store_settings(store_kind: str) -> dict[str, Any]:
    """Settings for a store of this kind; Milvus cleans up at once (no other process writes to a test's store)."""
    if store_kind == "milvus":
        return {"store": "milvus", "milvus_orphan_grace_s": 0.0, "milvus_sweep_interval_s": 0.0}
    return {"store": store_kind}


@pytest.fixture(scope="session", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def seed_service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, store_kind: str) -> Iterator[QAService]:
    """The five seed articles, indexed with the real model; tests must not write to it."""
    index_dir = tmp_path_factory.mktemp(f"seed-index-{store_kind}")
    service = QAService(make_settings(index_dir, **store_settings(store_kind)), embedder=embedder).load()
    report = service.ingest_paths([SEEDS], progress=False)
    assert len(report.added) == 5, report
    yield service
    service.close()


@pytest.fixture
def rules_seed_service(seed_service: QAService, monkeypatch: pytest.MonkeyPatch) -> QAService:
    """The seed service answering with the rules alone (`QA_ANSWERER=rules`), for one test: what that path does,
    or text that needs an answer only the rules give today."""
    monkeypatch.setattr(seed_service, "answerer", getattr(seed_service.answerer, "rules", seed_service.answerer))
    return seed_service


@pytest.fixture(scope="session")
def client(seed_service: QAService) -> Iterator[TestClient]:
    with TestClient(create_app(seed_service.settings, seed_service)) as test_client:
        yield test_client


@pytest.fixture
def fresh_service(tmp_path: Path, embedder: Embedder, store_kind: str) -> Iterator[QAService]:
    """An empty index of its own, for tests that write."""
    service = QAService(make_settings(tmp_path / "index", **store_settings(store_kind)), embedder=embedder).load()
    yield service
    service.close()


@contextlib.contextmanager
def milvus_server(data_dir: Path) -> Iterator[str]:
    """A Milvus Lite server in a process of its own (the engine a Milvus standalone would be): yields its URI."""
    from devtools.milvus_lite import lite_server

    with lite_server(data_dir) as (uri, _process):
        yield uri


class LogLines(logging.Handler):
    """Collects the messages of the loggers it is added to, for tests that read log lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


# ---- the browser tests (tests/browser.py; each of their modules defines `server`) ------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium (Debian's, with the flags in tests/browser.py), one per module."""
    from .browser import CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT_MS

    playwright_sync = pytest.importorskip("playwright.sync_api")
    playwright_sync.expect.set_options(timeout=UI_TIMEOUT_MS)
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def api(server: str) -> Iterator[httpx.Client]:
    """An HTTP client of the module's `server`."""
    with httpx.Client(base_url=server, timeout=120) as client:
        yield client
