"""The embedded store (SQLite + FAISS): whole documents per transaction, incremental updates, clear errors."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa_service.config import Settings
from qa_service.errors import IndexCorruptError, IndexMismatchError
from qa_service.schemas import Filters
from qa_service.service import QAService
from qa_service.store.embedded import CACHE_NAME, DB_NAME, EmbeddedStore
from qa_service.text.phrases import type_sentences
from qa_service.text.terms import terms

from .conftest import (
    QUESTION,
    StoreRows,
    article,
    assert_store_consistent,
    dense_index,
    embedded_store,
    fake_settings,
    untitled,
)
from .contract import FullContract, filtered_corpus


class TestEmbeddedStoreContract(FullContract):
    """The contract every store keeps, on the embedded store."""

    def settings(self, index_dir: Path, **overrides: Any) -> Settings:
        return fake_settings(index_dir, **overrides)

    def rows(self, settings: Settings, *, settled: bool = True) -> StoreRows:
        return assert_store_consistent(settings.index_dir)


def test_a_second_process_applies_only_the_changes(tmp_path: Path) -> None:
    """Another process (here a second service on the same folder) catches up from the change log, no rebuild."""
    writer = QAService(fake_settings(tmp_path / "index")).load()
    writer.write([article(n) for n in range(3)])
    other = QAService(fake_settings(tmp_path / "index")).load()
    dense_before = dense_index(other)
    writer.write([article(7)])
    writer.delete_document("riverton-0")
    answer = other.ask("When will construction of the Riverton 7 library start?")
    assert answer.citations[0].doc_id == "riverton-7"
    assert dense_index(other) is dense_before, "caught up in place, not rebuilt"
    assert dense_index(other).count == writer.stats()["chunks"]
    assert "riverton-0" not in {p.doc_id for p in other.search("Riverton 0 library", top_k=20).passages}


def test_a_reader_sees_one_committed_state(fake_service: QAService) -> None:
    fake_service.write([article(1)])
    with fake_service.store.read() as reader:
        fake_service.write([article(2)])  # commits while the read transaction is open
        assert reader.stats().documents == 1
        assert set(reader.documents(["riverton-1", "riverton-2"])) == {"riverton-1"}
    assert fake_service.stats()["documents"] == 2


def test_start_up_reuses_the_dense_cache_and_rebuilds_a_damaged_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    index_dir = tmp_path / "index"
    service = QAService(fake_settings(index_dir)).load()
    service.write([article(n) for n in range(3)])
    service.close()
    expected = service.ask(QUESTION)
    with caplog.at_level(logging.INFO, logger="qa_service.store"):
        reopened = QAService(fake_settings(index_dir)).load()
    assert "built from" not in caplog.text, "a current cache is loaded, not rebuilt"
    assert reopened.ask(QUESTION).citations == expected.citations
    reopened.close()
    cache = index_dir / CACHE_NAME
    cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="qa_service.store"):
        rebuilt = QAService(fake_settings(index_dir)).load()
    assert "unreadable" in caplog.text and "built from" in caplog.text
    assert rebuilt.ask(QUESTION).citations == expected.citations


def test_a_cache_with_overwritten_vectors_or_none_is_rebuilt_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Vectors overwritten in place leave FAISS's structure intact: it read them and every ranking changed."""
    index_dir = tmp_path / "index"
    service = QAService(fake_settings(index_dir)).load()
    service.write([article(n) for n in range(3)])
    service.close()
    expected = service.ask(QUESTION)
    cache = index_dir / CACHE_NAME
    with sqlite3.connect(index_dir / DB_NAME) as db:
        vectors = [row[0] for row in db.execute("SELECT vector FROM chunks ORDER BY chunk_id")]
    data = bytearray(cache.read_bytes())
    places = [bytes(data).index(vector) for vector in vectors]
    for n, place in enumerate(places):  # each chunk gets the next one's vector: FAISS's structure stays intact
        data[place : place + len(vectors[n])] = vectors[(n + 1) % len(vectors)]
    cache.write_bytes(bytes(data))
    with caplog.at_level(logging.INFO, logger="qa_service.store"):
        rebuilt = QAService(fake_settings(index_dir)).load()
    assert "fails its checksum" in caplog.text and "built from" in caplog.text
    assert rebuilt.ask(QUESTION).citations == expected.citations
    rebuilt.close()
    cache.unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="qa_service.store"):
        rebuilt = QAService(fake_settings(index_dir)).load()
    assert f"dense index cache {cache} is missing; rebuilding it" in caplog.text
    assert rebuilt.ask(QUESTION).citations == expected.citations


