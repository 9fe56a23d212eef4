"""The write path: decide what each document is (new, changed, unchanged, a duplicate, a conflict), derive its
chunks, sentences, terms and vectors, and write it to the store in batches.

Bulk ingest streams: files are read, embedded and committed `batch_size` at a time, so memory does not grow
with the number of files, a crash loses at most the batch in flight, and running the same command again
resumes (committed files are skipped by their content hash).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from tqdm import tqdm

from qa_service.budget import CpuBudget, checkpoint
from qa_service.embedding import Embedder
from qa_service.errors import DocumentTooCostlyError
from qa_service.ingest.clean import document_label
from qa_service.ingest.converters import ArticleError
from qa_service.schemas import Document, IngestReport
from qa_service.store import DocumentStore, PreparedDocument, UpgradableStore
from qa_service.text.chunking import Chunker
from qa_service.text.phrases import type_sentences
from qa_service.text.terms import sentence_spans, terms

LABEL_SOURCE_CHARS = 480  # the opening a label is derived from: enough for its 80 characters
EMBED_SLICE = 128  # texts embedded between two looks at the documents' CPU budgets
PROGRESS_TEXTS = 256  # about this many texts are prepared between two progress updates: a big file moves alone


@dataclass(frozen=True)
class Incoming:
    """A document on its way in, and the file it came from (None for the API)."""

    document: Document
    origin: str | None = None
    name: str | None = None  # how to name it in messages: the path as the user gave it
    budget: CpuBudget | None = None  # what cleaning it already cost; a fresh budget when None


@dataclass(frozen=True)
class AlreadyIndexed:
    """An article known to be in the index without reading it again (a feed entry whose page is): unchanged."""

    doc_id: str


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl-C during a bulk ingest, with the report of what was committed before it (the rest resumes)."""

    def __init__(self, report: IngestReport) -> None:
        super().__init__()
        self.report = report


Progress = Callable[[int], None]  # told how many more articles are done (written, skipped or refused)


