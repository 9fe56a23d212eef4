"""The service facade: one object the API, CLI and evaluation share, so all three answer the same way.

Data flow of a question: embed it (`embedding`), then inside one consistent read of the store (`store`):
rank chunks (`retrieval`), load the sentences around them (`answering.AnswerContext`), pick and quote the
answer (`answering`). Every write goes through `write` (`ingest.indexer.Indexer.write`, with a
`DuplicatePolicy`) to the store, which owns the index on disk.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa_service.answering import AnswerBackend, AnswerContext, Answerer, Extraction, build_answerer, build_backend
from qa_service.answering.question import QuestionAnalysis, analyse_question, names_not_in_corpus
from qa_service.config import Settings
from qa_service.embedding import Embedder, build_embedder
from qa_service.errors import DocumentNotFoundError
from qa_service.ingest.converters import ArticleError
from qa_service.ingest.indexer import (
    AlreadyIndexed,
    DuplicatePolicy,
    Incoming,
    Indexer,
)
from qa_service.ingest.upgrades import complete_stored, type_stored
from qa_service.relatedness import relation
from qa_service.retrieval import HybridRetriever, RetrievedChunk
from qa_service.schemas import (
    Answer,
    Document,
    DocumentSummary,
    Filters,
    IngestReport,
    Passage,
    SearchResult,
    SourceCount,
)
from qa_service.store import DocumentStore, IndexConfig, StoreReader, UpgradableStore, build_store
from qa_service.store.disk import disk_refused, storage_errors
from qa_service.text.chunking import Chunker
from qa_service.text.language import question_language
from qa_service.text.terms import ANALYZER

log = logging.getLogger(__name__)


class QAService:
    """Cheap to construct; call `load()` once (model + store), then use from many threads."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder: Embedder = embedder or build_embedder(settings)
        self.backend: AnswerBackend | None = build_backend(settings)
        self.retriever = HybridRetriever()
        self.answerer: Answerer = build_answerer(settings)
        self._store: DocumentStore | None = None
        self._parser = ThreadPoolExecutor(max_workers=2, thread_name_prefix="question-parse")
        self._indexer: Indexer | None = None

    # ---- lifecycle -------------------------------------------------------------------------------

    def load(self, *, reset: bool = False) -> QAService:
        """Load the model and open the store; `reset` empties it first (ingest --rebuild).

        Raises IndexMismatchError / IndexCorruptError with a message that says what to do.
        """
        import faiss

        faiss.omp_set_num_threads(1)  # one question per thread: extra OpenMP threads only fight for the cores
        self.embedder.load()
        self.answerer.warm_up()
        if self.backend is not None:
            self.backend.load()
        chunker = Chunker(
            self.settings.chunk_size, self.settings.chunk_overlap, self.embedder.count_tokens, self.embedder.max_tokens
        )
        self._store = build_store(self.settings, self.index_config).open(reset=reset)
        if isinstance(self._store, UpgradableStore):  # an index written by an earlier version: once, at start-up
            self._upgrade(self._store)
        self._indexer = Indexer(
            self._store,
            self.embedder,
            chunker,
            batch_size=self.settings.ingest_batch,
            cpu_budget_s=self.settings.document_cpu_s,
            max_chars=self.settings.max_document_chars,
        )
        return self

    def _upgrade(self, store: UpgradableStore) -> None:
        completed = complete_stored(store)
        if completed:
            log.info("stored labels and sentence terms for %d documents indexed by an earlier version", completed)
        typed = type_stored(store, progress=sys.stderr.isatty())
        if typed:
            log.info("typed %d sentences indexed by an earlier version (entities and noun phrases)", typed)

    def close(self) -> None:
        """Save the dense index for a fast next start and release the store."""
        if self._store is not None:
            self._save_dense()
            self._store.close()

    def _save_dense(self) -> None:
        """Save the dense-index cache; on a full disk say so and go on (it is rebuilt at the next start)."""
        try:
            self.store.flush()
        except OSError as exc:
            if not disk_refused(exc):
                raise
            log.warning(
                "the dense index cache was not saved (%s); it is rebuilt from the database at the next start", exc
            )

    @property
    def loaded(self) -> bool:
        return self._store is not None

    @property
    def store(self) -> DocumentStore:
        if self._store is None:
            raise RuntimeError("QAService.load() was not called")
        return self._store

    @property
    def indexer(self) -> Indexer:
        if self._indexer is None:
            raise RuntimeError("QAService.load() was not called")
        return self._indexer

    @property
    def index_config(self) -> IndexConfig:
        return IndexConfig(
            embedding_model=self.embedder.name,
            embedding_backend=self.embedder.backend,
            dimension=self.embedder.dimension,
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
            analyzer=ANALYZER,
        )

    # ---- reading -------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        *,
        min_score: float | None = None,
        filters: Filters | None = None,
        explain: bool = False,
    ) -> Answer:
        """Answer from the store (from the articles `filters` allow); `min_score` overrides the answerer's
        threshold (the evaluation's sweep); `explain` adds the candidates weighed and the rule that decided."""
        top_k = top_k or self.settings.top_k
        started = time.perf_counter()
        analysis, vector = self._read_question(question)
        embedded = time.perf_counter()
        with self.store.read() as reader:
            hits = self.retriever.search(reader, vector, analysis.terms, top_k, filters)
            retrieved = time.perf_counter()
            context = AnswerContext.build(reader, analysis, vector, hits)
            missing = names_not_in_corpus(analysis, reader)
            language = question_language(question)
            if missing:  # whatever the nearest sentence says, it is not about what the question names
                extraction = Extraction(answerable=False, confidence=0.0, answer=None, citations=[], not_found=missing)
            elif language is not None and not _names_found(analysis, missing):  # only English is understood
                extraction = Extraction(answerable=False, confidence=0.0, answer=None, citations=[])
            else:
                extraction = self.answerer.answer(context, min_score=min_score, explain=explain)
                if self.backend is not None:
                    extraction = self.backend.answer(context, extraction)
            passages = _passages(context.documents, hits, analysis, self.settings.related_min_similarity, context)
            outside = 0
            if filters is not None and filters.active and not extraction.answerable and not missing:
                outside = self._outside_filter(reader, vector, analysis, top_k, passages, min_score)
                if outside:
                    extraction = replace(extraction, reason=filters.removed_every_match(outside))
        answered = time.perf_counter()
        return Answer(
            question=question,
            answer=extraction.answer,
            answerable=extraction.answerable,
            confidence=round(extraction.confidence, 4),
            answer_span=extraction.answer_span,
            citations=extraction.citations,
            sources=extraction.sources,
            not_found=extraction.not_found,
            reason=extraction.reason,
            explanation=extraction.explanation,
            question_language=language,
            outside_filter=outside,
            passages=passages,
            timings_ms={
                "embed": round((embedded - started) * 1000, 2),
                "retrieve": round((retrieved - embedded) * 1000, 2),
                "answer": round((answered - retrieved) * 1000, 2),
                "total": round((answered - started) * 1000, 2),
            },
        )

    def _outside_filter(
        self,
        reader: StoreReader,
        vector: np.ndarray,
        analysis: QuestionAnalysis,
        top_k: int,
        inside: list[Passage],
        min_score: float | None,
    ) -> int:
        """How many passages outside the filter match a question the filtered articles do not answer: those that
        mention its words, when the whole store answers it or nothing inside the filter mentions them (0: the
        filter is not why). Only abstentions under a filter pay for this second search."""
        within = {p.chunk_id for p in inside}
        hits = self.retriever.search(reader, vector, analysis.terms, top_k, None)
        outside = [hit for hit in hits if hit.chunk.chunk_id not in within]
        if not outside:
            return 0
        context = AnswerContext.build(reader, analysis, vector, hits)
        answered = self.answerer.answer(context, min_score=min_score).answerable
        similarity = self.settings.related_min_similarity
        related = sum(p.related for p in _passages(context.documents, outside, analysis, similarity, context))
        if answered:
            return related or len(outside)
        return related if not any(p.related for p in inside) else 0

    def search(self, query: str, top_k: int | None = None, *, filters: Filters | None = None) -> SearchResult:
        analysis, vector = self._read_question(query)
        with self.store.read() as reader:
            hits = self.retriever.search(reader, vector, analysis.terms, top_k or self.settings.top_k, filters)
            documents = reader.documents([h.chunk.doc_id for h in hits])
        passages = _passages(documents, hits, analysis, self.settings.related_min_similarity)
        return SearchResult(query=query, passages=passages)

    def _read_question(self, question: str) -> tuple[QuestionAnalysis, np.ndarray]:
        """The question's analysis and vector, what retrieval needs, for `ask` and `search` alike: spaCy reads it
        on the parser pool while it is embedded here."""
        parsed = self._parser.submit(analyse_question, question)
        vector = self.embedder.embed([question])[0]
        return parsed.result(), vector

    def list_documents(
        self, *, offset: int = 0, limit: int | None = None, filters: Filters | None = None
    ) -> list[DocumentSummary]:
        with self.store.read() as reader:
            return reader.summaries(offset=offset, limit=limit, filters=filters)

    def sources(self, filters: Filters | None = None) -> list[SourceCount]:
        """The outlets with their number of articles, most first."""
        with self.store.read() as reader:
            return reader.sources(filters)

    def summary(self, doc_id: str) -> DocumentSummary:
        with self.store.read() as reader:
            found = reader.summaries(doc_ids=[doc_id])
        if not found:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        return found[0]

    def get_document(self, doc_id: str) -> Document:
        with self.store.read() as reader:
            document = reader.documents([doc_id]).get(doc_id)
        if document is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        return document

    def stats(self) -> dict[str, int]:
        with self.store.read() as reader:
            stats = reader.stats()
        return {"documents": stats.documents, "chunks": stats.chunks, "sentences": stats.sentences}

    # ---- writing -------------------------------------------------------------------------------

    def write(
        self,
        items: Iterable[Document | Incoming | ArticleError | AlreadyIndexed],
        policy: DuplicatePolicy = DuplicatePolicy.OVERWRITE,
        *,
        expected: Callable[[], int | None] | None = None,
        keep_ids: bool = True,
    ) -> IngestReport:
        """The one way in, for the CLI, the API, pages, feeds and evaluation alike: `Indexer.write` (a `Document`
        is an `Incoming` of no file). Embeds only what is new or changed, and commits it in batches (each batch
        all or nothing); a disk that refuses a write is a StorageFullError that says what was kept."""
        stream: Iterable[Incoming | ArticleError | AlreadyIndexed] = map(_incoming, items)
        what = _NOT_WRITTEN.get(policy, "the documents were not added")
        if policy is DuplicatePolicy.FAIL:  # one document as a rule, all or nothing: a full disk's message names it
            stream = list(stream)
            ids = [item.document.doc_id for item in stream if isinstance(item, Incoming)]
            what = f"document {ids[0]!r} was not added" if len(ids) == 1 else what
        try:
            with storage_errors(what):
                return self.indexer.write(stream, policy, expected=expected, keep_ids=keep_ids)
        finally:
            if policy is DuplicatePolicy.OVERWRITE:  # an ingest: the next start finds the dense index saved
                self._save_dense()

    def indexed(self, doc_ids: list[str]) -> set[str]:
        """Which of these ids the index holds (a feed's entries already ingested are not fetched again)."""
        with self.store.read() as reader:
            return set(reader.states(doc_ids))

    def delete_documents(self, doc_ids: list[str]) -> list[str]:
        """Remove these documents, all or nothing; returns those that were there."""
        with storage_errors("nothing was deleted"):
            return self.store.delete(list(dict.fromkeys(doc_ids)))

    def delete_document(self, doc_id: str) -> None:
        with storage_errors(f"document {doc_id!r} was not deleted"):
            deleted = self.store.delete([doc_id])
        if not deleted:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")

    def ingest_paths(
        self, paths: list[Path], *, progress: bool = True, keep_ids: bool = True, follow_links: bool = True
    ) -> IngestReport:
        """Load files and folders in batches; a bad file is reported by name and nothing indexed is lost."""
        from qa_service.ingest.sources import FileItems

        files = FileItems(paths, self.indexer.budget, follow_links=follow_links)
        report = self.write(files, expected=files.expected if progress else None, keep_ids=keep_ids)
        report.notes.update(files.notes)
        return report


