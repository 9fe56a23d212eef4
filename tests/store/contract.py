"""The behaviour every store must have, run against the store itself (as Haystack's `haystack/testing/
document_store.py` mixins and txtai's `testann` / `testdatabase`): no `QAService`, no indexer, no answering,
so only a store change can break it.

A store's test module subclasses `FullContract` (named `Test...`), or the mixins it needs: it says how to make the
settings of a store of its kind (`settings`) and how to read every row straight from the engine and check it
whole (`rows`). The
documents are prepared here, by hand, as the indexer would (sentences, two-sentence chunks, `text.terms`, the
deterministic fake embedder), so what is tested is what the store keeps and returns. The upgrade path of old
indexes (`UpgradableStore`) is an optional protocol: a store that has it also subclasses `UpgradeContract`.
What only one engine has (the FAISS cache, the write journal, replicas) is tested beside it in that module.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict, Unpack, cast

import numpy as np
import pytest

from qa_service.config import Settings
from qa_service.embedding.fake import HashingEmbedder
from qa_service.errors import IndexMismatchError
from qa_service.retrieval import RRF_K, HybridRetriever, reciprocal_rank_fusion
from qa_service.schemas import Document, Filters
from qa_service.store import (
    DocumentStore,
    FusingReader,
    IndexConfig,
    PreparedDocument,
    StoreReader,
    TypedSpan,
    UpgradableStore,
    build_store,
)
from qa_service.text.phrases import sentence_spans
from qa_service.text.terms import ANALYZER, terms

from .conftest import StoreRows, article_text

EMBEDDER = HashingEmbedder()
CONFIG = IndexConfig(
    embedding_model=EMBEDDER.name,
    embedding_backend=EMBEDDER.backend,
    dimension=EMBEDDER.dimension,
    chunk_size=160,
    chunk_overlap=Settings.model_fields["chunk_overlap"].default,
    analyzer=ANALYZER,
)
OUTLETS = ("Harbour Herald", "Valley Wire", "Coast Post")
TOPICS = ("library", "bridge", "tram line", "school")


class Metadata(TypedDict, total=False):
    title: str | None
    date: str | None
    source: str | None
    url: str | None
    author: str | None


def document(text: str, doc_id: str, **fields: Unpack[Metadata]) -> Document:
    """A document as ingest would hand it over (its text already clean)."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Document(doc_id=doc_id, text=text, content_hash=digest, **fields)


def article(n: int, topic: str = "library") -> Document:
    """`conftest.article_text` as a titled document, not cleaned (no ingest here)."""
    return document(article_text(n, topic), f"riverton-{n}", title=f"Riverton {n} opens a {topic}")


def filtered_corpus() -> list[Document]:
    """24 dated articles from three outlets (each month twice), and two with neither date nor outlet."""
    documents = []
    for n in range(24):
        topic = TOPICS[n % len(TOPICS)]
        text = (
            f"Riverton {n} council approves a {topic}. The council of Riverton {n} approved a budget of {n + 3} "
            f"million euros for a new {topic} on Monday, and building starts in spring."
        )
        documents.append(document(text, f"riverton-{n}", date=f"2025-{n % 12 + 1:02d}-15", source=OUTLETS[n % 3]))
    documents += [
        document(f"Undated note {n}: the council of Riverton {n} discussed a library budget.", f"note-{n}")
        for n in range(2)
    ]
    return documents


def prepare(doc: Document, *, origin: str | None = None) -> PreparedDocument:
    """What the indexer writes for `doc`: its sentences, chunks of two sentences, their terms and vectors, a
    label, and every sentence typed (no phrase found)."""
    sentences = sentence_spans(doc.text)
    chunks = [(sentences[i][0], sentences[min(i + 1, len(sentences) - 1)][1]) for i in range(0, len(sentences), 2)]
    chunk_texts = [doc.text[s:e] for s, e in chunks]
    sentence_texts = [doc.text[s:e] for s, e in sentences]
    return PreparedDocument(
        document=doc,
        origin=origin,
        label=doc.title or doc.text[:40],
        chunks=chunks,
        chunk_terms=[terms(f"{doc.title or ''}\n{text}") for text in chunk_texts],
        chunk_vectors=EMBEDDER.embed(chunk_texts),
        sentences=sentences,
        sentence_terms=[terms(text) for text in sentence_texts],
        sentence_vectors=EMBEDDER.embed(sentence_texts),
        sentence_phrases=[() for _ in sentences],
    )


