"""The index store: documents, chunks, sentences and their vectors behind one interface (`base.py`).

`embedded/` is the default (SQLite + FAISS in the index folder, QA_STORE=embedded); `milvus/` keeps everything in
Milvus (QA_STORE=milvus) so that several API replicas share one corpus. `build_store` picks the one the settings
name.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from qa_service.config import Settings
from qa_service.store.base import (
    DocumentReader,
    DocumentState,
    DocumentStore,
    FusingReader,
    IndexConfig,
    KeywordReader,
    PreparedDocument,
    StoredChunk,
    StoredSentence,
    StoreReader,
    StoreStats,
    TypedSpan,
    UpgradableStore,
    VectorReader,
)

__all__ = [
    "DocumentReader",
    "DocumentState",
    "DocumentStore",
    "FusingReader",
    "IndexConfig",
    "KeywordReader",
    "PreparedDocument",
    "StoreReader",
    "StoreStats",
    "StoredChunk",
    "StoredSentence",
    "TypedSpan",
    "UpgradableStore",
    "VectorReader",
    "build_store",
    "drop_scratch_store",
    "scratch_settings",
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


def scratch_settings(settings: Settings, index_dir: Path) -> Settings:
    """Settings for a temporary store of the configured kind (evaluation, benchmarks), never the user's own:
    the embedded store and Milvus Lite in `index_dir`; on a Milvus server, collections under a new prefix."""
    update: dict[str, object] = {"index_dir": index_dir}
    if settings.store == "milvus":
        if "://" in settings.milvus_uri:
            update["milvus_prefix"] = f"{settings.milvus_prefix}_scratch_{uuid.uuid4().hex[:12]}"
        else:
            update["milvus_uri"] = ""  # Milvus Lite serves one process per path: a folder of its own
    return settings.model_copy(update=update)


def drop_scratch_store(settings: Settings) -> None:
    """Remove what `scratch_settings` made on a Milvus server (folders are the caller's to delete)."""
    if settings.store == "milvus" and "://" in settings.milvus_uri and "_scratch_" in settings.milvus_prefix:
        from qa_service.store.milvus import MilvusStore

        MilvusStore.drop(settings.milvus_uri, settings.milvus_prefix, settings.milvus_token)
