"""The behaviour every store must have, as one suite both engines run (as Haystack's `DocumentStoreBaseTests`).

A store's test module subclasses `StoreContract` (named `Test...`) and provides the `service` fixture (a
`QAService` on a new, empty store of its kind, the fake embedder) and `rows` (every row of the store, read
straight from the engine, checked whole: see `conftest.assert_store_consistent` / `assert_milvus_consistent`).
What only one engine has (the FAISS cache, the write journal, replicas) is tested beside it in that module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa_service.analysis import sentence_spans, terms
from qa_service.config import Settings
from qa_service.errors import DocumentNotFoundError, IndexMismatchError
from qa_service.indexing import Incoming
from qa_service.ingest import make_document
from qa_service.schemas import Document, Filters
from qa_service.service import QAService
from qa_service.store import PreparedDocument, TypedSpan

from .conftest import article

QUESTION = "When will construction of the Riverton 3 library start?"


def untitled(doc_id: str = "untitled") -> Document:
    return make_document("Mayor Ada Quill opened the library in Paris on Monday. It holds 40,000 books.", doc_id)


def prepare(service: QAService, documents: list[Document]) -> list[PreparedDocument]:
    """What the indexer would write for these documents (none refused)."""
    prepared, refused = service.indexer.prepare([Incoming(d) for d in documents])
    assert not refused
    return prepared


class StoreContract:
    """Subclass with `service` and `rows`; every test here then runs on that store."""

    @pytest.fixture
    def service(self, tmp_path: Path) -> Iterator[QAService]:
        raise NotImplementedError

    def settings(self, index_dir: Path, **overrides: object) -> Settings:
        """Settings of a store of this kind in `index_dir`."""
        raise NotImplementedError

    def rows(self, service: QAService) -> dict[str, object]:
        """Every row, checked whole: "documents" {doc_id: (text, title, date, hash, chunks)}, "chunks" and
        "sentences" as sorted tuples with their vectors' bytes, "keyword_rows" as sets of terms."""
        raise NotImplementedError

    # ---- documents -------------------------------------------------------------------------------------

    def test_documents_round_trip_with_exact_offsets(self, service: QAService) -> None:
        service.add_documents([article(n) for n in range(4)])
        rows = self.rows(service)
        assert len(rows["documents"]) == 4
        answer = service.ask(QUESTION)
        assert answer.citations[0].doc_id == "riverton-3"
        for passage in answer.passages:
            assert service.get_document(passage.doc_id).text[passage.start : passage.end] == passage.text
        assert service.stats() == {"documents": 4, "chunks": len(rows["chunks"]), "sentences": len(rows["sentences"])}
        assert [d.doc_id for d in service.list_documents(offset=1, limit=2)] == ["riverton-1", "riverton-2"]
        assert [d.doc_id for d in service.list_documents(limit=0)] == []

    def test_long_and_unicode_documents_come_back_exactly(self, service: QAService) -> None:
        """A long text with multi-byte characters comes back without a character lost or moved, so every
        offset still points where it did (Milvus stores it in 64 KB pieces)."""
        paragraph = "Zürich’s council — “Ünïcode” 東京 approved the 3 km tram line on Monday. "
        document = make_document("Tram line approved\n\n" + paragraph * 900, "tram")
        service.add_documents([document])
        assert service.get_document("tram").text == document.text
        self.rows(service)
        answer = service.ask("How long is the tram line approved by the council?")
        for citation in answer.citations:
            assert document.text[citation.start : citation.end] == citation.quote

    def test_delete_and_replace_leave_no_rows_behind(self, service: QAService) -> None:
        service.add_documents([article(n) for n in range(3)])
        before = self.rows(service)
        service.add_documents([article(9)])
        service.delete_document("riverton-9")
        after = self.rows(service)
        for key in ("documents", "chunks", "sentences"):
            assert after[key] == before[key], key
        changed = article(1, topic="stadium")
        assert service.add_documents([changed]).replaced == ["riverton-1"]
        rows = self.rows(service)
        assert rows["documents"]["riverton-1"][0] == changed.text
        assert not any("library" in words and "stadium" in words for words in rows["keyword_rows"])
        assert service.stats()["documents"] == 3
        with pytest.raises(DocumentNotFoundError):
            service.delete_document("riverton-9")
        assert service.search("What did Riverton 1 approve a budget for?").passages[0].doc_id == "riverton-1"

    def test_a_reader_keeps_the_version_of_a_document_it_read(self, service: QAService) -> None:
        service.add_documents([article(1), article(2)])
        old_text = service.get_document("riverton-1").text
        with service.store.read() as reader:
            assert reader.documents(["riverton-1"])["riverton-1"].text == old_text
            service.add_documents([article(1, topic="stadium and a much longer name")])  # replaced meanwhile
            assert reader.documents(["riverton-1"])["riverton-1"].text == old_text
            for sentences in reader.sentences([("riverton-1", 0, len(old_text))]).values():
                assert all(old_text[s.start : s.end] for s in sentences)
        with service.store.read() as reader:
            assert "stadium" in reader.documents(["riverton-1"])["riverton-1"].text

    def test_filters_quote_whatever_id_a_client_sends(self, service: QAService) -> None:
        service.add_documents([article(1)])
        odd = ['x" or doc_id != "', "a\\", "riverton-1' OR '1'='1", 'riverton-1" || "1" == "1', "a\bb", "\x1f", "\x00z"]
        for doc_id in odd:
            with pytest.raises(DocumentNotFoundError):
                service.get_document(doc_id)
            with pytest.raises(DocumentNotFoundError):
                service.delete_document(doc_id)
        nothing = Filters(doc_ids=odd, sources=odd)
        assert service.search("stadium", filters=nothing).passages == []
        assert service.list_documents(filters=nothing) == []
        assert service.stats()["documents"] == 1

    def test_an_outlet_filter_ignores_case_and_spaces(self, service: QAService) -> None:
        service.add_documents(
            [
                article(1).model_copy(update={"source": "Daily Ledger"}),
                article(2).model_copy(update={"source": "Ledger"}),
            ]
        )
        for typed in (["daily ledger"], ["  DAILY   LEDGER "], ["Daily Ledger"], ["dailyledger", "nowhere"]):
            filters = Filters(sources=typed)
            assert [d.doc_id for d in service.list_documents(filters=filters)] == ["riverton-1"], typed
            assert {p.doc_id for p in service.search("library budget", filters=filters).passages} == {"riverton-1"}
            assert [s.source for s in service.sources(filters)] == ["Daily Ledger"]
        assert service.list_documents(filters=Filters(sources=["daily"])) == []

    def test_other_settings_are_refused_with_the_fix(self, tmp_path: Path) -> None:
        QAService(self.settings(tmp_path / "index")).load().close()
        with pytest.raises(IndexMismatchError, match="chunk_size: index has 160, settings say 100.*--rebuild"):
            QAService(self.settings(tmp_path / "index", chunk_size=100)).load()
        rebuilt = QAService(self.settings(tmp_path / "index", chunk_size=100)).load(reset=True)
        assert rebuilt.stats()["documents"] == 0
        rebuilt.close()

    # ---- what the indexer derived, stored and returned ---------------------------------------------------

    def test_labels_and_phrases_are_stored_at_ingest_and_read_back(self, service: QAService) -> None:
        """The indexer derives the label and types each sentence once; the store keeps both and returns them."""
        service.add_documents([untitled(), article(1)])
        with service.store.read() as reader:
            documents = reader.documents(["untitled", "riverton-1"])
            first = reader.sentences([("untitled", 0, 10)], margin=0)["untitled"][0]
            summaries = {s.doc_id: s.label for s in reader.summaries()}
        assert documents["untitled"].label == "Mayor Ada Quill opened the library in Paris on Monday"
        assert documents["riverton-1"].label == "Riverton 1 opens a library"
        assert summaries == {"untitled": documents["untitled"].label, "riverton-1": "Riverton 1 opens a library"}
        text = documents["untitled"].text
        typed = {(text[p.start : p.end], p.label) for p in first.phrases}
        assert {("Ada Quill", "PERSON"), ("Paris", "GPE"), ("Monday", "DATE"), ("library", "NP")} <= typed
        citation = service.ask("Who opened the library in Paris?").citations[0]
        assert citation.doc_id == "untitled" and citation.label == documents["untitled"].label

    def test_phrases_round_trip_and_untyped_sentences_are_typed_later(self, service: QAService) -> None:
        (prepared,) = prepare(service, [article(2)])
        second = prepared.sentences[1]
        given = (TypedSpan(second[0], second[0] + 4, "ORG"), TypedSpan(second[1] - 5, second[1], "NP"))
        phrases = [None, given, ()] + [() for _ in prepared.sentences[3:]]
        service.store.write([replace(prepared, sentence_phrases=phrases)])
        service.add_documents([article(1)])
        whole = ("riverton-2", 0, len(prepared.document.text))
        with service.store.read() as reader:
            assert [s.phrases for s in reader.sentences([whole], margin=0)["riverton-2"]][:3] == [None, given, ()]
        assert service.store.untyped_sentences(10) == [("riverton-2", 0, *prepared.sentences[0])]
        first = prepared.sentences[0]
        typed = (TypedSpan(first[0], first[0] + 7, "GPE"),)
        with service.store.read() as reader:
            generation = reader.stats().generation
        assert service.store.set_phrases([("riverton-2", 0, typed), ("gone", 3, ())]) == 1
        assert service.store.untyped_sentences(10) == []
        with service.store.read() as reader:
            assert reader.sentences([("riverton-2", 0, 5)], margin=0)["riverton-2"][0].phrases == typed
            assert len(reader.sentences([whole])["riverton-2"]) == len(prepared.sentences)
            assert reader.stats().generation > generation, "answers may change: the generation rises"
        self.rows(service)

    def test_export_gives_back_what_was_written(self, service: QAService) -> None:
        written = prepare(service, [article(n) for n in range(3)] + [untitled()])
        service.store.write(written)
        with service.store.read() as reader:
            exported = [p for batch in reader.export(batch=2) for p in batch]
        assert sorted(p.document.doc_id for p in exported) == sorted(p.document.doc_id for p in written)
        by_id = {p.document.doc_id: p for p in exported}
        for before in written:
            after = by_id[before.document.doc_id]
            assert after.document.text == before.document.text and after.label == before.label
            assert (after.chunks, after.sentences) == (before.chunks, before.sentences)
            assert [sorted(t) for t in after.chunk_terms] == [sorted(t) for t in before.chunk_terms]
            assert [set(t) for t in after.sentence_terms] == [set(t) for t in before.sentence_terms]
            assert list(after.sentence_phrases) == list(before.sentence_phrases)
            assert np.allclose(after.chunk_vectors, before.chunk_vectors)
            assert np.allclose(after.sentence_vectors, before.sentence_vectors, atol=1e-3)  # stored as float16

    # ---- keywords and their statistics -------------------------------------------------------------------

    def test_keyword_and_dense_search_find_the_chunks_of_the_words(self, service: QAService) -> None:
        service.add_documents([article(n) for n in range(3)] + [article(5, "stadium")])
        with service.store.read() as reader:
            hits = reader.keyword_search(["stadium"], 10)
            assert {reader.chunks([c for c, _ in hits])[c].doc_id for c, _ in hits} == {"riverton-5"}
            assert reader.keyword_search(["zebra"], 10) == []
            vector = service.embedder.embed(["Riverton 5 opens a stadium"])[0]
            (best, cosine), *_ = reader.dense_search(vector, 3)
            assert reader.chunks([best])[best].doc_id == "riverton-5" and 0 < cosine <= 1.0001
            assert np.allclose(reader.chunk_vectors([best])[best] @ vector, cosine, atol=1e-4)

    def test_sentence_frequencies_count_the_sentences_holding_each_term(self, service: QAService) -> None:
        documents = [article(n) for n in range(3)]
        service.add_documents(documents)
        words = terms("Riverton council budget library Quill1 zebra")
        expected: dict[str, int] = {}
        for document in documents:
            for start, end in sentence_spans(document.text):
                for term in set(terms(document.text[start:end])) & set(words):
                    expected[term] = expected.get(term, 0) + 1
        with service.store.read() as reader:
            total, counts = reader.sentence_frequencies(words)
        assert total == service.stats()["sentences"] and counts == expected and "zebra" not in counts

    def test_mentions_a_word_or_a_typo_of_one_alike_on_every_store(self, service: QAService) -> None:
        service.add_documents([article(1), article(2)])
        with service.store.read() as reader:
            assert reader.mentions("riverton") and reader.mentions("quill1")
            assert reader.mentions("rivertn")  # a letter dropped
            assert reader.mentions("rivertone")  # a letter added
            assert reader.mentions("rivexton")  # a letter changed
            assert reader.mentions("quill7")  # a digit changed
            assert not reader.mentions("tokyo")
            assert not reader.mentions("rivers")  # two edits away is another word
            assert not reader.mentions("tiverton")  # the first two letters are never a typo
            assert not reader.mentions("ri") and not reader.mentions("")
