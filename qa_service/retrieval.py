"""Hybrid retrieval: dense and keyword rankings fused, so rare names are found even when embeddings blur them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from qa_service.schemas import Filters
from qa_service.store import FusingReader, StoredChunk, StoreReader

RRF_K = 60  # the constant from Cormack et al. (2009); damps the difference between neighbouring ranks


@dataclass(frozen=True)
class RetrievedChunk:
    chunk: StoredChunk
    score: float  # fused score scaled to 0..1 (1 = first in both rankings)
    dense: float  # cosine similarity of the question and the chunk


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], weights: Sequence[float]) -> list[tuple[int, float]]:
    """Ids by the weighted sum of 1 / (RRF_K + rank), scaled so that first in every ranking scores 1."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + weight / (RRF_K + rank + 1)
    best = sum(weights) / (RRF_K + 1)
    return sorted(((item, min(1.0, score / best)) for item, score in fused.items()), key=lambda pair: -pair[1])


class HybridRetriever:
    """Stateless: every search reads one consistent view of the store, so many threads may share one."""

    def __init__(self, *, dense_weight: float = 1.0, keyword_weight: float = 1.0) -> None:
        self.dense_weight = dense_weight
        self.keyword_weight = keyword_weight

    def search(
        self,
        reader: StoreReader,
        query_vector: np.ndarray,
        query_terms: Sequence[str],
        top_k: int,
        filters: Filters | None = None,
    ) -> list[RetrievedChunk]:
        """The best `top_k` chunks for a query's vector and its `text.terms.terms`, of the documents `filters` allow
        (the store applies them, so top_k come back whenever that many chunks match)."""
        depth = max(50, top_k * 10)
        candidates: list[tuple[int, float]] | None = None
        dense: dict[int, float] = {}
        # an engine's RRF weighs both rankings alike; a dense ranking alone is fused here, on the same scale
        if reader.native_fusion and query_terms and self.dense_weight == self.keyword_weight:
            fusing = cast(FusingReader, reader)
            fused = fusing.hybrid_search(
                query_vector, query_terms, top_k * 2, depth=depth, rrf_k=RRF_K, filters=filters
            )
            best = 2 / (RRF_K + 1)  # first in both rankings: the same 0..1 scale as reciprocal_rank_fusion
            candidates = [(chunk_id, min(1.0, score / best)) for chunk_id, score in fused]
        if candidates is None:
            dense = dict(reader.dense_search(query_vector, depth, filters))
            keyword = [chunk_id for chunk_id, _ in reader.keyword_search(query_terms, depth, filters)]
            ranked = reciprocal_rank_fusion([list(dense), keyword], [self.dense_weight, self.keyword_weight])
            candidates = ranked[: top_k * 2]
        # A ranking may hold a chunk deleted since, or of a write not yet visible: only committed chunks are returned.
        stored = reader.chunks([chunk_id for chunk_id, _ in candidates])
        kept = [(chunk_id, score) for chunk_id, score in candidates if chunk_id in stored][:top_k]
        missing = [chunk_id for chunk_id, _ in kept if chunk_id not in dense]
        for chunk_id, vector in reader.chunk_vectors(missing).items():
            dense[chunk_id] = float(vector @ query_vector)
        return [
            RetrievedChunk(stored[chunk_id], score, dense[chunk_id]) for chunk_id, score in kept if chunk_id in dense
        ]
