"""The Milvus store (Milvus Lite here, the same pymilvus API as a server): whole documents without transactions,
clean-up after crashes, native fusion on the embedded store's scale, the same answers as the embedded store."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest

from qa_service.config import Settings
from qa_service.errors import DocumentNotFoundError
from qa_service.retrieval import RRF_K, HybridRetriever, reciprocal_rank_fusion
from qa_service.service import QAService
from qa_service.store import StoreReader
from qa_service.store.milvus import MilvusStore, StoreUnavailableError
from qa_service.store.milvus.schema import Creator

from ..conftest import ROOT, milvus_server
from .conftest import (
    QUESTION,
    StoreRows,
    article,
    assert_milvus_consistent,
    fake_settings,
    milvus_rows,
    milvus_settings,
    milvus_store,
)
from .contract import FullContract


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QAService]:
    service = QAService(milvus_settings(tmp_path / "index")).load()
    yield service
    service.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with milvus_server(tmp_path_factory.mktemp("milvus-server")) as uri:
        yield uri


def _uri(service: QAService) -> str:
    return service.settings.milvus_location


class TestMilvusStoreContract(FullContract):
    """The contract every store keeps, on Milvus (Lite here: the same pymilvus API as a server)."""

    def settings(self, index_dir: Path, **overrides: Any) -> Settings:
        return milvus_settings(index_dir, **overrides)

    def rows(self, settings: Settings, *, settled: bool = True) -> StoreRows:
        return assert_milvus_consistent(settings.milvus_location, settings.milvus_prefix, settled=settled)


def test_a_write_that_dies_before_its_commit_is_invisible_then_swept(
    service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.write([article(1)])
    store = milvus_store(service)
    real_upsert = store.client.upsert

    def die_at_commit(collection: str, rows: list[dict[str, Any]], **kwargs: object) -> object:
        if collection == store.name("documents"):
            raise KeyboardInterrupt("killed")  # what a kill leaves: rows written, document rows not
        return real_upsert(collection, rows, **kwargs)

    monkeypatch.setattr(store.client, "upsert", die_at_commit)
    with pytest.raises(KeyboardInterrupt):
        service.write([article(2), article(1, topic="stadium")])
    monkeypatch.undo()
    rows = assert_milvus_consistent(_uri(service), settled=False)
    assert rows["orphans"] > 0 and rows["journal"] == 2
    assert set(rows["documents"]) == {"riverton-1"} and "library" in rows["documents"]["riverton-1"][0]
    assert service.stats()["documents"] == 1
    assert {p.doc_id for p in service.search("Riverton stadium library", top_k=10).passages} == {"riverton-1"}
    assert service.ask("What did Riverton 1 approve a budget for?").answer is None or "stadium" not in (
        service.ask("What did Riverton 1 approve a budget for?").answer or ""
    )
    assert store.sweep(grace_s=3600) == 0, "a write younger than the grace period may be in flight elsewhere"
    assert store.sweep(grace_s=0) == 2
    assert_milvus_consistent(_uri(service))
    assert service.write([article(2)]).added == ["riverton-2"], "the same batch again resumes"


def test_a_write_that_dies_after_its_commit_is_whole_and_its_old_rows_swept(
    service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.write([article(1)])
    store = milvus_store(service)

    def killed(*_args: object) -> None:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(store, "remove_versions", killed)
    with pytest.raises(KeyboardInterrupt):
        service.write([article(1, topic="stadium")])
    monkeypatch.undo()
    rows = assert_milvus_consistent(_uri(service), settled=False)
    assert "stadium" in rows["documents"]["riverton-1"][0] and rows["orphans"] > 0
    assert service.search("What did Riverton 1 approve a budget for?").passages[0].doc_id == "riverton-1"
    reopened = QAService(milvus_settings(service.settings.index_dir))
    service.close()
    reopened.load()  # opening settles what is older than the grace period (0 here)
    assert_milvus_consistent(_uri(reopened))
    reopened.close()


def test_a_reader_never_mixes_two_versions_of_a_document(service: QAService) -> None:
    service.write([article(1), article(2)])
    old_text = service.get_document("riverton-1").text
    with service.store.read() as reader:
        old_chunks = reader.chunks([c for c, _ in reader.dense_search(service.embedder.embed(["Riverton 1"])[0], 10)])
        assert {c.doc_id for c in old_chunks.values()} == {"riverton-1", "riverton-2"}
        service.write([article(1, topic="stadium and a much longer name")])  # replaced meanwhile
        assert reader.documents(["riverton-1"])["riverton-1"].text == old_text  # the version it pinned
        new_ids = [c for c, _ in reader.keyword_search(["stadium"], 10)]
        assert new_ids and reader.chunks(new_ids) == {}, "chunks of the new version belong to another version"
        for sentences in reader.sentences([("riverton-1", 0, len(old_text))]).values():
            assert all(old_text[s.start : s.end] for s in sentences)
    with service.store.read() as reader:
        assert "stadium" in reader.documents(["riverton-1"])["riverton-1"].text


def test_a_second_replica_sees_a_write_at_once(server: str, tmp_path: Path) -> None:
    """Two services (two replicas' clients) on one Milvus server: what one acknowledges, the other answers from."""
    first = QAService(milvus_settings(tmp_path / "a", uri=server, prefix="replicas")).load(reset=True)
    second = QAService(milvus_settings(tmp_path / "b", uri=server, prefix="replicas")).load()
    try:
        for n in range(3):
            first.write([article(n)])
            assert second.get_document(f"riverton-{n}").doc_id == f"riverton-{n}"
            assert second.ask(f"When will construction of the Riverton {n} library start?").citations[0].doc_id == (
                f"riverton-{n}"
            )
        second.delete_document("riverton-0")
        with pytest.raises(DocumentNotFoundError):
            first.get_document("riverton-0")
        assert first.stats() == second.stats()
    finally:
        first.close()
        second.close()


def test_a_store_whose_collections_were_released_opens_and_serves(server: str, tmp_path: Path) -> None:
    """A restarted engine comes back with its collections released (not loaded): opening the store loads them.
    Released here by hand, as Milvus Lite's files are not always whole after its process is stopped."""
    from qa_service.store.milvus import COLLECTIONS

    writer = QAService(milvus_settings(tmp_path / "a", uri=server, prefix="released")).load(reset=True)
    writer.write([article(1), article(3)])
    for collection in COLLECTIONS:
        writer_store = milvus_store(writer)
        writer_store.client.release_collection(writer_store.name(collection))
    writer.close()
    reader = QAService(milvus_settings(tmp_path / "b", uri=server, prefix="released")).load()
    try:
        assert reader.stats()["documents"] == 2
        assert reader.ask(QUESTION).citations[0].doc_id == "riverton-3"
    finally:
        reader.close()


def test_two_prefixes_are_two_corpora_in_one_milvus(server: str, tmp_path: Path) -> None:
    news = QAService(milvus_settings(tmp_path / "a", uri=server, prefix="news")).load(reset=True)
    sport = QAService(milvus_settings(tmp_path / "b", uri=server, prefix="sport")).load(reset=True)
    try:
        news.write([article(1)])
        sport.write([article(2, topic="stadium"), article(3, topic="stadium")])
        assert [d.doc_id for d in news.list_documents()] == ["riverton-1"]
        assert sport.stats()["documents"] == 2
        reset = QAService(milvus_settings(tmp_path / "a", uri=server, prefix="news")).load(reset=True)
        assert reset.stats()["documents"] == 0 and sport.stats()["documents"] == 2
        reset.close()
    finally:
        news.close()
        sport.close()


def test_native_fusion_is_on_the_retrievers_scale(service: QAService) -> None:
    """Milvus' RRF and the retriever's own fusion rank the same chunks with the same 0..1 scores."""
    service.write([article(n) for n in range(6)])
    question = "Who is the mayor of Riverton 4?"
    vector = service.embedder.embed([question])[0]
    from qa_service.text.terms import terms

    with milvus_store(service).read() as reader:
        native = reader.hybrid_search(vector, terms(question), 10, depth=50, rrf_k=RRF_K)
        dense = [c for c, _ in reader.dense_search(vector, 50)]
        keyword = [c for c, _ in reader.keyword_search(terms(question), 50)]
        assert reader.native_fusion
        with pytest.raises(ValueError, match="needs terms"):
            reader.hybrid_search(vector, [], 10, depth=50, rrf_k=RRF_K)
    python = reciprocal_rank_fusion([dense, keyword], [1.0, 1.0])[:10]
    best = 2 / (RRF_K + 1)
    assert [c for c, _ in native] == [c for c, _ in python]
    assert np.allclose([s / best for _, s in native], [s for _, s in python], atol=1e-4)
    hits = HybridRetriever().search(service.store.read().__enter__(), vector, question, 5)
    assert hits[0].chunk.doc_id == "riverton-4" and 0 < hits[-1].score <= hits[0].score <= 1.0


def test_same_rankings_frequencies_and_answers_as_the_embedded_store(tmp_path: Path) -> None:
    """The rules answerer: its confidence leaves out the retrieval score (where BM25's idf differs a little between
    the engines), so it must be the same to the digit; the reader's, which weighs that score, need not be."""
    service = QAService(milvus_settings(tmp_path / "index", answerer="rules")).load()
    embedded = QAService(fake_settings(tmp_path / "embedded", answerer="rules")).load()
    documents = [article(n, topic) for n in range(4) for topic in ("library",)] + [article(7, "stadium")]
    service.write(documents)
    embedded.write(documents)
    from qa_service.text.terms import terms

    for question in (QUESTION, "Which stadium opens?", "Who is Mayor Ada Quill2?", "books"):
        vector = service.embedder.embed([question])[0]
        with service.store.read() as milvus_reader, embedded.store.read() as sqlite_reader:
            for reader in (milvus_reader, sqlite_reader):
                assert reader.stats().documents == 5
            dense = [_ranking(r, r.dense_search(vector, 5)) for r in (milvus_reader, sqlite_reader)]
            assert sorted(dense[0]) == sorted(dense[1]), question  # the same, but for the order of ties
            keyword = [_ranking(r, r.keyword_search(terms(question), 5)) for r in (milvus_reader, sqlite_reader)]
            assert {d for d, _ in keyword[0]} == {d for d, _ in keyword[1]}, question  # BM25's idf differs a little
            if keyword[1] and keyword[1][0][1] > keyword[1][1][1]:
                assert keyword[0][0][0] == keyword[1][0][0], question
            assert milvus_reader.sentence_frequencies(terms(question)) == sqlite_reader.sentence_frequencies(
                terms(question)
            )
        mine, theirs = service.ask(question), embedded.ask(question)
        assert mine.confidence == theirs.confidence
        if question != "books":  # which of five equally good articles a tie picks may differ
            assert (mine.answer, mine.citations) == (theirs.answer, theirs.citations)
    embedded.close()
    service.close()


def _ranking(reader: StoreReader, hits: list[tuple[int, float]]) -> list[tuple[str, float]]:
    chunks = reader.chunks([c for c, _ in hits])
    return [(chunks[c].doc_id, round(score, 4)) for c, score in hits]


def test_an_unreachable_milvus_is_one_clear_message(tmp_path: Path) -> None:
    from devtools.devserver import free_port

    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailableError, match=f"cannot connect to Milvus at {uri}"):
        QAService(milvus_settings(tmp_path / "index", uri=uri)).load()


