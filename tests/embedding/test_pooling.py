"""Span vectors from one model pass: both back-ends pool the tokens inside a span the same way, and a span is
read where it sits (whole in one chunk, or in pieces across two)."""

from __future__ import annotations

import numpy as np
import pytest

from qa_service.embedding import Embedder, OnnxEmbedder, SentenceTransformerEmbedder
from qa_service.embedding.pooling import place_spans, span_vectors, sum_spans

PARTS = [
    "The council of Riverton approved the budget on Monday.",
    "Work on the new library starts in spring.",
    "Mayor Ada Quill said it would hold 40,000 books.",
]
TEXT = " ".join(PARTS)
SENTENCES = [(TEXT.index(part), TEXT.index(part) + len(part)) for part in PARTS]


def test_place_spans_reads_a_span_whole_where_it_is_most_central_else_in_pieces() -> None:
    chunks = [(0, 100), (80, 200), (190, 300)]
    placed = place_spans(chunks, [(10, 50), (88, 96), (150, 195), (195, 250)])
    assert placed == [
        (0, 0, (10, 50)),  # only in the first
        (1, 1, (8, 16)),  # in both the first and the second: the second has more room around it
        (1, 2, (70, 115)),
        (2, 3, (5, 60)),
    ]
    cut = place_spans([(0, 100), (100, 200)], [(90, 120)])  # no chunk holds it: each character read once
    assert cut == [(0, 0, (90, 100)), (1, 0, (0, 20))]


def test_sum_spans_takes_the_tokens_that_start_inside_and_skips_special_ones() -> None:
    tokens = np.arange(12, dtype=np.float32).reshape(6, 2)
    offsets = [(0, 0), (0, 3), (4, 7), (7, 8), (9, 12), (0, 0)]  # [CLS] ... [SEP]
    sums, counts = sum_spans(tokens, offsets, [(0, 8), (9, 12), (12, 20)])
    np.testing.assert_array_equal(sums, [[2 + 4 + 6, 3 + 5 + 7], [8, 9], [0, 0]])
    assert counts.tolist() == [3, 1, 0]
    vectors = span_vectors(sums, counts)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0) and not vectors[2].any()


@pytest.fixture(scope="module")
def backends(embedder: SentenceTransformerEmbedder) -> list[Embedder]:
    return [embedder, OnnxEmbedder(precision="fp32", bulk_threads=2).load()]  # the user's ONNX cache: built once


def test_one_pass_gives_the_texts_vectors_and_each_sentences_own(backends: list[Embedder]) -> None:
    """The text's vector is `embed`'s; a sentence's pooled vector is nearer its own text embedded alone than any
    other sentence's (the offsets pick the right tokens), and the back-ends agree."""
    alone = backends[0].embed([TEXT[s:e] for s, e in SENTENCES])
    pooled = []
    for backend in backends:
        result = backend.embed_spans([TEXT, "x"], [SENTENCES, []], bulk=True)
        assert np.sum(result.vectors * backend.embed([TEXT, "x"]), axis=1).min() > 0.9999
        assert result.span_counts[0].tolist() == [backend.count_tokens(TEXT[s:e]) for s, e in SENTENCES]
        assert result.span_sums[1].shape == (0, backend.dimension)
        vectors = span_vectors(result.span_sums[0], result.span_counts[0])
        similarity = vectors @ alone.T
        assert similarity.argmax(axis=1).tolist() == [0, 1, 2] and similarity.diagonal().min() > 0.6, similarity
        pooled.append(vectors)
    assert np.sum(pooled[0] * pooled[1], axis=1).min() > 0.9999