def test_stale_cache_is_brought_up_to_date_from_the_change_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index_dir = tmp_path / "index"
    service = QAService(fake_settings(index_dir)).load()
    service.write([article(1)])
    service.close()  # cache at this generation
    service = QAService(fake_settings(index_dir)).load()
    monkeypatch.setattr(service.store, "flush", lambda: None)  # a process killed before saving its cache
    service.write([article(3)])
    reopened = QAService(fake_settings(index_dir)).load()
    assert dense_index(reopened).count == reopened.stats()["chunks"]
    assert reopened.ask(QUESTION).citations[0].doc_id == "riverton-3"


def test_other_backend_is_refused(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    from qa_service.embedding import HashingEmbedder

    QAService(fake_settings(index_dir)).load().close()
    other = HashingEmbedder()
    other.backend = "onnx-int8"
    service = QAService(fake_settings(index_dir), embedder=other)
    with pytest.raises(IndexMismatchError, match="embedding_backend: index has 'hashing', settings say 'onnx-int8'"):
        service.load()


@pytest.mark.parametrize("damage", ["truncate", "garble", "not-a-database", "empty"])
def test_damaged_database_is_one_clear_message_and_rebuild_sets_it_aside(tmp_path: Path, damage: str) -> None:
    index_dir = tmp_path / "index"
    service = QAService(fake_settings(index_dir)).load()
    service.write([article(n) for n in range(6)])
    service.close()
    path = index_dir / DB_NAME
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garble":
        path.write_bytes(data[:4096] + bytes(b ^ 0x5A for b in data[4096:12288]) + data[12288:])
    elif damage == "empty":  # SQLite opens a 0-byte file as a new database: it started as an empty, healthy index
        path.write_bytes(b"")
    else:
        path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexCorruptError, match=rf"{DB_NAME}.*damaged.*--rebuild") as raised:
        QAService(fake_settings(index_dir)).load()
    assert "\n" not in str(raised.value)
    rebuilt = QAService(fake_settings(index_dir)).load(reset=True)
    assert rebuilt.stats()["documents"] == 0
    assert list(index_dir.glob(f"{DB_NAME}.damaged-*")), "the damaged file is kept for the user"