def test_seeds_only_go_into_a_store_that_does_not_exist(tmp_path: Path) -> None:
    import shutil

    from qa_service.cli.serve import ensure_index

    settings = milvus_settings(tmp_path / "index")
    QAService(settings).load().close()  # the user's store, empty on purpose
    ensure_index(settings)
    service = QAService(settings).load()
    assert service.stats()["documents"] == 0
    service.close()
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(settings.milvus_location)
    shutil.rmtree(settings.milvus_location)
    ensure_index(settings)
    service = QAService(settings).load()
    assert service.stats()["documents"] == 5
    assert_milvus_consistent(settings.milvus_location)
    service.close()


def test_rows_read_straight_from_milvus_match_what_the_service_says(service: QAService) -> None:
    service.write([article(n) for n in range(2)])
    rows = milvus_rows(_uri(service))
    assert service.stats() == {"documents": 2, "chunks": len(rows["chunks"]), "sentences": len(rows["sentences"])}


def test_migrate_copies_the_embedded_store_row_for_row_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa_service.store.migrate import migrate_to_milvus

    from .conftest import assert_store_consistent

    embedded = QAService(fake_settings(tmp_path / "index")).load()
    embedded.write([article(n) for n in range(5)])
    embedded.write([article(2, topic="stadium")])  # a replaced document migrates as its current version
    embedded.delete_document("riverton-4")
    target = milvus_settings(tmp_path / "index", uri=str(tmp_path / "milvus" / "copy.db"))
    embedded.close()
    with monkeypatch.context() as patched:
        patched.setattr(type(embedded.embedder), "embed", None)  # nothing may be embedded again
        report = migrate_to_milvus(target, batch=2, progress=False)
    assert (report.copied, report.unchanged) == (4, 0)
    source = assert_store_consistent(tmp_path / "index")
    copied = assert_milvus_consistent(target.milvus_location)
    for key in ("documents", "chunks", "sentences"):
        assert copied[key] == source[key], key
    assert sorted(map(sorted, copied["keyword_rows"])) == sorted(map(sorted, source["keyword_rows"]))
    assert migrate_to_milvus(target, progress=False).unchanged == 4, "a second run copies nothing"
    milvus = QAService(target).load()
    embedded = QAService(fake_settings(tmp_path / "index")).load()
    for question in (QUESTION, "What did Riverton 2 approve a budget for?"):
        assert milvus.ask(question).citations == embedded.ask(question).citations
    milvus.close()


