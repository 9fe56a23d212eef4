"""Reaching Milvus: one clear error for an engine that cannot be reached, and the questions asked before a store
is opened (does this prefix's store exist; drop a scratch one)."""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from qa_service.errors import QAServiceError
from qa_service.store.milvus.schema import COLLECTIONS


class StoreUnavailableError(QAServiceError):
    """The configured Milvus cannot be reached or refused the request."""


class _LiteIteratorNotice(logging.Filter):
    """Milvus Lite has no MVCC timestamp for iterators and pymilvus warns on every listing; a server has one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "failed to get mvccTs" not in record.getMessage()


logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_LiteIteratorNotice())


def connect(uri: str, token: str | None = None) -> Any:  # noqa: ANN401 - pymilvus.MilvusClient, imported lazily
    """A MilvusClient, or one clear error naming the URI (pymilvus' own is a gRPC trace). For Milvus Lite in this
    process (a path), one whose writes are applied one at a time (`SerialWrites`)."""
    from pymilvus import MilvusClient, MilvusException

    if "://" not in uri:
        from qa_service.store.milvus.repair import remove_torn_index_files

        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        remove_torn_index_files(Path(uri))  # before the engine starts in this process and loads them
    try:
        client = MilvusClient(uri=uri, token=token or "", timeout=10)
    except MilvusException as exc:
        raise StoreUnavailableError(f"cannot connect to Milvus at {uri}: {exc.message}") from exc
    if "://" in uri:
        return client
    with _LOCKS_LOCK:
        lock = _LITE_WRITE_LOCKS.setdefault(str(Path(uri).resolve()), threading.Lock())
    return SerialWrites(client, lock)


class SerialWrites:
    """A MilvusClient whose requests that change Milvus Lite run one at a time in this process.

    Milvus Lite (3.2.2) applies concurrent inserts, upserts and deletes to a collection without a lock of its
    own: two at once interleave their records in the collection's write-ahead log (an Arrow IPC stream), and when
    the engine starts again after a kill its recovery stops at the garbled record ("Invalid IPC message"),
    dropping every later write, acknowledged ones too: 4 of 152 documents answered 201 were lost in 15 SIGKILLs
    during 4-writer bursts, and rows of unfinished writes were left with no journal entry to remove them. Lite
    inside this process is this process's alone (it holds a lock on its folder), so a lock here orders every
    write it gets. Reads are not held back.
    """

    def __init__(self, client: Any, lock: threading.Lock) -> None:  # noqa: ANN401 - a pymilvus.MilvusClient
        self._client = client
        self._lock = lock

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        attribute = getattr(self._client, name)
        if name not in _CHANGES:
            return attribute

        def one_at_a_time(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            with self._lock:
                return attribute(*args, **kwargs)

        return one_at_a_time


_CHANGES = frozenset(
    {
        "insert",
        "upsert",
        "delete",
        "flush",
        "create_collection",
        "create_index",
        "drop_collection",
        "rename_collection",
        "load_collection",
        "release_collection",
    }
)
_LITE_WRITE_LOCKS: dict[str, threading.Lock] = {}  # one per Milvus Lite folder opened in this process
_LOCKS_LOCK = threading.Lock()


def exists(uri: str, prefix: str, token: str | None = None) -> bool:
    """True when Milvus holds this prefix's store (even empty); a Milvus Lite path that is missing does not."""
    if "://" not in uri and not Path(uri).exists():
        return False
    client = connect(uri, token)
    try:
        return bool(client.has_collection(f"{prefix}_meta"))
    finally:
        with contextlib.suppress(Exception):
            client.close()


def drop(uri: str, prefix: str, token: str | None = None) -> None:
    """Drop this prefix's collections (a scratch store's)."""
    client = connect(uri, token)
    try:
        for collection in COLLECTIONS:
            if client.has_collection(f"{prefix}_{collection}"):
                client.drop_collection(f"{prefix}_{collection}")
    finally:
        with contextlib.suppress(Exception):
            client.close()
