"""How bulk ingest shares the cores: the next batch read and analysed in a thread of its own while the model embeds
this one, embedding in slices charged to each document's CPU budget, and the clock that keeps the analysis thread's
time off the documents being embedded.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import numpy as np

from qa_service.budget import CpuBudget
from qa_service.embedding import Embedder
from qa_service.embedding.pooling import Pooled, Span
from qa_service.errors import DocumentTooCostlyError

EMBED_SLICE = 128  # texts embedded between two looks at the documents' CPU budgets
AHEAD = 1  # batches read and analysed ahead of the one being embedded (each is QA_INGEST_BATCH articles)

_Item = TypeVar("_Item")
_Batch = TypeVar("_Batch")
_Analysis = TypeVar("_Analysis")


class BulkClock:
    """The process's CPU time (the model's thread pool) less the analysis thread's, which works meanwhile on the
    next batch: a document's budget is charged with its own embedding only. Per calling thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def follow(self, clockid: int | None) -> None:
        self._local.side, self._local.side_s = clockid, 0.0

    def release(self) -> None:
        self._local.side = None

    def __call__(self) -> float:
        side = getattr(self._local, "side", None)
        if side is not None:
            with contextlib.suppress(OSError):  # the thread has ended: its last reading stands
                self._local.side_s = time.clock_gettime(side)
        return time.process_time() - float(getattr(self._local, "side_s", 0.0))


def read_ahead(
    batches: Iterable[_Batch],
    analyse: Callable[[_Batch, threading.Event], _Analysis | None],
    clock: BulkClock,
) -> Iterator[tuple[_Batch, _Analysis]]:
    """Each batch with its text analysis, read (files converted) and analysed (spaCy) a batch ahead in a thread
    of its own while the caller embeds and writes the batch before: the parse on one core beside the model.

    The queue holds AHEAD batches, so memory stays bounded. `analyse` returns None once the event is set (the
    caller stopped). `clock` leaves the thread's CPU time out while it runs.
    """
    ready: queue.Queue[tuple[_Batch, _Analysis] | BaseException | None] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def put(entry: tuple[_Batch, _Analysis] | BaseException | None) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                ready.put(entry, timeout=0.1)
                return

    def work() -> None:
        try:
            for batch in batches:
                analysed = analyse(batch, stop)
                if analysed is None:
                    return
                put((batch, analysed))
        except BaseException as error:  # the caller's to raise: a file that cannot be read, a closed store
            put(error)
        else:
            put(None)

    worker = threading.Thread(target=work, name="ingest-analysis", daemon=True)
    clockid = None
    worker.start()
    with contextlib.suppress(AttributeError, OSError):  # not on every platform: then process time alone
        clockid = time.pthread_getcpuclockid(worker.ident or 0)
    clock.follow(clockid)
    try:
        while (entry := ready.get()) is not None:
            if isinstance(entry, BaseException):
                raise entry
            yield entry
    finally:
        clock.release()
        stop.set()
        worker.join()


def embed_within_budgets(
    embedder: Embedder,
    texts: list[str],
    spans: list[list[Span]],
    owners: list[int],
    budgets: list[CpuBudget],
    *,
    clock: Callable[[], float],
    bulk: bool,
) -> tuple[Pooled, dict[int, DocumentTooCostlyError]]:
    """Vectors of `texts` and the token sums of their `spans` (`owners[i]` is the document of text i),
    embedded EMBED_SLICE at a time, longest first.

    Each slice's CPU time is charged to the documents in it by their share of its characters, and a document
    whose cost so far plus the rest at this rate is over its budget is refused at once: its remaining texts
    are not embedded (their rows stay zero; the caller drops the document).
    """
    dimension = embedder.dimension
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    sums = [np.zeros((len(own), dimension), dtype=np.float32) for own in spans]
    counts = [np.zeros(len(own), dtype=np.int64) for own in spans]
    left = [0] * len(budgets)
    for i, text in enumerate(texts):
        left[owners[i]] += len(text)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    over: dict[int, DocumentTooCostlyError] = {}
    for first in range(0, len(order), EMBED_SLICE):
        rows = [i for i in order[first : first + EMBED_SLICE] if owners[i] not in over]
        if not rows:
            continue
        began = clock()
        pooled = embedder.embed_spans([texts[i] for i in rows], [spans[i] for i in rows], bulk=bulk)
        vectors[rows] = pooled.vectors
        for j, i in enumerate(rows):
            sums[i], counts[i] = pooled.span_sums[j], pooled.span_counts[j]
        seconds_per_char = (clock() - began) / max(1, sum(len(texts[i]) for i in rows))
        for i in rows:
            budgets[owners[i]].charge(seconds_per_char * len(texts[i]))
            left[owners[i]] -= len(texts[i])
        for owner in {owners[i] for i in rows}:
            try:
                budgets[owner].project("embedding", seconds_per_char * left[owner])
            except DocumentTooCostlyError as error:
                over[owner] = error
    return Pooled(vectors, sums, counts), over


def in_batches(items: Iterable[_Item], size: int) -> Iterator[list[_Item]]:
    batch: list[_Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
