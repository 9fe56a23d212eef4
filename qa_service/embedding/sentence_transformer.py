"""The model's home: sentence-transformers loads it (weights, tokenizer, pooling) and runs it on torch."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_service.config import DEFAULT_EMBEDDING_MODEL
from qa_service.embedding.onnx_session import length_batches
from qa_service.embedding.pooling import Pooled, Span, sum_spans
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
        with self._threads(bulk):
            return self._encode(texts, show_progress)

    def embed_spans(self, texts: list[str], spans: Sequence[Sequence[Span]], *, bulk: bool = False) -> Pooled:
        """One forward pass per batch gives both outputs; offsets come from the same fast tokenizer."""
        import torch

        dimension = self.dimension
        out = np.zeros((len(texts), dimension), dtype=np.float32)
        sums: list[np.ndarray] = [np.zeros((0, dimension), dtype=np.float32)] * len(texts)
        counts: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(texts)
        tokenizer = self.model.tokenizer
        lengths = [self.count_tokens(text) + 2 for text in texts]
        with self._threads(bulk), torch.no_grad():
            for rows in length_batches(lengths, self.batch_size):
                features = tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_tokens,
                    return_offsets_mapping=True,
                    return_tensors="pt",
                )
                offsets = features.pop("offset_mapping").tolist()
                output = self.model(dict(features))
                vectors = output["sentence_embedding"].numpy()
                out[rows] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                tokens = output["token_embeddings"].numpy()
                for j, row in enumerate(rows):
                    sums[row], counts[row] = sum_spans(tokens[j], [(a, b) for a, b in offsets[j]], spans[row])
        return Pooled(out, sums, counts)

    @contextlib.contextmanager
    def _threads(self, bulk: bool) -> Iterator[None]:
        """Ingest: a large batch job, so every ingest thread works on it (2 threads ~doubles texts/s on 2 cores)."""
        if not bulk or not self.bulk_threads or self.bulk_threads == self.threads:
            yield
            return
        import torch

        with self._threads_lock:
            before = torch.get_num_threads()
            torch.set_num_threads(self.bulk_threads)
            try:
                yield
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