def vector(text: str) -> np.ndarray:
    embedded: np.ndarray = EMBEDDER.embed([text])[0]
    return embedded


def doc_ids(reader: StoreReader, hits: Sequence[tuple[int, float]]) -> list[str]:
    """The documents of ranked chunk hits, in rank order."""
    chunks = reader.chunks([c for c, _ in hits])
    return [chunks[c].doc_id for c, _ in hits if c in chunks]


class StoreContract:
    """Subclass with `settings` and `rows`; the fixtures and helpers every mixin below uses."""

    def settings(self, index_dir: Path, **overrides: Any) -> Settings:
        """Settings of a store of this kind in `index_dir` (the fake embedder)."""
        raise NotImplementedError

    def rows(self, settings: Settings, *, settled: bool = True) -> StoreRows:
        """Every visible row, read straight from the engine and checked whole: "documents" {doc_id: (text, title,
        date, hash, chunks)}, "chunks" and "sentences" as sorted tuples with their vectors' bytes, "keyword_rows".
        `settled`: nothing is left of unfinished writes either (an engine may clean up after a failed one later)."""
        raise NotImplementedError

    def open_store(self, settings: Settings, config: IndexConfig = CONFIG, *, reset: bool = False) -> DocumentStore:
        return build_store(settings, config).open(reset=reset)

    @pytest.fixture
    def store_settings(self, tmp_path: Path) -> Settings:
        return self.settings(tmp_path / "index")

    @pytest.fixture
    def store(self, store_settings: Settings) -> Iterator[DocumentStore]:
        store = self.open_store(store_settings)
        yield store
        store.close()

    @pytest.fixture
    def corpus_store(self, store: DocumentStore) -> DocumentStore:
        """A store holding `filtered_corpus()`."""
        store.write([prepare(d) for d in filtered_corpus()])
        return store


