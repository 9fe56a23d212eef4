"""Write ids and the journal of unfinished writes: what makes a write or delete whole without transactions.

Every write gets a new write id (time-ordered); its rows are inserted under it, then the document rows are
upserted (the commit), then the old version's rows and the journal rows are deleted. A crash leaves rows that
no document row names, and the journal names their documents: `sweep` settles entries older than the grace
period (a write younger than that may still be in flight in another replica).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa_service.store.base import batched
from qa_service.store.milvus.expressions import quote
from qa_service.store.milvus.schema import PAD

if TYPE_CHECKING:
    from qa_service.store.milvus.store import MilvusStore

log = logging.getLogger(__name__)

JOURNAL_PAGE = 500  # journal entries settled per round


def new_write_id() -> int:
    """Milliseconds since the epoch and 12 random bits: time-ordered across replicas, below 2**53 (JSON-safe)."""
    return (time.time_ns() // 1_000_000) << 12 | secrets.randbits(12)


def write_id_at(seconds: float) -> int:
    """The smallest write id a write started at `seconds` (epoch) can have."""
    return int(seconds * 1000) << 12


def begin(store: MilvusStore, write_id: int, doc_ids: Sequence[str]) -> None:
    """Journal the documents a write or delete is about to touch (before any of its rows)."""
    rows = [{"key": f"{write_id}:{d}", "write_id": write_id, "doc_id": d, "pad": PAD} for d in doc_ids]
    store.insert("writes", rows)


def end(store: MilvusStore, write_id: int) -> None:
    """The write is whole and the old rows gone: forget it."""
    store.client.delete(store.name("writes"), filter=f"write_id == {write_id}")


def sweep(store: MilvusStore, grace_s: float) -> int:
    """Settle journal entries older than the grace period: delete each such document's rows, up to that write,
    that its document row does not name. Returns the journal entries settled."""
    cutoff = write_id_at(time.time() - grace_s)
    settled = 0
    seen: set[str] = set()
    while True:
        entries = store.query("writes", f"write_id < {cutoff}", ["key", "write_id", "doc_id"], limit=JOURNAL_PAGE)
        if not entries or seen.issuperset(e["key"] for e in entries):  # none left, or none could be removed
            return settled
        seen.update(e["key"] for e in entries)
        newest: dict[str, int] = {}
        for entry in entries:
            newest[entry["doc_id"]] = max(newest.get(entry["doc_id"], 0), int(entry["write_id"]))
        current = store.heads(list(newest))
        conditions = []
        for doc_id, upto in newest.items():
            keep = current[doc_id].write_id if doc_id in current else -1
            conditions.append(f"(doc_id == {quote(doc_id)} and write_id <= {upto} and write_id != {keep})")
        for part in batched(conditions, 100):
            expr = " or ".join(part)
            for collection in ("chunks", "sentences", "texts"):
                store.client.delete(store.name(collection), filter=expr)
        store.client.delete(store.name("writes"), ids=[e["key"] for e in entries])
        settled += len(entries)
        log.info("settled %d unfinished writes in %s", len(entries), store.location)