class Indexer:
    """Cheap to construct; shares the service's store, embedder and chunker."""

    def __init__(
        self,
        store: DocumentStore,
        embedder: Embedder,
        chunker: Chunker,
        *,
        batch_size: int = 32,
        cpu_budget_s: float | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.batch_size = batch_size
        self.cpu_budget_s = cpu_budget_s  # per document (QA_DOCUMENT_CPU_S); None: unlimited

    def budget(self, name: str) -> CpuBudget:
        """A new per-document budget: start it before cleaning, so cleaning counts too."""
        return CpuBudget(self.cpu_budget_s, name)

    # ---- one batch ---------------------------------------------------------------------------------------

    def add(
        self,
        incoming: Sequence[Incoming],
        report: IngestReport,
        *,
        replace_existing: bool,
        bulk: bool = False,
        raise_refused: bool = False,
        progress: Progress | None = None,
    ) -> int:
        """Classify, prepare and write one batch in one transaction; returns the chunks written.

        `bulk` lets the embedder use every core (a bulk ingest); a single add while serving keeps to one, so
        questions answered at the same time keep theirs. A document over its CPU budget is reported in
        `report.errors`, or raised (DocumentTooCostlyError, nothing written) with `raise_refused`. `progress` is
        told as articles are skipped and prepared; added and replaced ones are counted once committed."""
        with self.store.read() as reader:
            states = reader.states([i.document.doc_id for i in incoming])
            stored_hashes = reader.ids_with_hashes([i.document.content_hash for i in incoming])
        to_write: list[Incoming] = []
        batch_ids: dict[str, Incoming] = {}
        batch_hashes: dict[str, str] = {}
        kinds: dict[str, str] = {}  # added or replaced, recorded once written
        for item in incoming:
            document = item.document
            doc_id, content_hash = document.doc_id, document.content_hash
            state = states.get(doc_id)
            earlier = batch_ids.get(doc_id)
            if earlier is not None:  # two files of this batch map to one id
                report.errors[item.name or doc_id] = _taken(doc_id, earlier.name or earlier.origin)
                continue
            if state is not None and state.content_hash == content_hash:
                report.record("unchanged", doc_id)
                continue
            if state is not None and not replace_existing:
                report.conflicts.append(doc_id)
                continue
            if state is not None and state.origin != item.origin:  # another file (or the API) owns this id
                report.errors[item.name or doc_id] = _taken(doc_id, state.origin or "a document added through the API")
                continue
            original = batch_hashes.get(content_hash) or stored_hashes.get(content_hash)
            if original is not None and original != doc_id:
                report.duplicates[doc_id] = original
                continue
            kinds[doc_id] = "replaced" if state is not None else "added"
            batch_ids[doc_id] = item
            batch_hashes[content_hash] = doc_id
            to_write.append(item)
        if progress is not None and len(incoming) > len(to_write):
            progress(len(incoming) - len(to_write))
        if not to_write:
            return 0
        prepared, refused = self._prepare_in_groups(to_write, bulk=bulk, progress=progress)
        for item, error in refused:
            if raise_refused:
                raise error
            report.errors[item.name or item.document.doc_id] = str(error)
        self.store.write(prepared)
        for p in prepared:
            report.record(kinds[p.document.doc_id], p.document.doc_id)
        return sum(len(p.chunks) for p in prepared)

    def _prepare_in_groups(
        self, incoming: Sequence[Incoming], *, bulk: bool, progress: Progress | None
    ) -> tuple[list[PreparedDocument], list[tuple[Incoming, DocumentTooCostlyError]]]:
        """`prepare` a few documents at a time (about PROGRESS_TEXTS texts), telling `progress` after each group:
        a first batch of large files no longer sits at 0 until all of it is embedded."""
        if progress is None:
            return self.prepare(incoming, bulk=bulk)
        prepared: list[PreparedDocument] = []
        refused: list[tuple[Incoming, DocumentTooCostlyError]] = []
        group: list[Incoming] = []
        texts = 0
        for n, item in enumerate(incoming):
            group.append(item)
            texts += len(item.document.text) // 120 + 1  # about one text (a sentence, or a chunk's share) each
            if texts >= PROGRESS_TEXTS or n == len(incoming) - 1:
                done, over = self.prepare(group, bulk=bulk)
                prepared.extend(done)
                refused.extend(over)
                progress(len(group))
                group, texts = [], 0
        return prepared, refused

    def prepare(
        self, incoming: Sequence[Incoming], *, bulk: bool = False
    ) -> tuple[list[PreparedDocument], list[tuple[Incoming, DocumentTooCostlyError]]]:
        """Chunks, sentences, keyword terms, label and sentence phrases of each document, and their vectors; and
        the documents refused because they would cost more CPU than their budget (QA_DOCUMENT_CPU_S). Their ids
        were checked where they were made (`clean.make_document`)."""
        parts = []
        refused: list[tuple[Incoming, DocumentTooCostlyError]] = []
        for item in incoming:
            document = item.document
            budget = item.budget or self.budget(item.name or document.doc_id)
            try:
                with budget.active():
                    chunks = [(c.start, c.end) for c in self.chunker.split(document, 0)]
                    sentences = sentence_spans(document.text)
                    title = document.title
                    chunk_terms = [_terms(_searchable(document.text[s:e], title)) for s, e in chunks]
                    sentence_terms = [_terms(document.text[s:e]) for s, e in sentences]
                    phrases = type_sentences([document.text[s:e] for s, e in sentences], [s for s, _ in sentences])
            except DocumentTooCostlyError as error:
                refused.append((item, error))
                continue
            parts.append((item, budget, chunks, chunk_terms, sentences, sentence_terms, phrases))
        texts = [part[0].document.text[s:e] for part in parts for spans in (part[2], part[4]) for s, e in spans]
        owners = [n for n, part in enumerate(parts) for _ in range(len(part[2]) + len(part[4]))]
        vectors, over = self._embed(texts, owners, [part[1] for part in parts], bulk=bulk)
        refused.extend((parts[n][0], error) for n, error in over.items())
        out = []
        row = 0
        for n, (item, _budget, chunks, chunk_terms, sentences, sentence_terms, phrases) in enumerate(parts):
            chunk_vectors = vectors[row : row + len(chunks)]
            row += len(chunks)
            sentence_vectors = vectors[row : row + len(sentences)]
            row += len(sentences)
            if n in over:
                continue
            document = item.document
            out.append(
                PreparedDocument(
                    document=document,
                    origin=item.origin,
                    label=document_label(document.text[:LABEL_SOURCE_CHARS], document.title),
                    chunks=chunks,
                    chunk_terms=chunk_terms,
                    chunk_vectors=chunk_vectors,
                    sentences=sentences,
                    sentence_terms=sentence_terms,
                    sentence_vectors=sentence_vectors,
                    sentence_phrases=phrases,
                )
            )
        return out, refused

    def _embed(
        self, texts: list[str], owners: list[int], budgets: list[CpuBudget], *, bulk: bool
    ) -> tuple[np.ndarray, dict[int, DocumentTooCostlyError]]:
        """Vectors of `texts` (`owners[i]` is the document of text i), embedded EMBED_SLICE at a time, longest first.

        Each slice's CPU time is charged to the documents in it by their share of its characters, and a document
        whose cost so far plus the rest at this rate is over its budget is refused at once: its remaining texts
        are not embedded (their rows stay zero; the caller drops the document).
        """
        vectors = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        clock = time.process_time if bulk else time.thread_time  # bulk: a pool of threads, in a process of its own
        left = [0] * len(budgets)
        for i, text in enumerate(texts):
            left[owners[i]] += len(text)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        over: dict[int, DocumentTooCostlyError] = {}
        for first in range(0, len(order), EMBED_SLICE):
            rows = [i for i in order[first : first + EMBED_SLICE] if owners[i] not in over]
            if not rows:
                continue
            began = clock()
            vectors[rows] = self.embedder.embed([texts[i] for i in rows], bulk=bulk)
            seconds_per_char = (clock() - began) / max(1, sum(len(texts[i]) for i in rows))
            for i in rows:
                budgets[owners[i]].charge(seconds_per_char * len(texts[i]))
                left[owners[i]] -= len(texts[i])
            for owner in {owners[i] for i in rows}:
                try:
                    budgets[owner].project("embedding", seconds_per_char * left[owner])
                except DocumentTooCostlyError as error:
                    over[owner] = error
        return vectors, over

    # ---- many ----------------------------------------------------------------------------------------------

    def add_all(
        self,
        documents: Iterable[Incoming],
        *,
        replace_existing: bool = True,
        bulk: bool = False,
        raise_refused: bool = False,
    ) -> IngestReport:
        report = IngestReport()
        for batch in _batches(documents, self.batch_size):
            self.add(batch, report, replace_existing=replace_existing, bulk=bulk, raise_refused=raise_refused)
        return report

    def ingest(
        self,
        items: Iterable[Incoming | ArticleError | AlreadyIndexed],
        *,
        total: int | None = None,
        progress: bool = True,
        keep_ids: bool = True,
    ) -> IngestReport:
        """Stream articles (files, rows of an export, pages) through `add` in batches with one progress bar that
        moves per article; an `ArticleError` is reported by name. Ctrl-C raises `IngestInterrupted` with what
        was committed: running the same command again skips it (by content hash) and goes on."""
        report = IngestReport(keep_ids=keep_ids)
        chunks = 0
        started = time.perf_counter()
        with tqdm(total=total, unit="article", desc="ingest", disable=not progress, dynamic_ncols=True) as bar:

            def advance(done: int) -> None:
                bar.update(done)
                bar.set_postfix(chunks=chunks, chunks_per_s=f"{chunks / (time.perf_counter() - started):.1f}")

            try:
                for batch in _batches(items, self.batch_size):
                    incoming = []
                    for item in batch:
                        if isinstance(item, ArticleError):
                            report.errors[item.name] = item.message
                            advance(1)
                        elif isinstance(item, AlreadyIndexed):
                            report.record("unchanged", item.doc_id)
                            advance(1)
                        else:
                            incoming.append(item)
                    if incoming:
                        chunks += self.add(incoming, report, replace_existing=True, bulk=True, progress=advance)
                        advance(0)  # the chunks of this batch, now committed
            except KeyboardInterrupt:
                raise IngestInterrupted(report) from None
        return report


def type_stored(store: UpgradableStore, *, batch: int = 512, progress: bool = True) -> int:
    """Type the sentences an earlier version stored without phrases (spaCy over the stored text, no embedding):
    a one-off migration at the first start, with a progress bar. Returns the sentences typed."""
    done = 0
    with tqdm(desc="typing stored sentences", unit="sentence", disable=not progress, dynamic_ncols=True) as bar:
        while rows := store.untyped_sentences(batch):
            with store.read() as reader:
                documents = reader.documents(sorted({doc_id for doc_id, _, _, _ in rows}))
            rows = [row for row in rows if row[0] in documents]
            phrases = type_sentences([documents[d].text[s:e] for d, _, s, e in rows], [s for _, _, s, _ in rows])
            if not rows or not store.set_phrases([(d, o, p) for (d, o, _, _), p in zip(rows, phrases, strict=True)]):
                break  # deleted meanwhile: nothing left that this loop can type
            done += len(rows)
            bar.update(len(rows))
    return done


def complete_stored(store: UpgradableStore, *, batch: int = 100) -> int:
    """Fill in what an earlier version stored without (each document's label, its sentences' terms), from the
    stored text: no model, a one-off at the first start. Returns the documents completed."""
    done = 0
    while ids := store.incomplete_documents(batch):
        with store.read() as reader:
            documents = reader.documents(ids)
            spans = [(doc_id, 0, len(d.text)) for doc_id, d in documents.items()]
            sentences = reader.sentences(spans, margin=0, vectors=False)
        items = [
            (
                doc_id,
                document_label(d.text[:LABEL_SOURCE_CHARS], d.title),
                [terms(d.text[s.start : s.end]) for s in sentences.get(doc_id, [])],
            )
            for doc_id, d in documents.items()
        ]
        if not store.complete_documents(items):
            break  # deleted meanwhile: nothing left that this loop can complete
        done += len(items)
    return done


def _terms(text: str) -> list[str]:
    checkpoint("finding keywords")
    return terms(text)


def _searchable(chunk_text: str, title: str | None) -> str:
    """Keyword search also sees the article title, which often names who and where."""
    return f"{title}\n{chunk_text}" if title and not chunk_text.startswith(title) else chunk_text


def _taken(doc_id: str, owner: str | None) -> str:
    return f"not added: its id {doc_id!r} is already taken by {owner}; rename one of the two files"


_Item = TypeVar("_Item")


def _batches(items: Iterable[_Item], size: int) -> Iterator[list[_Item]]:
    batch: list[_Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
