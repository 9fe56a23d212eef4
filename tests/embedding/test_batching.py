"""Query batching: same vectors as without it, each caller gets its own, errors stay with their caller."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Self

import numpy as np
import pytest

from qa_service.embedding import BatchingEmbedder, HashingEmbedder

QUESTIONS = [f"Who signed treaty number {i} with the river delegation?" for i in range(16)]


class RecordingEmbedder(HashingEmbedder):
    """The fake, slowed down per call (so concurrent callers overlap), recording every batch it is given."""

    def __init__(self, delay_s: float = 0.02, fail_on: str | None = None) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.fail_on = fail_on
        self.calls: list[list[str]] = []
        self._lock = threading.Lock()

    def load(self) -> Self:  # HashingEmbedder.load is typed as returning a HashingEmbedder, not Self
        return self

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray:
        with self._lock:
            self.calls.append(list(texts))
        time.sleep(self.delay_s)
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError(f"cannot embed {self.fail_on!r}")
        return super().embed(texts)


def ask_together(embedder: BatchingEmbedder, texts: list[str]) -> list[np.ndarray | BaseException]:
    """Each text from its own thread, released at once; results in the order of `texts`."""
    barrier = threading.Barrier(len(texts))

    def one(text: str) -> np.ndarray | BaseException:
        barrier.wait()
        try:
            return embedder.embed([text])
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(texts)) as pool:
        return list(pool.map(one, texts))


def test_concurrent_questions_share_model_calls_and_each_gets_its_own_vector() -> None:
    inner = RecordingEmbedder()
    batching = BatchingEmbedder(inner, window_ms=5)
    expected = HashingEmbedder().embed(QUESTIONS[:8])
    results = ask_together(batching, QUESTIONS[:8])
    for row, result in enumerate(results):
        assert isinstance(result, np.ndarray) and result.shape == (1, batching.dimension)
        np.testing.assert_array_equal(result[0], expected[row])
    assert len(inner.calls) < 8, inner.calls  # batched: fewer model calls than questions
    assert sorted(t for call in inner.calls for t in call) == sorted(QUESTIONS[:8])  # each question once
    assert batching.stats.requests == 8 and batching.stats.batches == len(inner.calls)


def test_many_rounds_keep_the_order_of_every_caller() -> None:
    inner = RecordingEmbedder(delay_s=0.002)
    batching = BatchingEmbedder(inner, window_ms=2, max_batch=4)  # more callers than one batch holds
    expected = HashingEmbedder().embed(QUESTIONS)
    for _ in range(5):
        for row, result in enumerate(ask_together(batching, QUESTIONS)):
            assert isinstance(result, np.ndarray), result
            np.testing.assert_array_equal(result[0], expected[row])
    assert max(len(call) for call in inner.calls) <= 4


def test_an_error_reaches_only_the_caller_whose_text_failed() -> None:
    inner = RecordingEmbedder(fail_on="boom")
    batching = BatchingEmbedder(inner, window_ms=5)
    texts = [*QUESTIONS[:3], "boom", *QUESTIONS[3:6]]
    results = ask_together(batching, texts)
    assert isinstance(results[3], ValueError) and "boom" in str(results[3])
    expected = HashingEmbedder().embed(texts)
    for row, result in enumerate(results):
        if row != 3:
            assert isinstance(result, np.ndarray), result
            np.testing.assert_array_equal(result[0], expected[row])
    # and the wrapper still works afterwards (the lead was handed back)
    np.testing.assert_array_equal(batching.embed([QUESTIONS[0]])[0], expected[0])


def test_a_lone_question_does_not_wait_for_the_window() -> None:
    waits: list[float | None] = []

    class CountingCondition(threading.Condition):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout)
            return super().wait(timeout)

    batching = BatchingEmbedder(RecordingEmbedder(delay_s=0), window_ms=2000)
    batching._cond = CountingCondition()  # noqa: SLF001 - the wait itself is what is checked, not a time
    for question in QUESTIONS[:5]:
        batching.embed([question])
    assert waits == []  # five lone calls, none waited for company
    assert batching.stats.sizes == {1: 5}


def test_bulk_and_multi_text_calls_go_straight_through() -> None:
    inner = RecordingEmbedder(delay_s=0)
    batching = BatchingEmbedder(inner, window_ms=5)
    np.testing.assert_array_equal(batching.embed(QUESTIONS[:3]), HashingEmbedder().embed(QUESTIONS[:3]))
    batching.embed([QUESTIONS[0]], bulk=True)
    assert inner.calls == [QUESTIONS[:3], [QUESTIONS[0]]]
    assert batching.stats.batches == 0
    assert (batching.name, batching.backend, batching.dimension) == ("hashing-fake", "hashing", 256)


def test_close_releases_a_leader_waiting_for_company_and_later_calls_still_work() -> None:
    inner = RecordingEmbedder(delay_s=0.01)
    batching = BatchingEmbedder(inner, window_ms=30_000)
    for _ in range(20):  # until a batch of several happened: the next leader then waits for company
        ask_together(batching, QUESTIONS[:4])
        if batching.recent_batch_size > 1:
            break
    assert batching.recent_batch_size > 1
    done = threading.Event()

    def lone() -> None:
        batching.embed([QUESTIONS[5]])
        done.set()

    thread = threading.Thread(target=lone, daemon=True)
    thread.start()
    assert not done.wait(0.3)  # waiting for company that never comes
    batching.close()
    assert done.wait(60), "close() did not release the waiting leader"  # a guard against hanging, not a time
    thread.join(5)
    np.testing.assert_array_equal(batching.embed([QUESTIONS[6]])[0], HashingEmbedder().embed([QUESTIONS[6]])[0])


@pytest.mark.parametrize("window_ms", [-1.0])
def test_bad_window_is_refused(window_ms: float) -> None:
    with pytest.raises(ValueError, match="window_ms"):
        BatchingEmbedder(HashingEmbedder(), window_ms=window_ms)
