"""The model's home: sentence-transformers loads it (weights, tokenizer, pooling) and runs it on torch."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_service.config import DEFAULT_EMBEDDING_MODEL
from qa_service.embedding.protocol import resolve_model_path

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def load_sentence_transformer(name: str, **model_kwargs: Any) -> SentenceTransformer:
    """Load `name` offline on the CPU; one clear error whatever the library raised."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # unannotated upstream
    path = resolve_model_path(name)
    try:
        return SentenceTransformer(path, device="cpu", model_kwargs=model_kwargs or None)
    except Exception as exc:  # the library raises many types; the user needs one clear message
        raise RuntimeError(
            f"cannot load embedding model {name!r} from {path!r}: {exc}. "
            "QA_EMBEDDING_MODEL must be a local folder or a model already in the local cache "
            "(nothing is downloaded at run time)."
        ) from exc


def model_limits(model: SentenceTransformer, name: str) -> tuple[int, int]:
    """(vector dimension, longest input in tokens): what the index records and the chunker obeys."""
    dimension, max_tokens = model.get_embedding_dimension(), model.max_seq_length
    if dimension is None or max_tokens is None:
        raise RuntimeError(f"embedding model {name!r} does not state its vector dimension and input limit")
    return int(dimension), int(max_tokens)


class SentenceTransformerEmbedder:
    """Torch back-end. Cheap to construct; `load()` does the slow part, once, where the caller chooses."""

    backend = "torch"
    # torch's thread count is one setting per process: bulk calls change it for their duration, one at a time.
    _threads_lock = threading.Lock()

    def __init__(
        self,
        name: str = DEFAULT_EMBEDDING_MODEL,
        *,
        batch_size: int = 32,
        threads: int | None = None,
        bulk_threads: int | None = None,
    ) -> None:
        self.name = name
        self.batch_size = batch_size
        self.threads = threads
        self.bulk_threads = bulk_threads
        self._model: SentenceTransformer | None = None

    def load(self) -> SentenceTransformerEmbedder:
        if self._model is None:
            import torch

            # Serving: one thread per request. Concurrent requests each running an OpenMP team on 2 cores
            # oversubscribe the CPU and every request gets slower; requests in parallel use the cores instead.
            if self.threads:
                torch.set_num_threads(self.threads)
            self._model = load_sentence_transformer(self.name)
        return self

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            self.load()
        assert self._model is not None  # load() sets it
        return self._model

    @property
    def dimension(self) -> int:
        return model_limits(self.model, self.name)[0]

    @property
    def max_tokens(self) -> int:
        return model_limits(self.model, self.name)[1]

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer.tokenize(text))

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if not bulk or not self.bulk_threads or self.bulk_threads == self.threads:
            return self._encode(texts, show_progress)
        import torch

        # Ingest: a large batch job, so every ingest thread works on it (2 threads ~doubles texts/s on 2 cores).
        with self._threads_lock:
            before = torch.get_num_threads()
            torch.set_num_threads(self.bulk_threads)
            try:
                return self._encode(texts, show_progress)
            finally:
                torch.set_num_threads(before)

    def _encode(self, texts: list[str], show_progress: bool) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)
