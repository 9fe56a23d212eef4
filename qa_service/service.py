"""The service facade: one object the API, CLI and evaluation share, so all three answer the same way.

Data flow of a question: embed it (`embedding`), then inside one consistent read of the store (`store`):
rank chunks (`retrieval`), load the sentences around them (`answering.AnswerContext`), pick and quote the
answer (`answering`). Writes go through `indexing.Indexer` to the store, which owns the index on disk.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from qa_service.analysis import ANALYZER
from qa_service.answering import AnswerBackend, AnswerContext, Extraction, ExtractiveAnswerer, build_backend
from qa_service.answering.question import names_not_in_corpus
from qa_service.answering.short_answer import question_focus
from qa_service.chunking import Chunker
from qa_service.config import Settings
from qa_service.embedding import Embedder, build_embedder
from qa_service.errors import DocumentExistsError, DocumentNotFoundError
from qa_service.indexing import Incoming, Indexer
from qa_service.language import question_language
from qa_service.relatedness import relation
from qa_service.retrieval import HybridRetriever, RetrievedChunk
from qa_service.schemas import Answer, Document, DocumentSummary, IngestReport, Passage, SearchResult
from qa_service.store import DocumentStore, IndexConfig, build_store


class QAService:
    """Cheap to construct; call `load()` once (model + store), then use from many threads."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder: Embedder = embedder or build_embedder(settings)
        self.backend: AnswerBackend | None = build_backend(settings)
        self.retriever = HybridRetriever()
        self.answerer = ExtractiveAnswerer(min_score=settings.min_score, max_answer_chars=settings.max_answer_chars)
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
        self._indexer = Indexer(self._store, self.embedder, chunker, batch_size=self.settings.ingest_batch)
        return self

    def close(self) -> None:
        """Save the dense index for a fast next start and release the store."""
        if self._store is not None:
            self._store.flush()
            self._store.close()

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

    def ask(self, question: str, top_k: int | None = None, *, min_score: float | None = None) -> Answer:
        """Answer from the store; `min_score` overrides QA_MIN_SCORE (the evaluation's threshold sweep)."""
        top_k = top_k or self.settings.top_k
        started = time.perf_counter()
        parsed = self._parser.submit(question_focus, question)  # spaCy reads the question while we embed it
        vector = self.embedder.embed([question])[0]
        embedded = time.perf_counter()
        with self.store.read() as reader:
            hits = self.retriever.search(reader, vector, question, top_k)
            retrieved = time.perf_counter()
            context = AnswerContext.build(reader, question, vector, hits)
            parsed.result()
            missing = names_not_in_corpus(question, reader)
            if missing:  # whatever the nearest sentence says, it is not about what the question names
                extraction = Extraction(answerable=False, confidence=0.0, answer=None, citations=[], not_found=missing)
            else:
                extraction = self.answerer.answer(context, min_score=min_score)
                if self.backend is not None:
                    extraction = self.backend.answer(context, extraction)
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
            question_language=question_language(question),
            passages=_passages(context.documents, hits, question, self.settings.related_min_similarity),
            timings_ms={
                "embed": round((embedded - started) * 1000, 2),
                "retrieve": round((retrieved - embedded) * 1000, 2),
                "answer": round((answered - retrieved) * 1000, 2),
                "total": round((answered - started) * 1000, 2),
            },
        )

    def search(self, query: str, top_k: int | None = None) -> SearchResult:
        vector = self.embedder.embed([query])[0]
        with self.store.read() as reader:
            hits = self.retriever.search(reader, vector, query, top_k or self.settings.top_k)
            documents = reader.documents([h.chunk.doc_id for h in hits])
        passages = _passages(documents, hits, query, self.settings.related_min_similarity)
        return SearchResult(query=query, passages=passages)

    def list_documents(self, *, offset: int = 0, limit: int | None = None) -> list[DocumentSummary]:
        with self.store.read() as reader:
            return reader.summaries(offset=offset, limit=limit)

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

    def add_document(self, document: Document, *, replace_existing: bool = False) -> IngestReport:
        """Add one document; 409-style error if the id exists and replacing was not asked for."""
        report = self.add_documents([document], replace_existing=replace_existing)
        if document.doc_id in report.duplicates:
            raise DocumentExistsError(
                f"document {document.doc_id!r} has the same text as {report.duplicates[document.doc_id]!r}"
            )
        if document.doc_id in report.conflicts or (document.doc_id in report.unchanged and not replace_existing):
            raise DocumentExistsError(f"a document with id {document.doc_id!r} already exists")
        return report

    def add_documents(
        self, documents: list[Document], *, replace_existing: bool = True, bulk: bool = False
    ) -> IngestReport:
        """Embed only what is new or changed, and commit it in batches (each batch all or nothing).

        `bulk`: many documents, nothing else to serve: the embedder may use every core."""
        return self.indexer.add_all((Incoming(d) for d in documents), replace_existing=replace_existing, bulk=bulk)

    def delete_document(self, doc_id: str) -> None:
        if not self.store.delete([doc_id]):
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")

    def ingest_paths(self, paths: list[Path], *, progress: bool = True, keep_ids: bool = True) -> IngestReport:
        """Load files and folders in batches; a bad file is reported by name and nothing indexed is lost."""
        report = self.indexer.ingest_paths(paths, progress=progress, keep_ids=keep_ids)
        self.store.flush()
        return report


def _passages(
    documents: dict[str, Document], hits: list[RetrievedChunk], question: str, min_similarity: float
) -> list[Passage]:
    passages = []
    for hit in hits:
        text = documents[hit.chunk.doc_id].text[hit.chunk.start : hit.chunk.end]
        mentions, related = relation(question, text, hit.dense, min_similarity)
        passages.append(
            Passage(
                doc_id=hit.chunk.doc_id,
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
