"""Span vectors from one model pass: the token vectors that lie inside a character span, summed.

Ingest embeds each chunk once and derives its sentences' vectors from the same pass instead of running the
model again on every sentence (that second pass was half the model's time). The model's own pooling is the
mean of its token vectors, normalised; a sentence's vector is that mean over the tokens inside its span. Sums
and counts, not means, travel back, so that a sentence cut by a chunk boundary pools its two halves as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Span = tuple[int, int]  # character offsets into the text the model read


@dataclass(frozen=True)
class Pooled:
    """One pass over some texts: each text's vector (as `embed` gives it) and, per text, the sum of the token
    vectors inside each span asked for and how many tokens each sum holds."""

    vectors: np.ndarray
    span_sums: list[np.ndarray]  # per text: (spans, dimension) float32
    span_counts: list[np.ndarray]  # per text: (spans,) int


def sum_spans(tokens: np.ndarray, offsets: Sequence[Span], spans: Sequence[Span]) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts of the rows of `tokens` whose character start lies in each span.

    `offsets[i]` is token i's (start, end) in the text; special and padding tokens have start == end and
    belong to no span. Starts rise with i, so each span is one slice of a prefix sum.
    """
    dimension = tokens.shape[1]
    real = [i for i, (start, end) in enumerate(offsets[: len(tokens)]) if end > start]
    if not spans:
        return np.zeros((0, dimension), dtype=np.float32), np.zeros(0, dtype=np.int64)
    starts = np.array([offsets[i][0] for i in real], dtype=np.int64)
    prefix = np.zeros((len(real) + 1, dimension), dtype=np.float64)
    if real:
        np.cumsum(tokens[real], axis=0, out=prefix[1:])
    bounds = np.array(spans, dtype=np.int64).reshape(-1, 2)
    low = np.searchsorted(starts, bounds[:, 0], side="left")
    high = np.searchsorted(starts, bounds[:, 1], side="left")
    return (prefix[high] - prefix[low]).astype(np.float32), (high - low).astype(np.int64)


def span_vectors(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of each span's tokens, L2-normalised like the model's own output; a span of no token stays zero."""
    means = sums / np.maximum(counts, 1)[:, None]
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    vectors: np.ndarray = (means / np.where(norms == 0, 1.0, norms)).astype(np.float32)
    return vectors


def place_spans(texts: Sequence[Span], spans: Sequence[Span]) -> list[tuple[int, int, Span]]:
    """Where each span is read: (text index, span index, span in that text's own offsets).

    `texts` and `spans` are (start, end) in one document, in order (chunks and their sentences). A span inside
    one or more texts is read in the one where it sits most centrally (overlapping chunks: most context on both
    sides); one cut by a text's end is read in pieces, each character once, and its sums add up.
    """
    placed: list[tuple[int, int, Span]] = []
    first = 0
    for n, (start, end) in enumerate(spans):
        while first < len(texts) and texts[first][1] <= start:
            first += 1
        best, margin = -1, -1
        k = first
        while k < len(texts) and texts[k][0] <= start:
            if texts[k][1] >= end and min(start - texts[k][0], texts[k][1] - end) > margin:
                best, margin = k, min(start - texts[k][0], texts[k][1] - end)
            k += 1
        if best >= 0:
            placed.append((best, n, (start - texts[best][0], end - texts[best][0])))
            continue
        covered = start
        k = first
        while k < len(texts) and texts[k][0] < end and covered < end:
            piece_start, piece_end = max(covered, texts[k][0]), min(end, texts[k][1])
            if piece_end > piece_start:
                placed.append((k, n, (piece_start - texts[k][0], piece_end - texts[k][0])))
                covered = piece_end
            k += 1
    return placed
