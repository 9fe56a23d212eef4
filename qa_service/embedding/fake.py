"""A deterministic fake embedder: no model, millisecond tests, the same interface as the real ones."""

from __future__ import annotations

import hashlib

import numpy as np

from qa_service.text.terms import terms


class HashingEmbedder:
    """Bag-of-terms vectors hashed into `dimension` buckets and L2-normalised."""

    backend = "hashing"

    def __init__(self, dimension: int = 256, *, name: str = "hashing-fake", max_tokens: int = 256) -> None:
        self.name = name
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
