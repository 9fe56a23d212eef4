"""`qa-service migrate --to milvus`: copy the embedded store into Milvus without embedding anything again.

The embedded store exports its documents as the `PreparedDocument`s `write` takes (chunk vectors float32,
sentence vectors float16, keyword terms, sentence terms and phrases as stored), so Milvus gets exactly what the
embedded store had. A document already in Milvus with the same content hash is skipped, so an interrupted
migration resumes where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from qa_service.config import Settings
from qa_service.errors import IndexMismatchError
from qa_service.store.embedded import DB_NAME, EmbeddedStore


@dataclass
class MigrationReport:
    copied: int = 0
    unchanged: int = 0
    chunks: int = 0
    sentences: int = 0
    seconds: float = 0.0


def migrate_to_milvus(settings: Settings, *, batch: int = 100, progress: bool = True) -> MigrationReport:
    """Copy the embedded store in `settings.index_dir` into the Milvus store the QA_MILVUS_* settings name."""
    from tqdm import tqdm

    from qa_service.store import build_store

    if not EmbeddedStore.exists(settings.index_dir):
        source = settings.index_dir / DB_NAME
        raise IndexMismatchError(f"no embedded store to migrate: {source} does not exist (QA_INDEX_DIR)")
    started = time.perf_counter()
    report = MigrationReport()
    config = EmbeddedStore.stored_config(settings.index_dir)
    embedded = EmbeddedStore(settings.index_dir, config).open()
    try:
        target = build_store(settings.model_copy(update={"store": "milvus"}), config).open()
        try:
            # one read transaction: a consistent copy even while the embedded store is written
            with embedded.read() as source:
                total = source.stats().documents
                with tqdm(total=total, unit="doc", desc="migrate", disable=not progress, dynamic_ncols=True) as bar:
                    for prepared in source.export(batch):
                        with target.read() as reader:
                            states = reader.states([p.document.doc_id for p in prepared])
                        fresh = [
                            p
                            for p in prepared
                            if (state := states.get(p.document.doc_id)) is None
                            or state.content_hash != p.document.content_hash
                        ]
                        if fresh:
                            target.write(fresh)
                        report.copied += len(fresh)
                        report.unchanged += len(prepared) - len(fresh)
                        report.chunks += sum(len(p.chunks) for p in fresh)
                        report.sentences += sum(len(p.sentences) for p in fresh)
                        bar.update(len(prepared))
            target.flush()
        finally:
            target.close()
    finally:
        embedded.close()
    report.seconds = time.perf_counter() - started
    return report
