"""The service facade: one object the API, CLI and evaluation share, so all three answer the same way."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
from tqdm import tqdm

from qa_service.analysis import sentence_spans
from qa_service.answering import Extraction, ExtractiveAnswerer
from qa_service.chunking import Chunker
from qa_service.config import Settings
from qa_service.embedding import Embedder, build_embedder
from qa_service.errors import DocumentExistsError, DocumentNotFoundError, InvalidDocumentError
from qa_service.ingest import iter_article_files, load_file, validate_doc_id
from qa_service.retrieval import HybridRetriever, ScoredChunk
from qa_service.schemas import (
    Answer,
    Chunk,
    Document,
    DocumentSummary,
    IngestReport,
    Passage,
    SearchResult,
    Sentence,
)
from qa_service.store import IndexConfig, IndexSnapshot, IndexStore


class AnswerBackend(Protocol):
    """An optional answerer that refines the extractive one and falls back to it when it cannot help."""

    name: str

    def load(self) -> AnswerBackend: ...

    def answer(
        self, question: str, answerer: ExtractiveAnswerer, hits: list[ScoredChunk], fallback: Extraction
    ) -> Extraction: ...


def build_backend(settings: Settings) -> AnswerBackend | None:
    """The back-end the settings ask for: an OpenAI-compatible LLM, a local reader model, or none."""
    if settings.llm_base_url:
        from qa_service.generation import LLMAnswerer

        if not settings.llm_model:
            raise ValueError("QA_LLM_BASE_URL is set but QA_LLM_MODEL is not: name the model to use")
        return LLMAnswerer(
            settings.llm_base_url, settings.llm_model, api_key=settings.llm_api_key, timeout_s=settings.llm_timeout_s
        )
    if settings.reader_model:
        from qa_service.reader import ReaderAnswerer

        return ReaderAnswerer(settings.reader_model)
    return None


@dataclass(frozen=True)
class _Engine:
    """Everything derived from one snapshot; replaced whole, so a reader never sees a half-update."""

    snapshot: IndexSnapshot
    name: str | None
    retriever: HybridRetriever
    answerer: ExtractiveAnswerer


class QAService:
    """Cheap to construct; call `load()` once (model + index), then use from many threads."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder: Embedder = embedder or build_embedder(settings)
        self.store = IndexStore(settings.index_dir)
        self._engine: _Engine | None = None
        self._write_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._chunker: Chunker | None = None
        self.backend: AnswerBackend | None = build_backend(settings)

    # ---- lifecycle -------------------------------------------------------------------------------

    def load(self) -> QAService:
        """Load the model and the index; raises IndexMismatchError/IndexCorruptError with a fix-it message."""
        faiss.omp_set_num_threads(1)  # one query at a time: extra OpenMP threads only fight torch for cores
        self.embedder.load()
        if self.backend is not None:
            self.backend.load()
        self._chunker = Chunker(
            self.settings.chunk_size,
            self.settings.chunk_overlap,
            self.embedder.count_tokens,
            self.embedder.max_tokens,
        )
        self._engine = self._build_engine(self.store.load(self.index_config), self.store.current_name())
        return self

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    @property
    def index_config(self) -> IndexConfig:
        return IndexConfig(
            embedding_model=self.embedder.name,
            dimension=self.embedder.dimension,
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
        )

    def _build_engine(self, snapshot: IndexSnapshot, name: str | None) -> _Engine:
        return _Engine(
            snapshot=snapshot,
            name=name,
            retriever=HybridRetriever(snapshot),
            answerer=ExtractiveAnswerer(
                snapshot, min_score=self.settings.min_score, max_answer_chars=self.settings.max_answer_chars
            ),
        )

    @property
    def engine(self) -> _Engine:
        """The live engine, reloaded when another process (a second worker, the CLI) switched the index."""
        if self._engine is None:
            raise RuntimeError("QAService.load() was not called")
        current = self.store.current_name()
        if current != self._engine.name:
            with self._reload_lock:
                if current != self._engine.name:
                    self._engine = self._build_engine(self.store.load(self.index_config), current)
        return self._engine

    # ---- reading -------------------------------------------------------------------------------

    def ask(self, question: str, top_k: int | None = None, *, min_score: float | None = None) -> Answer:
        """Answer from the live index; `min_score` overrides QA_MIN_SCORE (the evaluation's threshold sweep)."""
        top_k = top_k or self.settings.top_k
        engine = self.engine
        started = time.perf_counter()
        vector = self.embedder.embed([question])[0]
        embedded = time.perf_counter()
        hits = engine.retriever.search(vector, question, top_k)
        retrieved = time.perf_counter()
        extraction = engine.answerer.answer(question, vector, hits, min_score=min_score)
        if self.backend is not None:
            extraction = self.backend.answer(question, engine.answerer, hits, extraction)
        answered = time.perf_counter()
        return Answer(
            question=question,
            answer=extraction.answer,
            answerable=extraction.answerable,
            confidence=round(extraction.confidence, 4),
            answer_span=extraction.answer_span,
            citations=extraction.citations,
            passages=self._passages(engine.snapshot, hits),
            timings_ms={
                "embed": round((embedded - started) * 1000, 2),
                "retrieve": round((retrieved - embedded) * 1000, 2),
                "answer": round((answered - retrieved) * 1000, 2),
                "total": round((answered - started) * 1000, 2),
            },
        )

    def search(self, query: str, top_k: int | None = None) -> SearchResult:
        engine = self.engine
        vector = self.embedder.embed([query])[0]
        hits = engine.retriever.search(vector, query, top_k or self.settings.top_k)
        return SearchResult(query=query, passages=self._passages(engine.snapshot, hits))

    @staticmethod
    def _passages(snapshot: IndexSnapshot, hits: Iterable) -> list[Passage]:  # noqa: ANN001
        out = []
        for hit in hits:
            chunk = snapshot.chunks[hit.index]
            out.append(
                Passage(
                    doc_id=chunk.doc_id,
                    chunk_id=chunk.chunk_id,
                    start=chunk.start,
                    end=chunk.end,
                    text=chunk.text,
                    score=round(hit.score, 4),
                )
            )
        return out

    def list_documents(self) -> list[DocumentSummary]:
        snapshot = self.engine.snapshot
        counts: dict[str, int] = {}
        for chunk in snapshot.chunks:
            counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
        return [
            DocumentSummary(
                doc_id=d.doc_id, title=d.title, date=d.date, source=d.source, chunks=counts.get(d.doc_id, 0)
            )
            for d in snapshot.documents.values()
        ]

    def get_document(self, doc_id: str) -> Document:
        document = self.engine.snapshot.documents.get(doc_id)
        if document is None:
            raise DocumentNotFoundError(f"no document with id {doc_id!r}")
        return document

    def stats(self) -> dict[str, int]:
        snapshot = self.engine.snapshot
        return {"documents": len(snapshot.documents), "chunks": len(snapshot.chunks)}

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
        self, documents: list[Document], *, replace_existing: bool = True, rebuild: bool = False, progress: bool = False
    ) -> IngestReport:
        """Embed only what is new, then publish one new snapshot atomically (all or nothing)."""
        report = IngestReport()
        with self._write_lock, self.store.write_lock():
            base = IndexSnapshot.empty(self.index_config) if rebuild else self.store.load(self.index_config)
            by_hash = {d.content_hash: d.doc_id for d in base.documents.values()}
            to_add: list[Document] = []
            replaced: set[str] = set()
            for document in documents:
                existing = base.documents.get(document.doc_id)
                if existing is not None and existing.content_hash == document.content_hash:
                    report.unchanged.append(document.doc_id)
                elif existing is not None and not replace_existing:
                    report.conflicts.append(document.doc_id)
                elif by_hash.get(document.content_hash, document.doc_id) != document.doc_id:
                    report.duplicates[document.doc_id] = by_hash[document.content_hash]
                else:
                    (report.replaced if existing is not None else report.added).append(document.doc_id)
                    if existing is not None:
                        replaced.add(document.doc_id)
                    by_hash[document.content_hash] = document.doc_id
                    to_add.append(document)
            if not to_add and not rebuild:
                return report
            snapshot = self._without(base, replaced)
            snapshot = self._with(snapshot, to_add, progress=progress)
            name = self.store.save(snapshot)
            self._engine = self._build_engine(snapshot, name)
        return report

    def delete_document(self, doc_id: str) -> None:
        with self._write_lock, self.store.write_lock():
            base = self.store.load(self.index_config)
            if doc_id not in base.documents:
                raise DocumentNotFoundError(f"no document with id {doc_id!r}")
            snapshot = self._without(base, {doc_id})
            name = self.store.save(snapshot)
            self._engine = self._build_engine(snapshot, name)

    def ingest_paths(self, paths: list[Path], *, rebuild: bool = False, progress: bool = True) -> IngestReport:
        """Load files and folders; a bad file is reported by name and nothing indexed is lost."""
        documents: list[Document] = []
        errors: dict[str, str] = {}
        files = list(iter_article_files(paths))
        for path in tqdm(files, desc="reading", unit="file", disable=not progress or len(files) < 20):
            try:
                documents.append(load_file(path))
            except InvalidDocumentError as exc:
                errors[str(path)] = str(exc)
        report = self.add_documents(documents, rebuild=rebuild, progress=progress)
        report.errors.update(errors)
        return report

    def _without(self, snapshot: IndexSnapshot, doc_ids: set[str]) -> IndexSnapshot:
        if not doc_ids:
            return snapshot
        keep_chunks = [i for i, c in enumerate(snapshot.chunks) if c.doc_id not in doc_ids]
        keep_sentences = [i for i, s in enumerate(snapshot.sentences) if s.doc_id not in doc_ids]
        return replace(
            snapshot,
            documents={k: v for k, v in snapshot.documents.items() if k not in doc_ids},
            chunks=[snapshot.chunks[i] for i in keep_chunks],
            chunk_vectors=snapshot.chunk_vectors[keep_chunks],
            sentences=[snapshot.sentences[i] for i in keep_sentences],
            sentence_vectors=snapshot.sentence_vectors[keep_sentences],
            version=snapshot.version + 1,
        )

    def _with(self, snapshot: IndexSnapshot, documents: list[Document], *, progress: bool) -> IndexSnapshot:
        if self._chunker is None:
            raise RuntimeError("QAService.load() was not called")
        next_id = max((c.chunk_id for c in snapshot.chunks), default=-1) + 1
        chunks: list[Chunk] = []
        sentences: list[Sentence] = []
        for document in documents:
            validate_doc_id(document.doc_id)
            new = self._chunker.split(document, next_id + len(chunks))
            chunks.extend(new)
            sentences.extend(Sentence(doc_id=document.doc_id, start=s, end=e) for s, e in sentence_spans(document.text))
        show = progress and len(chunks) + len(sentences) > 200
        chunk_vectors = self.embedder.embed([c.text for c in chunks], show_progress=show, bulk=True)
        texts = {d.doc_id: d.text for d in documents}
        sentence_texts = [texts[s.doc_id][s.start : s.end] for s in sentences]
        sentence_vectors = self.embedder.embed(sentence_texts, show_progress=show, bulk=True)
        documents_by_id = {**snapshot.documents, **{d.doc_id: d for d in documents}}
        return replace(
            snapshot,
            documents=documents_by_id,
            chunks=snapshot.chunks + chunks,
            chunk_vectors=np.vstack([snapshot.chunk_vectors, chunk_vectors]).astype(np.float32),
            sentences=snapshot.sentences + sentences,
            sentence_vectors=np.vstack([snapshot.sentence_vectors, sentence_vectors]).astype(np.float32),
            version=snapshot.version + 1,
        )