class WriteContract(StoreContract):
    """Documents in, the same documents out; replaced and deleted ones leave nothing behind."""

    def test_written_documents_read_back_whole(self, store: DocumentStore, store_settings: Settings) -> None:
        written = [prepare(article(n)) for n in range(4)]
        store.write(written)
        with store.read() as reader:
            found = reader.documents([p.document.doc_id for p in written] + ["absent"])
            stats = reader.stats()
        assert set(found) == {p.document.doc_id for p in written}
        for prepared in written:
            doc = found[prepared.document.doc_id]
            assert (doc.text, doc.title, doc.content_hash) == (
                prepared.document.text,
                prepared.document.title,
                prepared.document.content_hash,
            )
            assert doc.label == prepared.label
        rows = self.rows(store_settings)
        assert (stats.documents, stats.chunks, stats.sentences) == (
            4,
            sum(len(p.chunks) for p in written),
            sum(len(p.sentences) for p in written),
        )
        assert len(rows["chunks"]) == stats.chunks and len(rows["sentences"]) == stats.sentences

    def test_metadata_round_trips(self, store: DocumentStore) -> None:
        doc = document(
            "A council met on Monday. It approved a bridge.",
            "meta",
            title="Council approves a bridge",
            date="2025-03-04",
            source="Valley Wire",
            url="https://example.com/bridge",
            author="Ada Quill",
        )
        store.write([prepare(doc)])
        with store.read() as reader:
            back = reader.documents(["meta"])["meta"]
        fields = ("title", "date", "source", "url", "author", "content_hash")
        assert {f: getattr(back, f) for f in fields} == {f: getattr(doc, f) for f in fields}

    def test_long_and_unicode_documents_come_back_exactly(self, store: DocumentStore, store_settings: Settings) -> None:
        """A long text with multi-byte characters comes back without a character lost or moved, so every offset
        still points where it did (Milvus stores it in 64 KB pieces)."""
        paragraph = "Zürich’s council — “Ünïcode” 東京 approved the 3 km tram line on Monday. "
        doc = document("Tram line approved\n\n" + paragraph * 900, "tram")
        prepared = prepare(doc)
        store.write([prepared])
        with store.read() as reader:
            assert reader.documents(["tram"])["tram"].text == doc.text
            chunks = reader.chunks([c for c, _ in reader.keyword_search(terms("tram"), 5)])
        assert chunks and all((c.start, c.end) in prepared.chunks for c in chunks.values())
        self.rows(store_settings)

    def test_replacing_a_document_leaves_only_its_new_rows(
        self, store: DocumentStore, store_settings: Settings
    ) -> None:
        store.write([prepare(article(n)) for n in range(3)])
        before = self.rows(store_settings)
        store.write([prepare(article(1, topic="stadium and a much longer name"))])
        store.write([prepare(article(1))])
        after = self.rows(store_settings)
        for key in ("documents", "chunks", "sentences"):
            assert after[key] == before[key], key
        store.write([prepare(article(1, topic="stadium"))])
        rows = self.rows(store_settings)
        assert "stadium" in rows["documents"]["riverton-1"][0]
        assert not any("library" in words and "stadium" in words for words in rows["keyword_rows"])

    def test_delete_returns_what_existed_and_leaves_no_rows(
        self, store: DocumentStore, store_settings: Settings
    ) -> None:
        store.write([prepare(article(n)) for n in range(3)])
        before = self.rows(store_settings)
        store.write([prepare(article(9))])
        assert store.delete(["riverton-9", "never-there"]) == ["riverton-9"]
        after = self.rows(store_settings)
        for key in ("documents", "chunks", "sentences"):
            assert after[key] == before[key], key
        assert store.delete(["riverton-9"]) == []
        with store.read() as reader:
            assert "riverton-9" not in doc_ids(reader, reader.keyword_search(terms("Riverton 9"), 10))
            assert reader.stats().documents == 3

    def test_deleted_chunks_are_never_returned(self, store: DocumentStore) -> None:
        store.write([prepare(article(1)), prepare(article(2))])
        with store.read() as reader:
            mine = [c for c, _ in reader.keyword_search(terms("Quill2"), 10)]
        assert mine
        store.delete(["riverton-2"])
        with store.read() as reader:
            assert reader.chunks(mine) == {}
            assert reader.chunk_vectors(mine) == {}
            assert "riverton-2" not in doc_ids(reader, reader.dense_search(vector("Riverton 2 library"), 10))

    def test_the_generation_rises_with_every_write_and_delete(self, store: DocumentStore) -> None:
        def generation() -> int:
            with store.read() as reader:
                return reader.stats().generation

        seen = [generation()]
        store.write([prepare(article(1))])
        seen.append(generation())
        store.write([prepare(article(1, topic="stadium"))])
        seen.append(generation())
        store.delete(["riverton-1"])
        seen.append(generation())
        assert seen == sorted(seen) and len(set(seen)) == len(seen), seen

    def test_states_and_hashes_say_what_is_stored(self, store: DocumentStore) -> None:
        first, second = prepare(article(1)), prepare(article(2))
        store.write([first, replace(second, origin="seeds/riverton-2.txt")])
        with store.read() as reader:
            states = reader.states(["riverton-1", "riverton-2", "absent"])
            hashes = reader.ids_with_hashes([first.document.content_hash, "0" * 64])
        assert set(states) == {"riverton-1", "riverton-2"}
        assert states["riverton-1"].content_hash == first.document.content_hash
        assert (states["riverton-1"].origin, states["riverton-2"].origin) == (None, "seeds/riverton-2.txt")
        assert hashes == {first.document.content_hash: "riverton-1"}

    def test_summaries_come_a_page_at_a_time(self, store: DocumentStore) -> None:
        """Pages of one stable order tile the whole listing (the embedded store lists in the order added,
        Milvus in id order: here both are the same)."""
        for n in range(4):
            store.write([prepare(article(n))])
        with store.read() as reader:
            everything = [s.doc_id for s in reader.summaries()]
            pages = [s.doc_id for offset in (0, 2) for s in reader.summaries(offset=offset, limit=2)]
            middle = [s.doc_id for s in reader.summaries(offset=1, limit=2)]
            nothing = reader.summaries(limit=0)
            chosen = {s.doc_id: s.label for s in reader.summaries(doc_ids=["riverton-2", "absent"])}
        assert everything == ["riverton-0", "riverton-1", "riverton-2", "riverton-3"]
        assert pages == everything and middle == everything[1:3] and nothing == []
        assert chosen == {"riverton-2": "Riverton 2 opens a library"}

    def test_export_gives_back_what_was_written(self, store: DocumentStore) -> None:
        untitled = document("Mayor Ada Quill opened the library in Paris on Monday. It holds 40,000 books.", "untitled")
        written = [prepare(article(n)) for n in range(3)] + [prepare(untitled)]
        store.write(written)
        with store.read() as reader:
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

    def test_odd_ids_are_quoted_never_read_as_syntax(self, store: DocumentStore) -> None:
        store.write([prepare(article(1))])
        odd = ['x" or doc_id != "', "a\\", "riverton-1' OR '1'='1", 'riverton-1" || "1" == "1', "a\bb", "\x1f", "\x00z"]
        with store.read() as reader:
            assert reader.documents(odd) == {} and reader.states(odd) == {}
            assert reader.summaries(doc_ids=odd) == []
        assert store.delete(odd) == []
        with store.read() as reader:
            assert reader.stats().documents == 1


