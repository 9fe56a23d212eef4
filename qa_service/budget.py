"""A CPU budget per document: the write path gives up on an article that would cost more than QA_DOCUMENT_CPU_S.

`POST /documents` is open when no key is set, and the work of indexing grows with the article: a 0.5 MB text
needs about 50 s of CPU to split and embed on one core. Any code on the write path calls `checkpoint(stage)`;
while a budget is active (`with budget.active():`) that raises `DocumentTooCostlyError` once the document's
CPU time is spent, and does nothing otherwise, so the same code serves questions and writes. The embedding step,
which is most of the cost, also refuses early when the rate so far says the rest will not fit (`project`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from qa_service.errors import DocumentTooCostlyError, DocumentTooLargeError

Clock = Callable[[], float]

_active: ContextVar[CpuBudget | None] = ContextVar("qa_service_cpu_budget", default=None)


class CpuBudget:
    """CPU seconds one document may cost, counted on the clock of whoever works on it.

    The clock is the working thread's CPU time (`time.thread_time`), so questions answered by other threads
    at the same time are not charged to the document; bulk embedding, which runs on a pool of threads in a
    process that does nothing else, is charged with `charge()` from the process's CPU time.
    """

    def __init__(
        self, limit_s: float | None, name: str, *, clock: Clock = time.thread_time, max_chars: int | None = None
    ) -> None:
        self.limit_s = limit_s
        self.name = name
        self.max_chars = max_chars  # QA_MAX_DOCUMENT_CHARS: cleaned text longer than this is refused at once
        self.spent_s = 0.0
        self._clock = clock
        self._since: float | None = None

    @contextmanager
    def active(self) -> Iterator[CpuBudget]:
        """Charge this thread's CPU time to the document while the block runs; `checkpoint()` checks it."""
        token = _active.set(self)
        self._since = self._clock()
        try:
            yield self
        finally:
            self.spent_s += self._clock() - self._since
            self._since = None
            _active.reset(token)

    def spent(self) -> float:
        running = self._clock() - self._since if self._since is not None else 0.0
        return self.spent_s + running

    def charge(self, seconds: float) -> None:
        """Add CPU time measured elsewhere (a share of a bulk embedding call)."""
        self.spent_s += seconds

    def check(self, stage: str) -> None:
        if self.limit_s is not None and self.spent() > self.limit_s:
            raise self._refusal(stage, self.spent())

    def project(self, stage: str, remaining_s: float) -> None:
        """Refuse now when what is spent plus `remaining_s` (an estimate of the rest) is over the limit."""
        total = self.spent() + remaining_s
        if self.limit_s is not None and total > self.limit_s:
            raise self._refusal(stage, total, estimated=True)

    def _refusal(self, stage: str, seconds: float, *, estimated: bool = False) -> DocumentTooCostlyError:
        needs = f"would need about {seconds:.0f} s" if estimated else f"needed more than {self.limit_s:g} s"
        return DocumentTooCostlyError(
            f"document {self.name!r} is too large to index: it {needs} of CPU (stopped while {stage}), over "
            f"QA_DOCUMENT_CPU_S={self.limit_s:g}; split it into smaller articles"
        )


def check_size(chars: int) -> None:
    """Raise DocumentTooLargeError if the cleaned text is over the active budget's QA_MAX_DOCUMENT_CHARS: a long
    article is refused before its CPU budget is spent on it; without a budget, do nothing."""
    budget = _active.get()
    if budget is not None and budget.max_chars is not None and chars > budget.max_chars:
        raise DocumentTooLargeError(
            f"document {budget.name!r} is too large: {chars:,} characters after cleaning, over "
            f"QA_MAX_DOCUMENT_CHARS={budget.max_chars:,}; split it into smaller articles"
        )


def checkpoint(stage: str) -> None:
    """Raise DocumentTooCostlyError if the active document budget is spent; without one, do nothing."""
    budget = _active.get()
    if budget is not None:
        budget.check(stage)