# What a full disk stopped: an ingest (it resumes), or a request's documents.
_NOT_WRITTEN = {DuplicatePolicy.OVERWRITE: "ingest stopped; the batches committed before stay"}


def _incoming(item: Document | Incoming | ArticleError | AlreadyIndexed) -> Incoming | ArticleError | AlreadyIndexed:
    return Incoming(item) if isinstance(item, Document) else item


def _names_found(analysis: QuestionAnalysis, missing: list[str]) -> bool:
    """Whether the question names something the articles mention: a question in another language is still
    answered then (its names carry it, and the answer shows the language notice), else declined."""
    return any(not name.islower() and name not in missing for name in analysis.names)


def _passages(
    documents: dict[str, Document],
    hits: list[RetrievedChunk],
    question: QuestionAnalysis,
    min_similarity: float,
    context: AnswerContext | None = None,
) -> list[Passage]:
    """The hits as passages; `context` (the question's, when it has one) gives their terms without analysing the
    sentences stored with them again."""
    passages = []
    for hit in hits:
        document = documents[hit.chunk.doc_id]
        text = document.text[hit.chunk.start : hit.chunk.end]
        present = context.passage_terms(hit) if context is not None else None
        mentions, related = relation(question, text, hit.dense, min_similarity, present)
        passages.append(
            Passage(
                doc_id=hit.chunk.doc_id,
                title=document.title,
                date=document.date,
                source=document.source,
                chunk_id=hit.chunk.chunk_id,
                start=hit.chunk.start,
                end=hit.chunk.end,
                text=text,
                score=round(hit.score, 4),
                similarity=round(hit.dense, 4),
                mentions=mentions,
                related=related,
            )
        )
    return passages
