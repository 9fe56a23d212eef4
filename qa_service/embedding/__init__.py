"""Text embedders: the `Embedder` protocol, its back-ends (ONNX Runtime, torch, a fake) and query batching.

Nothing heavy is imported here: torch, onnxruntime and tokenizers load when a back-end is loaded.
"""

from __future__ import annotations

from qa_service.config import Settings
from qa_service.embedding.batching import BatchingEmbedder
from qa_service.embedding.fake import HashingEmbedder
from qa_service.embedding.onnx_export import Precision
from qa_service.embedding.onnx_runtime import OnnxEmbedder
from qa_service.embedding.protocol import Embedder, resolve_model_path
from qa_service.embedding.sentence_transformer import SentenceTransformerEmbedder

__all__ = [
    "BatchingEmbedder",
    "Embedder",
    "HashingEmbedder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "build_embedder",
    "build_model_embedder",
    "resolve_model_path",
]


def build_model_embedder(settings: Settings) -> Embedder:
    """The back-end the settings name, without query batching (`hashing-fake` is the test double).

    Threads: `QA_TORCH_THREADS` (1) per request while serving, `QA_INGEST_THREADS` (every core) for bulk
    embedding; see the back-ends for why.
    """
    name = settings.embedding_model
    if name == "hashing-fake":
        return HashingEmbedder()
    bulk_threads = settings.resolved_ingest_threads
    if settings.embedding_backend == "torch":
        return SentenceTransformerEmbedder(name, threads=settings.torch_threads, bulk_threads=bulk_threads)
    precision: Precision = "fp32" if settings.embedding_backend == "onnx-fp32" else "int8"
    return OnnxEmbedder(
        name,
        precision=precision,
        cache_dir=settings.resolved_onnx_cache_dir,
        threads=settings.torch_threads,
        bulk_threads=bulk_threads,
        document_precision=settings.document_precision,
    )


def build_embedder(settings: Settings) -> Embedder:
    """The embedder a service uses: the configured back-end, with concurrent questions batched
    (`QA_BATCH_WINDOW_MS`; 0 turns batching off)."""
    model = build_model_embedder(settings)
    if settings.batch_window_ms <= 0:
        return model
    return BatchingEmbedder(model, window_ms=settings.batch_window_ms)
