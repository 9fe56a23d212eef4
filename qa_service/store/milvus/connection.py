"""Reaching Milvus: one clear error for an engine that cannot be reached, and the questions asked before a store
is opened (does this prefix's store exist; drop a scratch one)."""

from __future__ import annotations

import contextlib
import logging
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
    """A MilvusClient, or one clear error naming the URI (pymilvus' own is a gRPC trace)."""
    from pymilvus import MilvusClient, MilvusException

    if "://" not in uri:
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=uri, token=token or "", timeout=10)
    except MilvusException as exc:
        raise StoreUnavailableError(f"cannot connect to Milvus at {uri}: {exc.message}") from exc


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
