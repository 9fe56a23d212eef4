"""The torch back-end: bulk calls use the ingest threads and give them back; vectors do not change."""

from __future__ import annotations

import numpy as np

from qa_service.embedding import SentenceTransformerEmbedder


def test_bulk_uses_the_ingest_threads_then_restores_the_serving_count(embedder: SentenceTransformerEmbedder) -> None:
    import torch

    torch_embedder = SentenceTransformerEmbedder(threads=1, bulk_threads=2)
    torch_embedder._model = embedder.model  # same weights, no second load
    seen: list[int] = []
    real_encode = torch_embedder._encode

    def spy(texts: list[str], show_progress: bool) -> np.ndarray:
        seen.append(torch.get_num_threads())
        return real_encode(texts, show_progress)

    torch_embedder._encode = spy  # type: ignore[method-assign]
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        texts = ["The mayor opened a bridge.", "It cost 4 million dollars."]
        bulk = torch_embedder.embed(texts, bulk=True)
        single = torch_embedder.embed(texts)
        assert seen == [2, 1] and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)  # the session's other tests share this process
    assert torch_embedder.backend == "torch"
    np.testing.assert_allclose(bulk, single, atol=1e-5)
