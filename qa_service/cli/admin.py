"""The maintenance commands: `prepare` (build the ONNX files once) and `migrate` (copy the index into Milvus)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from qa_service.cli.shared import fail
from qa_service.config import Settings, get_settings
from qa_service.errors import QAServiceError


def prepare() -> None:
    """Build the embedding model's ONNX file now, once (`make setup` runs this; else the first start would).

    It is kept in QA_ONNX_CACHE_DIR and shared by every index and worker; nothing to do for
    QA_EMBEDDING_BACKEND=torch.
    """
    settings = get_settings()
    if settings.embedding_backend == "torch" or settings.embedding_model == "hashing-fake":
        typer.echo(f"nothing to prepare: {settings.embedding_model} runs on {settings.embedding_backend} as it is")
        return
    from qa_service.embedding.onnx_export import OnnxCacheError, Precision, ensure_onnx_model, is_built

    precision: Precision = "int8" if settings.embedding_backend == "onnx-int8" else "fp32"
    cache = settings.resolved_onnx_cache_dir
    for wanted in dict.fromkeys([precision, settings.document_precision or precision]):  # QA_DOCUMENT_PRECISION's too
        built = is_built(settings.embedding_model, wanted, cache)
        started = time.perf_counter()
        try:
            files = ensure_onnx_model(settings.embedding_model, wanted, cache)
        except (OnnxCacheError, OSError, ValueError) as exc:
            fail(str(exc))
        how = "already built" if built else f"built in {time.perf_counter() - started:.1f} s; every start reuses it"
        where = files.model.parent
        typer.echo(f"embedding model {settings.embedding_model}: {wanted} ONNX file ready in {where} ({how})")
    if settings.answerer == "reader":
        _prepare_reader(settings)


def _prepare_reader(settings: Settings) -> None:
    """Merge the reader's adapters into the installed base and export its ONNX file (once; cached)."""
    from qa_service.config import DEFAULT_EMBEDDING_MODEL
    from qa_service.reader.package import ReaderUnavailableError, ensure_reader, is_built

    cache = settings.resolved_onnx_cache_dir
    built = is_built(DEFAULT_EMBEDDING_MODEL, cache)
    started = time.perf_counter()
    try:
        files = ensure_reader(DEFAULT_EMBEDDING_MODEL, cache)
    except (ReaderUnavailableError, OSError) as exc:
        fail(str(exc))
    how = "already built" if built else f"built in {time.perf_counter() - started:.1f} s; every start reuses it"
    typer.echo(f"reader: ONNX file ready in {files.model.parent} ({how})")


def migrate(
    to: Annotated[str, typer.Option("--to", help="The store to copy into: milvus (QA_MILVUS_URI, QA_MILVUS_PREFIX).")],
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Documents read and written together.")] = 100,
) -> None:
    """Copy the embedded store (QA_INDEX_DIR) into Milvus, vectors included: nothing is embedded again.

    Documents already there with the same text are skipped, so an interrupted copy resumes. Then serve with
    QA_STORE=milvus.
    """
    if to != "milvus":
        fail(f"--to must be milvus (the embedded store is the source), got {to!r}", 2)
    from qa_service.ingest.upgrades import complete_stored
    from qa_service.store.embedded import EmbeddedStore
    from qa_service.store.migrate import migrate_to_milvus

    settings = get_settings()
    try:
        if EmbeddedStore.exists(settings.index_dir):  # labels and sentence terms an earlier version did not store
            source = EmbeddedStore(settings.index_dir, EmbeddedStore.stored_config(settings.index_dir)).open()
            try:
                complete_stored(source)
            finally:
                source.close()
        report = migrate_to_milvus(settings, batch=batch)
    except QAServiceError as exc:
        fail(str(exc))
    typer.echo(
        f"copied {report.copied} documents ({report.chunks} chunks, {report.sentences} sentences), "
        f"{report.unchanged} already there, in {report.seconds:.1f} s into {settings.milvus_location} "
        f"(collections {settings.milvus_prefix}_*); serve it with QA_STORE=milvus"
    )
