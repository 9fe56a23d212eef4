"""The write path: ids from file names, collisions reported by name, duplicates, resume by content hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.service import QAService
from tests.store.conftest import assert_store_consistent, fake_settings

TEXT = "The harbour of {town} reopened on Friday after repairs that cost {n} million euros."


def _write(path: Path, town: str, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEXT.format(town=town, n=n), encoding="utf-8")
    return path


def test_two_files_with_one_name_are_both_accounted_for(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index")).load()
    first = _write(tmp_path / "in" / "a" / "news.txt", "Porto", 3)
    second = _write(tmp_path / "in" / "b" / "news.txt", "Vigo", 5)
    report = service.ingest_paths([tmp_path / "in"], progress=False)
    assert report.added == ["news"]
    assert list(report.errors) == [str(second)]
    assert str(first.resolve()) in report.errors[str(second)] and "rename" in report.errors[str(second)]
    assert "Porto" in service.get_document("news").text
    again = service.ingest_paths([second], progress=False)  # also refused in a later run: no silent replace
    assert str(second) in again.errors and "Porto" in service.get_document("news").text
    for passage in service.search("harbour reopened", top_k=5).passages:
        assert service.get_document(passage.doc_id).text[passage.start : passage.end] == passage.text
    assert_store_consistent(service.settings.index_dir)


def test_file_names_with_spaces_and_accents_are_ingested(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index")).load()
    _write(tmp_path / "in" / "Harbour news (June).txt", "Porto", 3)
    _write(tmp_path / "in" / "Café del puerto.md", "Vigo", 5)
    report = service.ingest_paths([tmp_path / "in"], progress=False)
    assert sorted(report.added) == ["Cafe-del-puerto", "Harbour-news-June"] and not report.errors
    assert service.get_document("Harbour-news-June").source is None  # the outlet: a text file does not say


def test_an_edited_file_replaces_its_document_and_an_unchanged_one_is_skipped(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index")).load()
    path = _write(tmp_path / "in" / "harbour.txt", "Porto", 3)
    assert service.ingest_paths([path], progress=False).added == ["harbour"]
    assert service.ingest_paths([path], progress=False).unchanged == ["harbour"]
    _write(path, "Porto", 4)
    assert service.ingest_paths([path], progress=False).replaced == ["harbour"]
    assert "4 million" in service.get_document("harbour").text


def test_the_same_text_under_two_names_is_a_duplicate(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index")).load()
    _write(tmp_path / "in" / "one.txt", "Porto", 3)
    _write(tmp_path / "in" / "two.txt", "Porto", 3)
    report = service.ingest_paths([tmp_path / "in"], progress=False)
    assert report.added == ["one"] and report.duplicates == {"two": "one"}


def test_bulk_ingest_keeps_counts_not_ids_and_commits_in_batches(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index", ingest_batch=3)).load()
    for n in range(10):
        _write(tmp_path / "in" / f"port-{n}.txt", f"Port {n}", n)
    writes: list[int] = []
    real_write = service.store.write
    service.store.write = lambda documents: writes.append(len(documents)) or real_write(documents)
    report = service.ingest_paths([tmp_path / "in"], progress=False, keep_ids=False)
    assert report.counts == {"added": 10} and report.added == []
    assert writes == [3, 3, 3, 1]
    resumed = service.ingest_paths([tmp_path / "in"], progress=False, keep_ids=False)
    assert resumed.counts == {"unchanged": 10} and writes == [3, 3, 3, 1], "nothing is embedded or written again"


def test_an_id_is_checked_once_on_its_way_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the document is made (`make_document`), not again by the indexer."""
    from qa_service.ingest import clean, indexer

    checked: list[str] = []
    real = clean.validate_doc_id

    def counting(doc_id: str) -> str:
        checked.append(doc_id)
        return real(doc_id)

    monkeypatch.setattr(clean, "validate_doc_id", counting)
    monkeypatch.setattr(indexer, "validate_doc_id", counting, raising=False)  # where the indexer checked it too
    service = QAService(fake_settings(tmp_path / "index")).load()
    _write(tmp_path / "in" / "harbour.txt", "Porto", 3)
    assert service.ingest_paths([tmp_path / "in"], progress=False).added == ["harbour"]
    assert checked == ["harbour"]
