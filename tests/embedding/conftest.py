"""Embedding tests compare every back-end with the model as sentence-transformers runs it (torch)."""

from __future__ import annotations

import pytest

from qa_service.embedding import SentenceTransformerEmbedder


@pytest.fixture(scope="session")
def embedder(torch_embedder: SentenceTransformerEmbedder) -> SentenceTransformerEmbedder:
    return torch_embedder