class SentenceContract(StoreContract):
    """Sentences come back with their neighbours, vectors and phrases."""

    def test_sentences_around_a_span_with_their_neighbours(self, store: DocumentStore) -> None:
        prepared = prepare(article(1))
        store.write([prepared])
        spans = prepared.sentences
        middle = spans[2]
        with store.read() as reader:
            alone = reader.sentences([("riverton-1", middle[0], middle[1])], margin=0)["riverton-1"]
            around = reader.sentences([("riverton-1", middle[0], middle[1])], margin=1)["riverton-1"]
            bare = reader.sentences([("riverton-1", middle[0], middle[1])], margin=0, vectors=False)["riverton-1"]
            absent = reader.sentences([("absent", 0, 10)])
        assert [(s.ordinal, s.start, s.end) for s in alone] == [(2, *middle)]
        assert [s.ordinal for s in around] == [1, 2, 3]
        assert [(s.start, s.end) for s in around] == spans[1:4]
        assert alone[0].vector is not None and np.allclose(alone[0].vector, prepared.sentence_vectors[2], atol=1e-3)
        assert bare[0].vector is None
        assert absent.get("absent", []) == []

    def test_phrases_round_trip_typed_empty_and_never_typed(self, store: DocumentStore) -> None:
        prepared = prepare(article(2))
        second = prepared.sentences[1]
        given = (TypedSpan(second[0], second[0] + 4, "ORG"), TypedSpan(second[1] - 5, second[1], "NP"))
        phrases = [None, given, ()] + [() for _ in prepared.sentences[3:]]
        store.write([replace(prepared, sentence_phrases=phrases)])
        whole = ("riverton-2", 0, len(prepared.document.text))
        with store.read() as reader:
            assert [s.phrases for s in reader.sentences([whole], margin=0)["riverton-2"]][:3] == [None, given, ()]

    def test_sentences_come_with_the_terms_stored_for_them(self, store: DocumentStore) -> None:
        """Answering reads each sentence's terms rather than analysing it again: those of the version read."""
        first, second = prepare(article(3)), prepare(article(3, topic="stadium"))
        for prepared in (first, second):  # the second replaces the first
            store.write([prepared])
            whole = ("riverton-3", 0, len(prepared.document.text))
            with store.read() as reader:
                read = reader.sentences([whole], margin=0, vectors=False)["riverton-3"]
            assert [s.terms for s in read] == [frozenset(words) for words in prepared.sentence_terms]
        assert any("stadium" in words for words in second.sentence_terms)


class KeywordContract(StoreContract):
    """The keyword index: BM25 over `text.terms`, sentence frequencies for idf, and typo-tolerant mentions."""

    def test_keyword_search_finds_the_chunks_of_the_words(self, store: DocumentStore) -> None:
        store.write([prepare(article(n)) for n in range(3)] + [prepare(article(5, "stadium"))])
        with store.read() as reader:
            hits = reader.keyword_search(["stadium"], 10)
            assert set(doc_ids(reader, hits)) == {"riverton-5"}
            assert all(score > 0 for _, score in hits)
            assert reader.keyword_search(["zebra"], 10) == []
            assert reader.keyword_search([], 10) == []

    def test_keyword_ranking_prefers_more_of_the_words(self, store: DocumentStore) -> None:
        store.write([prepare(article(n)) for n in range(4)])
        with store.read() as reader:
            hits = reader.keyword_search(terms("Riverton 2 Quill2 library"), 10)
            ranked = doc_ids(reader, hits)
            assert ranked[0] == "riverton-2"
            assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
            assert len(reader.keyword_search(terms("Riverton library"), 3)) == 3

    def test_titles_are_searchable_with_the_chunk(self, store: DocumentStore) -> None:
        doc = document("The council met on Monday. It approved the plan.", "titled", title="Harbourside aquarium")
        store.write([prepare(doc), prepare(article(1))])
        with store.read() as reader:
            assert doc_ids(reader, reader.keyword_search(terms("aquarium"), 5)) == ["titled"]

    def test_sentence_frequencies_count_the_sentences_holding_each_term(self, store: DocumentStore) -> None:
        documents = [article(n) for n in range(3)]
        store.write([prepare(d) for d in documents])
        words = terms("Riverton council budget library Quill1 zebra")
        expected: dict[str, int] = {}
        for doc in documents:
            for start, end in sentence_spans(doc.text):
                for term in set(terms(doc.text[start:end])) & set(words):
                    expected[term] = expected.get(term, 0) + 1
        with store.read() as reader:
            total, counts = reader.sentence_frequencies(words)
            sentences = reader.stats().sentences
        assert total == sentences and counts == expected and "zebra" not in counts

    def test_sentence_frequencies_follow_deletes(self, store: DocumentStore) -> None:
        store.write([prepare(article(1)), prepare(article(2))])
        store.delete(["riverton-2"])
        with store.read() as reader:
            total, counts = reader.sentence_frequencies(["quill2", "quill1"])
            assert total == reader.stats().sentences
        assert "quill2" not in counts and counts["quill1"] == 1

    def test_mentions_a_word_or_a_typo_of_one(self, store: DocumentStore) -> None:
        store.write([prepare(article(1)), prepare(article(2))])
        with store.read() as reader:
            assert reader.mentions("riverton") and reader.mentions("quill1")
            assert reader.mentions("rivertn")  # a letter dropped
            assert reader.mentions("rivertone")  # a letter added
            assert reader.mentions("rivexton")  # a letter changed
            assert reader.mentions("quill7")  # a digit changed
            assert not reader.mentions("tokyo")
            assert not reader.mentions("rivers")  # two edits away is another word
            assert not reader.mentions("tiverton")  # the first two letters are never a typo
            assert not reader.mentions("ri") and not reader.mentions("")


