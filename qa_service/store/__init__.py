"""The index store: documents, chunks, sentences and their vectors behind one interface (`base.py`).

`embedded.py` is the default (SQLite + FAISS in the index folder, QA_STORE=faiss); `milvus.py` keeps everything in
Milvus (QA_STORE=milvus) so that several API replicas share one corpus. `build_store` picks the one the settings
name.
"""

from __future__ import annotations

from qa_service.config import Settings
from qa_service.store.base import (
    DocumentState,
    DocumentStore,
    IndexConfig,
    PreparedDocument,
    StoredChunk,
    StoredSentence,
    StoreReader,
    StoreStats,
)

__all__ = [
    "DocumentState",
    "DocumentStore",
    "IndexConfig",
    "PreparedDocument",
    "StoreReader",
    "StoreStats",
    "StoredChunk",
    "StoredSentence",
    "build_store",
    "store_exists",
]


def build_store(settings: Settings, config: IndexConfig) -> DocumentStore:
    """The store the settings name, not yet opened (call `open()`)."""
    if settings.store == "milvus":
        from qa_service.store.milvus import MilvusStore

        return MilvusStore(
            settings.milvus_location,
            config,
            token=settings.milvus_token,
            prefix=settings.milvus_prefix,
            index_type=settings.milvus_index,
            consistency=settings.milvus_consistency,
            orphan_grace_s=settings.milvus_orphan_grace_s,
            sweep_interval_s=settings.milvus_sweep_interval_s,
        )
    from qa_service.store.embedded import EmbeddedStore

    return EmbeddedStore(
        settings.index_dir,
        config,
        faiss_index=settings.faiss_index,
        exact_max=settings.faiss_exact_max,
        nprobe=settings.faiss_nprobe,
        keyword_max_postings=settings.keyword_max_postings,
    )


def store_exists(settings: Settings) -> bool:
    """Whether the configured store already exists (even empty): seeds are indexed only into a new one."""
    if settings.store == "milvus":
        from qa_service.store.milvus import MilvusStore

        return MilvusStore.exists(settings.milvus_location, settings.milvus_prefix, settings.milvus_token)
    from qa_service.store.embedded import EmbeddedStore

    return EmbeddedStore.exists(settings.index_dir)