def test_evaluation_and_benchmarks_never_touch_the_users_collections(server: str, tmp_path: Path) -> None:
    from qa_service.store import drop_scratch_store, scratch_settings

    users = QAService(milvus_settings(tmp_path / "a", uri=server, prefix="users")).load(reset=True)
    users.write([article(1)])
    scratch = scratch_settings(users.settings, tmp_path / "scratch")
    assert scratch.milvus_uri == server and scratch.milvus_prefix.startswith("users_scratch_")
    temporary = QAService(scratch).load()
    temporary.write([article(2), article(3)])
    temporary.close()
    drop_scratch_store(scratch)
    assert not MilvusStore.exists(server, scratch.milvus_prefix)
    assert [d.doc_id for d in users.list_documents()] == ["riverton-1"]
    lite = scratch_settings(milvus_settings(tmp_path / "b", uri=str(tmp_path / "mine.db")), tmp_path / "scratch")
    assert lite.milvus_location == str(tmp_path / "scratch" / "milvus.db"), "Lite: a folder of its own"
    users.close()


def test_both_ways_of_counting_sentence_frequencies_agree(service: QAService) -> None:
    """A server counts with TEXT_MATCH (its match index), Milvus Lite from BM25 posting lists: the same counts;
    a write through this process forgets the counts it remembered."""
    from qa_service.text.terms import terms

    service.write([article(n) for n in range(3)])
    store = milvus_store(service)
    words = terms("Riverton council budget library Quill1 zebra")
    with store.read() as reader:
        by_postings = reader.sentence_frequencies(words)
        store.frequencies.clear()
        store.lite = False
        by_match = reader.sentence_frequencies(words)
    assert by_postings == by_match and by_match[1]["riverton"] == 6 and "zebra" not in by_match[1]
    service.write([article(5)])
    with store.read() as reader:
        total, counts = reader.sentence_frequencies(words)
    assert counts["riverton"] == 8 and total == service.stats()["sentences"] > by_match[0] and "" not in counts