class DenseContract(StoreContract):
    """The chunks' vectors: cosine ranking and the stored vectors themselves."""

    def test_dense_search_ranks_by_cosine(self, store: DocumentStore) -> None:
        store.write([prepare(article(n)) for n in range(3)] + [prepare(article(5, "stadium"))])
        query = vector("Riverton 5 opens a stadium")
        with store.read() as reader:
            hits = reader.dense_search(query, 3)
            (best, cosine), *_ = hits
            assert reader.chunks([best])[best].doc_id == "riverton-5" and 0 < cosine <= 1.0001
            assert np.allclose(reader.chunk_vectors([best])[best] @ query, cosine, atol=1e-4)
            assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)

    def test_dense_search_returns_k_and_never_more_than_stored(self, store: DocumentStore) -> None:
        written = [prepare(article(n)) for n in range(3)]
        store.write(written)
        total = sum(len(p.chunks) for p in written)
        with store.read() as reader:
            assert len(reader.dense_search(vector("library"), 2)) == 2
            assert len(reader.dense_search(vector("library"), total + 10)) == total

    def test_chunk_vectors_are_the_written_ones(self, store: DocumentStore) -> None:
        prepared = prepare(article(3))
        store.write([prepared])
        with store.read() as reader:
            chunks = reader.chunks([c for c, _ in reader.dense_search(vector("library"), 10)])
            stored = reader.chunk_vectors(list(chunks))
        for chunk_id, chunk in chunks.items():
            row = prepared.chunks.index((chunk.start, chunk.end))
            assert np.allclose(stored[chunk_id], prepared.chunk_vectors[row], atol=1e-5)


class HybridContract(StoreContract):
    """Dense and keyword rankings fused (by the engine, or by the retriever with the same formula)."""

    def test_hybrid_search_puts_what_both_rankings_agree_on_first(self, store: DocumentStore) -> None:
        store.write([prepare(article(n)) for n in range(4)] + [prepare(article(7, "stadium"))])
        query = "When will the Riverton 7 stadium open?"
        with store.read() as reader:
            hits = HybridRetriever().search(reader, vector(query), terms(query), 3)
        assert hits[0].chunk.doc_id == "riverton-7"
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert all(0 < h.score <= 1 and -1 <= h.dense <= 1.0001 for h in hits)

    def test_native_fusion_is_the_retrievers_own_formula(self, store: DocumentStore) -> None:
        """An engine that fuses itself must give what `reciprocal_rank_fusion` gives over its own rankings."""
        store.write([prepare(article(n)) for n in range(6)])
        query = "Riverton 3 library budget"
        with store.read() as reader:
            dense = [c for c, _ in reader.dense_search(vector(query), 20)]
            keyword = [c for c, _ in reader.keyword_search(terms(query), 20)]
            expected = reciprocal_rank_fusion([dense, keyword], [1.0, 1.0])[:5]
            if not reader.native_fusion:
                fused = HybridRetriever().search(reader, vector(query), terms(query), 5)
                assert [h.chunk.chunk_id for h in fused] == [c for c, _ in expected]
                return
            native = cast(FusingReader, reader).hybrid_search(vector(query), terms(query), 5, depth=20, rrf_k=RRF_K)
        best = 2 / (RRF_K + 1)
        assert [c for c, _ in native] == [c for c, _ in expected]
        assert np.allclose([s / best for _, s in native], [s for _, s in expected], atol=1e-4)