def test_old_snapshot_format_is_named_and_rebuild_replaces_it(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    (index_dir / "snap-000003-123").mkdir(parents=True)
    (index_dir / "CURRENT").write_text("snap-000003-123\n")
    with pytest.raises(IndexMismatchError, match="snapshot format of an earlier version.*--rebuild"):
        QAService(fake_settings(index_dir)).load()
    QAService(fake_settings(index_dir)).load(reset=True).write([article(1)])
    assert not (index_dir / "CURRENT").exists() and not list(index_dir.glob("snap-*"))


def test_reset_keeps_generations_rising_and_other_processes_rebuild(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    first = QAService(fake_settings(index_dir)).load()
    first.write([article(n) for n in range(3)])
    with first.store.read() as reader:
        before = reader.stats().generation
    second = QAService(fake_settings(index_dir)).load(reset=True)
    second.write([article(5)])
    with second.store.read() as reader:
        assert reader.stats().generation > before + 1
    assert first.stats() == second.stats()
    assert {p.doc_id for p in first.search("Riverton library", top_k=10).passages} == {"riverton-5"}


def test_keyword_search_leaves_out_terms_in_too_many_chunks(tmp_path: Path) -> None:
    service = QAService(fake_settings(tmp_path / "index", keyword_max_postings=100)).load()
    service.write([article(n) for n in range(3)])
    with service.store.read() as reader:
        assert reader.keyword_search(["riverton"], 10)  # in 3 chunks: used
        embedded_store(service).keyword_max_postings = 2
        assert reader.keyword_search(["riverton"], 10) == []  # in more chunks than the limit: left out
        assert [c for c, _ in reader.keyword_search(["riverton", "quill1"], 10)] == [
            c for c, _ in reader.keyword_search(["quill1"], 10)
        ]


def test_sentence_vectors_are_stored_compactly_and_read_per_question(fake_service: QAService) -> None:
    fake_service.write([article(1)])
    db = sqlite3.connect(fake_service.settings.index_dir / DB_NAME)
    (blob,) = db.execute("SELECT vector FROM sentences LIMIT 1").fetchone()
    assert len(blob) == 2 * fake_service.embedder.dimension  # float16
    with fake_service.store.read() as reader:
        sentences = reader.sentences([("riverton-1", 40, 60)], margin=1)["riverton-1"]
    assert [s.ordinal for s in sentences] == [0, 1, 2][: len(sentences)]
    full = fake_service.embedder.embed(
        [fake_service.get_document("riverton-1").text[sentences[1].start : sentences[1].end]]
    )
    assert sentences[1].vector is not None
    assert np.allclose(sentences[1].vector, full[0], atol=1e-3)


def test_seeds_only_go_into_a_store_that_does_not_exist(tmp_path: Path) -> None:
    from qa_service.cli.serve import ensure_index

    index_dir = tmp_path / "index"
    settings = fake_settings(index_dir)
    service = QAService(settings).load()  # the user's store, emptied on purpose
    service.close()
    ensure_index(settings)
    assert QAService(settings).load().stats()["documents"] == 0
    shutil.rmtree(index_dir)
    ensure_index(settings)
    assert QAService(settings).load().stats()["documents"] == 5


def _make_old_format(index_dir: Path) -> None:
    """The database as the previous version wrote it: no label, sentence terms or phrases columns."""
    db = sqlite3.connect(index_dir / DB_NAME)
    db.execute("DROP INDEX documents_incomplete")
    db.execute("DROP INDEX sentences_untyped")
    for table, column in (("documents", "label"), ("sentences", "terms"), ("sentences", "phrases")):
        db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    db.commit()
    db.close()


def test_an_index_of_the_previous_format_opens_is_completed_and_typed_later(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    service = QAService(fake_settings(index_dir)).load()
    service.write([untitled(), article(1), article(2)])
    expected = assert_store_consistent(index_dir)
    service.close()
    _make_old_format(index_dir)
    store = EmbeddedStore(index_dir, service.index_config).open()
    assert store.incomplete_documents(10) == ["untitled", "riverton-1", "riverton-2"]
    untyped = store.untyped_sentences(100)
    assert len(untyped) == int(expected["meta"]["sentences"]), "every old sentence reads as untyped"
    with store.read() as reader:
        old_sentences = reader.sentences([("riverton-1", 0, 10_000)])["riverton-1"]
        assert all(s.phrases is None and s.terms is None for s in old_sentences), "neither typed nor analysed"
        assert reader.documents(["untitled"])["untitled"].label == ""  # not known yet: the title's default
    store.close()
    reopened = QAService(fake_settings(index_dir)).load()  # the indexer completes labels and sentence terms
    assert embedded_store(reopened).incomplete_documents(10) == []
    assert reopened.summary("untitled").label == "Mayor Ada Quill opened the library in Paris on Monday"
    doc_id, ordinal, start, end = untyped[0]
    text = reopened.get_document(doc_id).text
    phrases = type_sentences([text[start:end]], [start])[0]
    assert embedded_store(reopened).set_phrases([(doc_id, ordinal, phrases), ("gone", 0, ())]) == 1
    assert untyped[0] not in embedded_store(reopened).untyped_sentences(100)
    with reopened.store.read() as reader:
        assert reader.sentences([(doc_id, start, end)], margin=0)[doc_id][0].phrases == phrases
        completed = reader.sentences([("riverton-1", 0, 10_000)])["riverton-1"]
        document = reader.documents(["riverton-1"])["riverton-1"]
        assert [s.terms for s in completed] == [frozenset(terms(document.text[s.start : s.end])) for s in completed]
    reopened.delete_document("riverton-2")  # a delete subtracts the sentence terms stored at completion
    reopened.write([article(1, topic="stadium")])
    rows = assert_store_consistent(index_dir)
    assert set(rows["documents"]) == {"untitled", "riverton-1"}
    reopened.close()


def test_a_small_share_of_an_inverted_file_is_still_found(tmp_path: Path) -> None:
    """IVF probes a few lists per question; a filter allowing 3 of 26 articles probes enough lists to find them."""
    service = QAService(fake_settings(tmp_path / "index", faiss_index="IVF4,Flat", faiss_nprobe=1)).load()
    try:
        service.write(filtered_corpus())
        service.store.flush()
        wanted = ["riverton-2", "riverton-9", "riverton-19"]
        vector = service.embedder.embed(["a question about nothing in particular"])[0]
        with service.store.read() as reader:
            hits = reader.dense_search(vector, 10, Filters(doc_ids=wanted))
            assert sorted(c.doc_id for c in reader.chunks([c for c, _ in hits]).values()) == sorted(wanted)
    finally:
        service.close()
