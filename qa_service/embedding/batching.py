"""Concurrent single-question embeddings of one process, embedded together in one call.

Eight requests that each embed one question on two cores fight for them; one call with eight questions costs
little more than one with a single question. The wrapper has no thread of its own: the first caller becomes the
leader, embeds every question queued by then (waiting up to the window for more only while requests have been
arriving together), hands the vectors out, and passes the lead to the first caller still queued. A request that
comes alone never waits for the window, and there is nothing to shut down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qa_service.embedding.pooling import Pooled, Span
from qa_service.embedding.protocol import Embedder


@dataclass(eq=False)
class _Request:
    text: str
    lead: bool = False  # this caller runs the next batch
    done: bool = False
    vector: np.ndarray | None = None
    error: BaseException | None = None


@dataclass
class BatchStats:
    """Counters for the benchmark and tests: how many calls went to the model, and in what batch sizes."""

    batches: int = 0
    requests: int = 0
    sizes: dict[int, int] = field(default_factory=dict)


class BatchingEmbedder:
    """Implements `Embedder` over `inner`; only `embed([one_text])` calls (not bulk) are batched."""

    def __init__(self, inner: Embedder, *, window_ms: float = 2.0, max_batch: int = 32) -> None:
        if window_ms < 0 or max_batch < 1:
            raise ValueError("window_ms must be >= 0 and max_batch >= 1")
        self.inner = inner
        self.window_s = window_ms / 1000
        self.max_batch = max_batch
        self.stats = BatchStats()
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._leading = False  # a leader is gathering or running a batch
        self._recent = 1  # size of the latest batch: how many questions tend to arrive together now
        self._closed = False

    # ---- the Embedder protocol, delegated -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def load(self) -> BatchingEmbedder:
        self.inner.load()
        return self

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_spans(self, texts: list[str], spans: Sequence[Sequence[Span]], *, bulk: bool = False) -> Pooled:
        return self.inner.embed_spans(texts, spans, bulk=bulk)  # ingest, never a question: nothing to batch

    def __getattr__(self, attribute: str) -> Any:
        """The inner back-end's other attributes, e.g. `.model` of the torch back-end."""
        if attribute == "inner":  # not set yet (unpickling): do not recurse
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)

    @property
    def recent_batch_size(self) -> int:
        """Size of the latest batch; the next leader waits (up to the window) for that many questions."""
        return self._recent

    def close(self) -> None:
        """Stop waiting for more questions; queued ones are still answered, later calls go straight through."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ---- batching ---------------------------------------------------------------------------------------------

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray:
        if len(texts) != 1 or bulk or self._closed:
            return self.inner.embed(texts, show_progress=show_progress, bulk=bulk)
        request = _Request(texts[0])
        with self._cond:
            self._queue.append(request)
            if self._leading:
                self._cond.notify_all()  # a leader waiting for company counts the queue again
                while not request.done and not request.lead:
                    self._cond.wait()
            else:
                self._leading = request.lead = True
        if not request.done:
            self._lead()
        if request.error is not None:
            raise request.error
        assert request.vector is not None
        return request.vector

    def _lead(self) -> None:
        """Gather a batch, embed it outside the lock, then pass the lead on (or give it up)."""
        batch: list[_Request] = []
        try:
            with self._cond:
                deadline = time.monotonic() + self.window_s
                wanted = min(self._recent, self.max_batch)
                while not self._closed and len(self._queue) < wanted:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            self._run(batch)
        finally:
            with self._cond:
                for request in batch:
                    if not request.done:  # only if _run itself was interrupted
                        request.error = request.error or RuntimeError("the batch was interrupted")
                        request.done = True
                if batch:
                    self._recent = len(batch)
                    self.stats.batches += 1
                    self.stats.requests += len(batch)
                    self.stats.sizes[len(batch)] = self.stats.sizes.get(len(batch), 0) + 1
                if self._queue:
                    self._queue[0].lead = True
                else:
                    self._leading = False
                self._cond.notify_all()

    def _run(self, batch: list[_Request]) -> None:
        try:
            vectors = self.inner.embed([request.text for request in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error, batch[0].done = exc, True
                return
            for request in batch:  # one bad text must not fail its neighbours: each alone keeps its own outcome
                try:
                    request.vector = np.asarray(self.inner.embed([request.text]), dtype=np.float32)
                except Exception as single:
                    request.error = single
                request.done = True
            return
        for row, request in enumerate(batch):
            request.vector = np.asarray(vectors[row : row + 1], dtype=np.float32).copy()
            request.done = True
