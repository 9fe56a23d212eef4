"""The reader at serving time: one ONNX Runtime session, one batched call per question.

Cost (MiniLM-L6, ~21 MFLOP a word piece): 4 candidates of ~50 word pieces are ~4 GFLOP, one call. The
session uses one thread: under concurrent requests each request keeps to its core (see README, threads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qa_service.config import DEFAULT_EMBEDDING_MODEL
from qa_service.reader.encoding import encode, load_tokenizer

MAX_ANSWER_PIECES = 24  # a short answer longer than this is a clause, not a phrase


@dataclass(frozen=True)
class Reading:
    """What the reader made of one sentence: how likely it answers, and the best short answer in it."""

    logit: float  # answerable, before the sigmoid
    span: tuple[int, int] | None  # characters in the sentence
    span_score: float  # start + end logit of that span

    @property
    def probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-self.logit))


class ReaderSession:
    """Cheap to construct; `load()` finds the reader's ONNX file in the cache (building it once if missing).

    Every session of a process over the same file shares one ONNX Runtime session (read-only, thread-safe)."""

    def __init__(
        self, cache_dir: Path, *, precision: Literal["fp32", "int8"] = "int8", base_model: str = DEFAULT_EMBEDDING_MODEL
    ) -> None:
        self.cache_dir, self.precision, self.base_model = cache_dir, precision, base_model
        self._session: Any = None
        self._tokenizer: Any = None
        self._context = 0

    def load(self) -> ReaderSession:
        if self._session is None:
            from qa_service.reader.package import ensure_reader

            files = ensure_reader(self.base_model, self.cache_dir)
            model = files.int8 if self.precision == "int8" else files.model
            self._session, self._tokenizer = _open(model, files.tokenizer)
            self._context = files.context
        return self

    def read(self, question: str, sentences: list[tuple[str, str]]) -> list[Reading]:
        """One reading per (sentence, the sentence before it), in order, from one batched call."""
        if not sentences:
            return []
        self.load()
        batch = encode(self._tokenizer, [(question, s, before) for s, before in sentences], self._context)
        start, end, answerable = self._session.run(None, batch.feed())
        return [_reading(float(answerable[i]), start[i], end[i], batch.offsets[i]) for i in range(len(sentences))]


@lru_cache(maxsize=4)
def _open(model: Path, tokenizer: Path) -> tuple[Any, Any]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one request, one core: concurrent questions use the others
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return session, load_tokenizer(tokenizer)


def _reading(logit: float, start: np.ndarray, end: np.ndarray, offsets: list[tuple[int, int] | None]) -> Reading:
    """The best start <= end within MAX_ANSWER_PIECES among the sentence's pieces."""
    inside = [i for i, o in enumerate(offsets) if o is not None]
    if not inside:
        return Reading(logit, None, float("-inf"))
    first, last = inside[0], inside[-1] + 1
    s, e = start[first:last], end[first:last]
    n = last - first
    # scores[i, j] = s[i] + e[j] for i <= j < i + MAX_ANSWER_PIECES
    scores = s[:, None] + e[None, :]
    i_idx, j_idx = np.indices((n, n))
    scores = np.where((j_idx >= i_idx) & (j_idx < i_idx + MAX_ANSWER_PIECES), scores, -np.inf)
    flat = int(np.argmax(scores))
    i, j = divmod(flat, n)
    a, b = offsets[first + i], offsets[first + j]
    assert a is not None and b is not None
    return Reading(logit, (a[0], b[1]), float(scores[i, j]))
