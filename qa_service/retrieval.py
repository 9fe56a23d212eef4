"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused, so rare names are found even when embeddings blur them."""

from __future__ import annotations

from dataclasses import dataclass

import bm25s
import faiss
import numpy as np

from qa_service.analysis import terms
from qa_service.store import IndexSnapshot

RRF_K = 60  # the constant from Cormack et al. (2009); damps the difference between neighbouring ranks


@dataclass(frozen=True)
class ScoredChunk:
    index: int  # position in snapshot.chunks
    score: float  # fused score scaled to 0..1 (1 = first in both rankings)
    dense: float  # cosine similarity of the question and the chunk


class HybridRetriever:
    """Built once per index snapshot; searching is read-only, so many threads may share one."""

    def __init__(self, snapshot: IndexSnapshot, *, dense_weight: float = 1.0, keyword_weight: float = 1.0) -> None:
        self.snapshot = snapshot
        self.dense_weight = dense_weight
        self.keyword_weight = keyword_weight
        self._faiss = faiss.IndexFlatIP(snapshot.config.dimension)
        if len(snapshot.chunk_vectors):
            self._faiss.add(snapshot.chunk_vectors)
        corpus_terms = [terms(_searchable_text(snapshot, i)) for i in range(len(snapshot.chunks))]
        self._has_terms = any(corpus_terms)
        self._bm25 = bm25s.BM25()
        if self._has_terms:
            self._bm25.index(corpus_terms, show_progress=False)

    def search(self, query_vector: np.ndarray, query: str, top_k: int) -> list[ScoredChunk]:
        n = len(self.snapshot.chunks)
        if n == 0:
            return []
        depth = min(n, max(50, top_k * 10))
        similarities, ids = self._faiss.search(query_vector.reshape(1, -1), depth)
        dense = {int(i): float(s) for i, s in zip(ids[0], similarities[0], strict=True) if i >= 0}
        fused: dict[int, float] = {}
        for rank, idx in enumerate(dense):
            fused[idx] = self.dense_weight / (RRF_K + rank + 1)
        query_terms = [t for t in terms(query) if t in self._vocabulary]
        if query_terms:
            scores = self._bm25.get_scores(query_terms)
            order = np.argsort(-scores)[:depth]
            for rank, idx in enumerate(int(i) for i in order if scores[i] > 0):
                fused[idx] = fused.get(idx, 0.0) + self.keyword_weight / (RRF_K + rank + 1)
        best = (self.dense_weight + self.keyword_weight) / (RRF_K + 1)
        ranked = sorted(fused.items(), key=lambda item: -item[1])[:top_k]
        cosine = self._cosines(query_vector, [idx for idx, _ in ranked], dense)
        return [ScoredChunk(index=idx, score=min(1.0, s / best), dense=cosine[idx]) for idx, s in ranked]

    @property
    def _vocabulary(self) -> dict[str, int]:
        return self._bm25.vocab_dict if self._has_terms else {}

    def _cosines(self, query_vector: np.ndarray, ids: list[int], known: dict[int, float]) -> dict[int, float]:
        missing = [i for i in ids if i not in known]
        extra = self.snapshot.chunk_vectors[missing] @ query_vector if missing else []
        return {**known, **{i: float(s) for i, s in zip(missing, extra, strict=True)}}


def _searchable_text(snapshot: IndexSnapshot, index: int) -> str:
    """Keyword search also sees the article title, which often names who and where."""
    chunk = snapshot.chunks[index]
    title = snapshot.documents[chunk.doc_id].title
    return f"{title}\n{chunk.text}" if title and not chunk.text.startswith(title) else chunk.text
