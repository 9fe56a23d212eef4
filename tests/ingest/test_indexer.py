"""The write path: ids from file names, collisions reported by name, duplicates, resume by content hash."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa_service.errors import DocumentExistsError
from qa_service.ingest.clean import load_file, make_document
from qa_service.ingest.indexer import DuplicatePolicy
from qa_service.schemas import Document
from qa_service.service import QAService
from qa_service.store import PreparedDocument
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


def test_each_duplicate_policy_keeps_or_replaces_a_stored_document_as_it_says(tmp_path: Path) -> None:
    """One write for every caller: OVERWRITE replaces (ingest), SKIP reports a conflict (`/documents/batch`), FAIL
    raises and writes nothing (`POST /documents`), also for the same text under a new id."""
    service = QAService(fake_settings(tmp_path / "index")).load()
    porto, vigo = (
        make_document(TEXT.format(town="Porto", n=3), "harbour"),
        make_document(TEXT.format(town="Vigo", n=5), "harbour"),
    )
    assert service.write([porto], DuplicatePolicy.FAIL).added == ["harbour"]
    assert service.write([vigo], DuplicatePolicy.SKIP).conflicts == ["harbour"]
    with pytest.raises(DocumentExistsError, match="'harbour' already exists"):
        service.write([vigo], DuplicatePolicy.FAIL)
    with pytest.raises(DocumentExistsError, match="'copy' has the same text as 'harbour'"):
        service.write([make_document(porto.text, "copy")], DuplicatePolicy.FAIL)
    assert "Porto" in service.get_document("harbour").text and service.stats()["documents"] == 1
    assert service.write([vigo], DuplicatePolicy.OVERWRITE).replaced == ["harbour"]
    assert "Vigo" in service.get_document("harbour").text
    assert service.write([vigo], DuplicatePolicy.SKIP).unchanged == ["harbour"]


def test_the_same_text_under_two_names_is_a_duplicate(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index")).load()
    _write(tmp_path / "in" / "one.txt", "Porto", 3)
    _write(tmp_path / "in" / "two.txt", "Porto", 3)
    report = service.ingest_paths([tmp_path / "in"], progress=False)
    assert report.added == ["one"] and report.duplicates == {"two": "one"}


def test_bulk_ingest_keeps_counts_not_ids_and_commits_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = QAService(fake_settings(tmp_path / "index", ingest_batch=3)).load()
    for n in range(10):
        _write(tmp_path / "in" / f"port-{n}.txt", f"Port {n}", n)
    writes: list[int] = []
    real_write = service.store.write

    def counted_write(documents: Sequence[PreparedDocument]) -> int:
        writes.append(len(documents))
        return real_write(documents)

    monkeypatch.setattr(service.store, "write", counted_write)
    report = service.ingest_paths([tmp_path / "in"], progress=False, keep_ids=False)
    assert report.counts == {"added": 10} and report.added == []
    assert writes == [3, 3, 3, 1]
    resumed = service.ingest_paths([tmp_path / "in"], progress=False, keep_ids=False)
    assert resumed.counts == {"unchanged": 10} and writes == [3, 3, 3, 1], "nothing is embedded or written again"


STORIES = [
    ("Harbour bridge reopens", "The Kestrel Harbour bridge reopened on Sunday after repairs costing 84 million euros."),
    ("Glacier loses ice", "The Morteratsch glacier lost 3.1 square kilometres of ice in ten years, a survey found."),
    ("Tram line approved", "The council approved a 12 km tram line that will link the port with the university."),
    ("Ferry prices rise", "Ferry tickets to the islands will cost 15 percent more from March, the operator said."),
    ("Library opens", "The new city library opened with 240,000 books and a rooftop reading garden on Friday."),
]
MORE = "Officials said the work had gone to plan. Mayor Ada Quill thanked residents in Porto for their patience."


def _rows(service: QAService) -> list[tuple[object, ...]]:
    """Every stored row of every document but its origin (a file, a feed or the API), vectors rounded."""
    with service.store.read() as reader:
        documents = [prepared for batch in reader.export() for prepared in batch]
    return sorted(
        (
            p.document.model_dump_json(),
            p.label,
            p.chunks,
            p.chunk_terms,
            np.round(p.chunk_vectors, 4).tolist(),
            p.sentences,
            p.sentence_terms,
            np.round(p.sentence_vectors, 3).tolist(),
            list(p.sentence_phrases),
        )
        for p in documents
    )


def _one_by_one(tmp_path: Path, documents: list[Document]) -> list[tuple[object, ...]]:
    service = QAService(fake_settings(tmp_path)).load()
    try:
        for document in documents:
            service.write([document], DuplicatePolicy.FAIL)
        return _rows(service)
    finally:
        service.close()


def test_the_bulk_path_stores_a_folder_and_a_batch_as_one_by_one_adds_do(tmp_path: Path) -> None:
    """Folders (`ingest`) and `/documents/batch` go through the pipelined bulk path, analysis a batch ahead of
    the model; each document's rows are those `POST /documents` writes for it."""
    for n, (title, sentence) in enumerate(STORIES):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / f"story-{n}.txt").write_text(f"{title}\n\n{sentence} {MORE}\n\n{MORE}", encoding="utf-8")
    documents = [load_file(path) for path in sorted((tmp_path / "in").iterdir())]
    bulk = QAService(fake_settings(tmp_path / "bulk", ingest_batch=2)).load()  # three batches: one in flight
    batch = QAService(fake_settings(tmp_path / "batch", ingest_batch=2)).load()
    try:
        assert len(bulk.ingest_paths([tmp_path / "in"], progress=False).added) == 5
        assert len(batch.write(documents, DuplicatePolicy.SKIP).added) == 5
        expected = _one_by_one(tmp_path / "single", documents)
        assert len(expected) == 5 and all(row[5] and row[8] for row in expected)  # sentences, typed phrases
        assert _rows(bulk) == expected
        assert _rows(batch) == expected
    finally:
        bulk.close()
        batch.close()


def test_the_bulk_path_stores_a_feed_as_one_by_one_adds_do(tmp_path: Path) -> None:
    from qa_service.ingest.fetch import Fetcher
    from qa_service.ingest.sources import feed_items
    from tests.ingest.converters.pages import page_for
    from tests.local_web import serve

    service = QAService(fake_settings(tmp_path / "feed", ingest_batch=2)).load()
    try:
        with serve({}) as site, Fetcher(allow_networks=["127.0.0.1/32"]) as fetcher:
            entries = "".join(
                f"<item><title>{title}</title><link>{site.url}/news/{n}</link></item>"
                for n, (title, _) in enumerate(STORIES)
            )
            feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Herald</title>{entries}</channel></rss>'
            site.routes["/feed.xml"] = (200, "application/rss+xml", feed)
            for n, (title, sentence) in enumerate(STORIES):
                page = page_for(title, [sentence, MORE, MORE], outlet="", date="")
                site.routes[f"/news/{n}"] = (200, "text/html", page)
            report = service.write(feed_items([f"{site.url}/feed.xml"], fetcher, service.indexed))
        assert len(report.added) == 5 and not report.errors, report
        stored = [service.get_document(doc_id) for doc_id in sorted(report.added)]
        assert _rows(service) == _one_by_one(tmp_path / "single", stored)
    finally:
        service.close()


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