class FilterContract(StoreContract):
    """Filters (dates, outlets, doc ids) applied inside the engine: top-k of the allowed documents, always."""

    def test_a_date_range_keeps_top_k_from_that_range(self, corpus_store: DocumentStore) -> None:
        query = "Riverton 0 council library budget"
        dates = {d.doc_id: d.date for d in filtered_corpus()}
        in_range = Filters(date_from="2025-03-01", date_to="2025-06-30")
        with corpus_store.read() as reader:
            assert {"riverton-0", "riverton-12"} & set(doc_ids(reader, reader.dense_search(vector(query), 5)))
            for hits in (
                reader.dense_search(vector(query), 5, in_range),
                reader.keyword_search(terms(query), 5, in_range),
            ):
                found = doc_ids(reader, hits)
                assert len(found) == 5  # eight articles are in range: the top five of them
                assert all("2025-03-01" <= (dates[d] or "") <= "2025-06-30" for d in found)

    def test_outlets(self, corpus_store: DocumentStore) -> None:
        sources = {d.doc_id: d.source for d in filtered_corpus()}
        wire = Filters(sources=["Valley Wire"])
        with corpus_store.read() as reader:
            for hits in (
                reader.dense_search(vector("council budget bridge"), 5, wire),
                reader.keyword_search(terms("council budget bridge"), 5, wire),
            ):
                found = doc_ids(reader, hits)
                assert len(found) == 5 and {sources[d] for d in found} == {"Valley Wire"}
            nobody = Filters(sources=["Nobody's Gazette"])
            assert reader.dense_search(vector("council"), 5, nobody) == []
            assert reader.keyword_search(terms("council"), 5, nobody) == []

    def test_doc_ids(self, corpus_store: DocumentStore) -> None:
        chosen = Filters(doc_ids=["riverton-5", "note-1"])
        with corpus_store.read() as reader:
            assert sorted(set(doc_ids(reader, reader.dense_search(vector("council budget"), 5, chosen)))) == [
                "note-1",
                "riverton-5",
            ]
            keyword = doc_ids(reader, reader.keyword_search(terms("council budget"), 5, chosen))
            assert sorted(set(keyword)) == ["note-1", "riverton-5"]

    def test_filters_combine(self, corpus_store: DocumentStore) -> None:
        both = Filters(sources=["Coast Post", "Harbour Herald"], date_from="2025-11-01")
        with corpus_store.read() as reader:
            found = set(doc_ids(reader, reader.dense_search(vector("council"), 10, both)))
            assert found == {"riverton-11", "riverton-23"}
            assert set(doc_ids(reader, reader.keyword_search(terms("council"), 10, both))) == found

    def test_a_date_filter_leaves_out_undated_documents(self, corpus_store: DocumentStore) -> None:
        until = Filters(date_to="2030-01-01")
        with corpus_store.read() as reader:
            assert "note-0" not in doc_ids(reader, reader.dense_search(vector("Undated note library"), 30, until))
            assert "note-0" not in doc_ids(reader, reader.keyword_search(terms("Undated note"), 30, until))

    def test_the_best_overall_need_not_be_allowed(self, corpus_store: DocumentStore) -> None:
        """A filter allowing a few articles far from the question still gets k of them (not what is left of k)."""
        wanted = ["riverton-2", "riverton-9", "riverton-19"]
        with corpus_store.read() as reader:
            hits = reader.dense_search(vector("a question about nothing in particular"), 10, Filters(doc_ids=wanted))
            assert sorted(doc_ids(reader, hits)) == sorted(wanted)

    def test_odd_filter_values_match_nothing(self, corpus_store: DocumentStore) -> None:
        odd = ['x" or doc_id != "', "a\\", "riverton-1' OR '1'='1", 'riverton-1" || "1" == "1', "\x00z"]
        nothing = Filters(doc_ids=odd, sources=odd)
        with corpus_store.read() as reader:
            assert reader.dense_search(vector("council"), 5, nothing) == []
            assert reader.keyword_search(terms("council"), 5, nothing) == []
            assert reader.summaries(filters=nothing) == [] and reader.sources(nothing) == []

    def test_an_outlet_matches_whatever_its_case_and_spacing(self, corpus_store: DocumentStore) -> None:
        sources = {d.doc_id: d.source for d in filtered_corpus()}
        with corpus_store.read() as reader:
            for typed in (["valley wire"], ["  VALLEY   WIRE "], ["valleywire", "Nobody's Gazette"]):
                filters = Filters(sources=typed)
                for hits in (
                    reader.dense_search(vector("council budget bridge"), 5, filters),
                    reader.keyword_search(terms("council budget bridge"), 5, filters),
                ):
                    found = doc_ids(reader, hits)
                    assert len(found) == 5 and {sources[d] for d in found} == {"Valley Wire"}, typed
                assert {d.source for d in reader.summaries(filters=filters)} == {"Valley Wire"}
                assert [s.source for s in reader.sources(filters)] == ["Valley Wire"]
            assert reader.summaries(filters=Filters(sources=["valley"])) == []  # a word of it is not the outlet

    def test_listing_and_outlet_counts(self, corpus_store: DocumentStore) -> None:
        spring = Filters(date_from="2025-03-01", date_to="2025-05-31", sources=["Coast Post"])
        with corpus_store.read() as reader:
            assert [s.model_dump() for s in reader.sources()] == [
                {"source": "Coast Post", "documents": 8},
                {"source": "Harbour Herald", "documents": 8},
                {"source": "Valley Wire", "documents": 8},
                {"source": None, "documents": 2},
            ]
            listed = [d.doc_id for d in reader.summaries(filters=spring)]  # Milvus lists in id order
            assert sorted(listed) == ["riverton-14", "riverton-2"]
            assert [s.model_dump() for s in reader.sources(spring)] == [{"source": "Coast Post", "documents": 2}]
            assert [d.doc_id for d in reader.summaries(offset=1, limit=1, filters=spring)] == listed[1:]


