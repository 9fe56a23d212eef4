"""Sentence document frequencies on Milvus, which keeps them but does not tell them: counted per word, and
remembered a while by each process."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa_service.store.milvus.expressions import quote

if TYPE_CHECKING:
    from qa_service.store.milvus.store import MilvusStore

FREQUENCY_CAP = 1_024  # Milvus Lite: sentence frequencies are counted up to this (see sentence_frequency)
FREQUENCY_TTL_S = 60.0  # how old a remembered document frequency may be


class Frequencies:
    """Document frequencies this process looked up lately: they change slowly, and idf = log(1 + N/df) hardly
    moves with them, so a question may use a count up to FREQUENCY_TTL_S old (this process's writes clear it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, int]] = {}

    def get(self, terms: Sequence[str]) -> dict[str, int]:
        now = time.monotonic()
        with self._lock:
            return {t: v[1] for t in terms if (v := self._values.get(t)) and now - v[0] < FREQUENCY_TTL_S}

    def put(self, counts: dict[str, int]) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._values) > 100_000:
                self._values.clear()
            self._values.update({t: (now, c) for t, c in counts.items()})

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def sentence_frequency(store: MilvusStore, term: str) -> int:
    """Sentences holding `term` (see `MilvusReader.sentence_frequencies`).

    On Milvus Lite the count stops at FREQUENCY_CAP: counting further means a TEXT_MATCH scan of every
    sentence (over a minute a question at 100k chunks), and Lite's search costs more the more hits it returns
    (at 450k sentences a word: 0.3 s with 64 hits, 0.5 s with 1,024, 1-6 s with 4,096). A word in that many
    sentences is common and weighs little either way; its weight is overstated, as if it were in
    FREQUENCY_CAP sentences (Lite is for tests and small archives; a server counts exactly)."""
    if not store.lite:
        return store.count("sentences", f"TEXT_MATCH(terms, {quote(term)})")
    hits = store.client.search(
        store.name("sentences"),
        data=[term],
        anns_field="sparse",
        limit=FREQUENCY_CAP,
        search_params={"metric_type": "BM25"},
        output_fields=[],
        consistency_level=store.consistency,
    )
    return len(hits[0]) if hits else 0