def test_sentences_beyond_one_query_window_are_paged(service: QAService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Milvus answers at most QUERY_WINDOW rows a query: the sentences of very long articles are read in pages."""
    from qa_service.store.milvus import reader as milvus_reader

    service.write([article(n) for n in range(3)])
    spans = [(f"riverton-{n}", 0, 10_000) for n in range(3)]

    def read() -> list[tuple[str, int, int, int, bool]]:
        with service.store.read() as reader:
            found = reader.sentences(spans)
        return [(s.doc_id, s.ordinal, s.start, s.end, s.vector is not None) for v in found.values() for s in v]

    whole = read()
    monkeypatch.setattr(milvus_reader, "QUERY_WINDOW", 5)
    assert read() == whole and len(whole) == 12 and all(has_vector for *_, has_vector in whole)


def test_a_store_of_format_1_is_upgraded_on_open_without_embedding_again(tmp_path: Path) -> None:
    """Format 1 had no phrases field and Milvus Lite cannot add one: the sentences are copied into a collection
    that has it, vectors and all, and the service types them at its first start (no embedding)."""
    settings = milvus_settings(tmp_path / "index")
    service = QAService(settings).load()
    service.write([article(n) for n in range(3)])
    before = assert_milvus_consistent(_uri(service))
    expected = service.ask(QUESTION)
    store = milvus_store(service)
    client = store.client
    name = store.name
    fields = ["doc_id", "write_id", "ordinal", "start", "end", "terms", "vector"]
    rows = client.query(name("sentences"), filter="", output_fields=fields, limit=10_000)
    client.drop_collection(name("sentences"))
    creator = store._creator()
    _create_format_1_sentences(creator, name("sentences"))
    client.insert(name("sentences"), rows)
    client.upsert(name("meta"), [{"key": "format_version", "value": "1", "pad": [1.0, 0.0]}])
    service.close()
    upgraded = QAService(settings).load()
    try:
        assert assert_milvus_consistent(_uri(upgraded))["sentences"] == before["sentences"]
        assert milvus_store(upgraded).untyped_sentences(1_000) == []  # typed by the service's first start
        with upgraded.store.read() as reader:
            first = reader.sentences([("riverton-0", 0, 10)], margin=0)["riverton-0"][0]
        assert first.phrases  # "Riverton 0 opens a library": its noun phrases
        assert upgraded.ask(QUESTION).citations == expected.citations
    finally:
        upgraded.close()


def _create_format_1_sentences(creator: Creator, collection: str) -> None:
    """The sentences collection as format 1 made it (no phrases field)."""
    original = creator._schema

    def without_phrases(*, auto_id: bool = False) -> Any:  # a pymilvus CollectionSchema
        schema = original(auto_id=auto_id)
        add_field = schema.add_field

        def add(name: str, *args: object, **options: object) -> object:
            return schema if name == "phrases" else add_field(name, *args, **options)

        schema.add_field = add
        return schema

    with mock.patch.object(creator, "_schema", without_phrases):
        creator.sentences(collection)


BUILD_IN_A_CHILD = r"""
import sys
from pathlib import Path
from qa_service.service import QAService
from tests.store.conftest import article, milvus_settings
service = QAService(milvus_settings(Path(sys.argv[1]))).load()
service.write([article(n) for n in range(3)])
service.store.flush()  # sealed segments: each gets its index files
service.close()
"""


def test_index_files_a_kill_left_torn_are_rebuilt_at_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Milvus Lite writes its index files in place: one torn by a kill stopped the store from opening at all
    ("Not an Arrow file" while loading the collection)."""
    index_dir = tmp_path / "index"
    subprocess.run([sys.executable, "-c", BUILD_IN_A_CHILD, str(index_dir)], cwd=ROOT, check=True)  # its engine ends
    indexes = sorted((index_dir / "milvus.db").glob("collections/qa_chunks/partitions/*/indexes/*"))
    assert {p.suffix for p in indexes} == {".sidx", ".idx"}
    for path in indexes:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with caplog.at_level(logging.WARNING, logger="qa_service.store"):
        service = QAService(milvus_settings(index_dir)).load()  # the engine starts in this process now
    try:
        assert f"removed {len(indexes)} torn index file(s)" in caplog.text
        assert service.ask(QUESTION).citations[0].doc_id.startswith("riverton-")
        assert service.stats()["documents"] == 3
    finally:
        service.close()