class SnapshotContract(StoreContract):
    """A reader sees one committed state: a document replaced or deleted meanwhile keeps the version it read."""

    def test_a_reader_keeps_the_version_of_a_document_it_read(self, store: DocumentStore) -> None:
        store.write([prepare(article(1)), prepare(article(2))])
        with store.read() as reader:
            old_text = reader.documents(["riverton-1"])["riverton-1"].text
            store.write([prepare(article(1, topic="stadium and a much longer name"))])  # replaced meanwhile
            assert reader.documents(["riverton-1"])["riverton-1"].text == old_text
            for sentences in reader.sentences([("riverton-1", 0, len(old_text))]).values():
                assert all(old_text[s.start : s.end] for s in sentences)
        with store.read() as reader:
            assert "stadium" in reader.documents(["riverton-1"])["riverton-1"].text

    def test_a_fresh_reader_sees_every_committed_write(self, store: DocumentStore) -> None:
        store.write([prepare(article(1))])
        store.write([prepare(article(2))])
        store.delete(["riverton-1"])
        with store.read() as reader:
            assert set(reader.documents(["riverton-1", "riverton-2"])) == {"riverton-2"}
            assert set(doc_ids(reader, reader.keyword_search(terms("Riverton"), 10))) == {"riverton-2"}


