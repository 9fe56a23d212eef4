"""Chunks carry exact offsets and always fit the embedding model's window."""

from __future__ import annotations

from qa_service.embedding import Embedder, SentenceTransformerEmbedder
from qa_service.ingest.clean import iter_article_files, load_file
from qa_service.service import QAService
from qa_service.text.chunking import SPECIAL_TOKENS, Chunker
from tests.conftest import SEEDS


def test_chunk_offsets_are_exact_and_cover_the_text(embedder: Embedder) -> None:
    chunker = Chunker(64, 16, embedder.count_tokens, embedder.max_tokens)
    for document in (load_file(p) for p in iter_article_files([SEEDS])):
        chunks = chunker.split(document, first_chunk_id=100)
        assert chunks[0].chunk_id == 100
        for chunk in chunks:
            assert document.text[chunk.start : chunk.end] == chunk.text
            assert embedder.count_tokens(chunk.text) + SPECIAL_TOKENS <= embedder.max_tokens
        words = set(document.text.split())
        assert words == set(" ".join(c.text for c in chunks).split())


def test_default_chunks_never_exceed_the_model_limit(
    seed_service: QAService, torch_embedder: SentenceTransformerEmbedder
) -> None:
    documents = [seed_service.get_document(d.doc_id) for d in seed_service.list_documents()]
    chunks = [c for d in documents for c in seed_service.indexer.chunker.split(d, 0)]
    assert len(chunks) == seed_service.stats()["chunks"] > 5
    longest = max(len(torch_embedder.model.tokenizer(c.text)["input_ids"]) for c in chunks)
    assert longest <= torch_embedder.max_tokens


def test_chunk_size_beyond_model_limit_is_refused(embedder: Embedder) -> None:
    import pytest

    with pytest.raises(ValueError, match="QA_CHUNK_SIZE=400"):
        Chunker(400, 10, embedder.count_tokens, embedder.max_tokens)
