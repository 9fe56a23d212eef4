"""The CPU budget per document (QA_DOCUMENT_CPU_S): an article that would hold a core for minutes is refused.

Before it, one 0.5 MB `POST /documents` (open when no key is set) ran past 55 s and doubled every question's
latency meanwhile; a 5 MB one would have taken most of an hour.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.budget import CpuBudget
from qa_service.embedding import Embedder
from qa_service.embedding.pooling import Pooled, Span
from qa_service.ingest.clean import make_document
from qa_service.ingest.indexer import Incoming
from qa_service.ingest.pipeline import EMBED_SLICE
from qa_service.service import QAService
from tests.conftest import SEEDS, make_settings

SEED_TEXT = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt")))


LENGTH_UNLIMITED = 10_000_000  # QA_MAX_DOCUMENT_CHARS above these articles: the CPU budget is what is tested


def long_article(chars: int) -> str:
    """Seed paragraphs, each copy made distinct (cleaning drops repeated paragraphs)."""
    copies = []
    for n in range(chars // len(SEED_TEXT) + 1):
        copies.append("\n\n".join(f"{line} (part {n})" for line in SEED_TEXT.split("\n") if line.strip()))
    return "\n\n".join(copies)[:chars]


@pytest.fixture
def tight_service(tmp_path: Path, embedder: Embedder) -> Iterator[QAService]:
    """A budget of 0.2 s of CPU: well under what splitting 400 KB costs (about 2 s on the 2-core test machine); no
    length limit below that (QA_MAX_DOCUMENT_CHARS would refuse it first: tests/api/test_documents_limits.py)."""
    settings = make_settings(tmp_path / "index", document_cpu_s=0.2, max_document_chars=LENGTH_UNLIMITED)
    service = QAService(settings, embedder=embedder).load()
    yield service
    service.close()


def test_the_api_refuses_an_article_over_its_cpu_budget_with_413(tight_service: QAService) -> None:
    with TestClient(create_app(tight_service.settings, tight_service)) as client:
        response = client.post("/documents", json={"text": long_article(400_000), "doc_id": "huge"})
        assert response.status_code == 413, response.text
        detail = response.json()["detail"]
        assert "QA_DOCUMENT_CPU_S=0.2" in detail and "'huge'" in detail and "split it" in detail
        assert client.get("/health").json()["documents"] == 0
        assert client.get("/documents/huge").status_code == 404


def test_ingest_skips_a_file_over_its_budget_by_name_and_adds_the_rest(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a-huge.txt").write_text(long_article(1_500_000), encoding="utf-8")
    (folder / "b-short.txt").write_text("The delegation met officials in London on Monday.", encoding="utf-8")
    settings = make_settings(tmp_path / "index", document_cpu_s=2.0, max_document_chars=LENGTH_UNLIMITED)
    service = QAService(settings, embedder=embedder).load()
    try:
        report = service.ingest_paths([folder], progress=False)
        assert report.added == ["b-short"]
        assert list(report.errors) == [str(folder / "a-huge.txt")]
        assert "QA_DOCUMENT_CPU_S=2" in report.errors[str(folder / "a-huge.txt")]
        assert service.stats()["documents"] == 1
    finally:
        service.close()


class CountingEmbedder:
    """The real model, counting the texts it is given."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.embedded = 0
        self.dimension = inner.dimension

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray:
        self.embedded += len(texts)
        return self.inner.embed(texts, bulk=bulk)

    def embed_spans(self, texts: list[str], spans: Sequence[Sequence[Span]], *, bulk: bool = False) -> Pooled:
        self.embedded += len(texts)
        return self.inner.embed_spans(texts, spans, bulk=bulk)


def test_embedding_stops_at_the_first_slice_that_shows_the_rest_will_not_fit(
    tight_service: QAService, embedder: Embedder
) -> None:
    """Splitting is charged to a clock that stands still here, so only the (real) embedding counts."""
    indexer = tight_service.indexer
    counting = CountingEmbedder(embedder)
    indexer.embedder = counting  # type: ignore[assignment]
    document = make_document(long_article(100_000), "long")
    budget = CpuBudget(0.05, "long", clock=lambda: 0.0)
    prepared, refused = indexer.prepare([Incoming(document, budget=budget), Incoming(make_document("Short.", "s"))])
    assert [p.document.doc_id for p in prepared] == ["s"]
    assert [(item.document.doc_id, "embedding" in str(error)) for item, error in refused] == [("long", True)]
    texts = len(indexer.chunker.split(document, 0))  # one model pass per chunk: its sentences come with it
    assert texts > EMBED_SLICE  # more than one slice to embed
    assert counting.embedded <= EMBED_SLICE + 2  # the first slice, then no more of "long"


def test_a_budget_refuses_only_once_spent() -> None:
    now = [0.0]
    budget = CpuBudget(1.0, "doc", clock=lambda: now[0])
    with budget.active():
        now[0] = 0.9
    budget.check("splitting")  # 0.9 s of 1 s: fine
    budget.project("embedding", 0.05)
    with pytest.raises(Exception, match=r"would need about 2 s of CPU \(stopped while embedding\)"):
        budget.project("embedding", 1.1)
    budget.charge(0.2)
    with pytest.raises(Exception, match=r"needed more than 1 s of CPU \(stopped while chunking\)"):
        budget.check("chunking")