class DurabilityContract(StoreContract):
    """What was committed survives closing and reopening; a write that fails leaves the store as it was; writers
    on several threads lose nothing. (Kills of whole processes: `test_crash.py`, on both engines.)"""

    def test_a_reopened_store_holds_what_was_committed(self, store_settings: Settings) -> None:
        store = self.open_store(store_settings)
        store.write([prepare(article(n)) for n in range(3)])
        store.delete(["riverton-0"])
        store.flush()
        store.close()
        again = self.open_store(store_settings)
        try:
            with again.read() as reader:
                assert set(reader.documents(["riverton-0", "riverton-1", "riverton-2"])) == {"riverton-1", "riverton-2"}
                assert doc_ids(reader, reader.dense_search(vector("Riverton 2 Quill2"), 1)) == ["riverton-2"]
        finally:
            again.close()
        self.rows(store_settings)

    def test_other_settings_are_refused_with_the_fix_and_reset_adopts_them(self, store_settings: Settings) -> None:
        store = self.open_store(store_settings)
        store.write([prepare(article(1))])
        store.close()
        other = replace(CONFIG, chunk_size=100)
        with pytest.raises(IndexMismatchError, match="chunk_size: index has 160, settings say 100.*--rebuild"):
            self.open_store(store_settings, other)
        rebuilt = self.open_store(store_settings, other, reset=True)
        try:
            with rebuilt.read() as reader:
                assert reader.stats().documents == 0
        finally:
            rebuilt.close()
        self.open_store(store_settings, other).close()  # the reset store now holds the new settings

    def test_a_write_that_fails_leaves_the_store_as_it_was(
        self, store: DocumentStore, store_settings: Settings
    ) -> None:
        """A batch with one malformed document (a vector per chunk missing) is refused whole, before or after
        its other documents were sent: none of the batch is visible, and what was there stays."""
        store.write([prepare(article(1))])
        before = self.rows(store_settings)
        good, bad = prepare(article(2)), prepare(article(3))
        broken = replace(bad, chunk_vectors=bad.chunk_vectors[:1], sentence_vectors=bad.sentence_vectors[:1])
        with pytest.raises(Exception):  # noqa: B017 - each engine refuses it its own way; the state is what matters
            store.write([good, broken])
        with store.read() as reader:
            assert set(reader.documents(["riverton-1", "riverton-2", "riverton-3"])) == {"riverton-1"}
        after = self.rows(store_settings, settled=False)
        for key in ("documents", "chunks", "sentences"):
            assert after[key] == before[key], key
        store.write([good])  # and the store still takes writes
        with store.read() as reader:
            assert reader.stats().documents == 2

    def test_writers_and_readers_on_several_threads(self, store: DocumentStore, store_settings: Settings) -> None:
        errors: list[BaseException] = []
        done = threading.Event()

        def write(first: int) -> None:
            try:
                for n in range(first, first + 4):
                    store.write([prepare(article(n))])
                store.delete([f"riverton-{first}"])
            except BaseException as exc:  # noqa: BLE001 - reported below, on the test's thread
                errors.append(exc)

        def read() -> None:
            try:
                while not done.is_set():
                    with store.read() as reader:
                        for chunk_id, _ in reader.keyword_search(terms("Riverton library"), 5):
                            reader.chunk_vectors([chunk_id])
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        writers = [threading.Thread(target=write, args=(first,)) for first in (0, 10, 20)]
        reading = threading.Thread(target=read)
        reading.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        done.set()
        reading.join()
        assert not errors, errors
        expected = {f"riverton-{n}" for first in (0, 10, 20) for n in range(first + 1, first + 4)}
        with store.read() as reader:
            assert {s.doc_id for s in reader.summaries()} == expected
        assert set(self.rows(store_settings)["documents"]) == expected


class UpgradeContract(StoreContract):
    """The optional `UpgradableStore` protocol: what an index written by an earlier version lacks (phrases, labels,
    sentence terms) is found and filled in without embedding anything again."""

    def test_the_store_is_upgradable(self, store: DocumentStore) -> None:
        assert isinstance(store, UpgradableStore)

    def test_untyped_sentences_are_found_and_typed_later(self, store: DocumentStore) -> None:
        assert isinstance(store, UpgradableStore)
        prepared = prepare(article(2))
        phrases = [None, None] + [() for _ in prepared.sentences[2:]]
        store.write([replace(prepared, sentence_phrases=phrases), prepare(article(1))])
        untyped = [("riverton-2", 0, *prepared.sentences[0]), ("riverton-2", 1, *prepared.sentences[1])]
        assert store.untyped_sentences(10) == untyped
        assert store.untyped_sentences(1) == untyped[:1]
        first = prepared.sentences[0]
        typed = (TypedSpan(first[0], first[0] + 7, "GPE"),)
        with store.read() as reader:
            generation = reader.stats().generation
        assert store.set_phrases([("riverton-2", 0, typed), ("riverton-2", 1, ()), ("gone", 3, ())]) == 2
        assert store.untyped_sentences(10) == []
        with store.read() as reader:
            assert reader.sentences([("riverton-2", 0, 5)], margin=0)["riverton-2"][0].phrases == typed
            assert reader.stats().generation > generation, "answers may change: the generation rises"

    def test_a_complete_store_has_nothing_to_complete(self, store: DocumentStore) -> None:
        assert isinstance(store, UpgradableStore)
        store.write([prepare(article(n)) for n in range(3)])
        assert store.incomplete_documents(10) == []
        assert store.complete_documents([]) == 0


class FullContract(
    WriteContract,
    SentenceContract,
    KeywordContract,
    DenseContract,
    HybridContract,
    FilterContract,
    SnapshotContract,
    DurabilityContract,
    UpgradeContract,
):
    """Every mixin above: what a store that also has the upgrade protocol (both engines here) subclasses."""
