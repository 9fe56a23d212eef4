"""The write path: decide what each document is (new, changed, unchanged, a duplicate, a conflict), derive its
chunks, sentences, terms and vectors, and write it to the store in batches.

Bulk ingest streams: files are read, embedded and committed `batch_size` at a time, so memory does not grow
with the number of files, a crash loses at most the batch in flight, and running the same command again
resumes (committed files are skipped by their content hash).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from qa_service.budget import CpuBudget, check_size, checkpoint
from qa_service.embedding import Embedder
from qa_service.embedding.pooling import Span, place_spans, span_vectors
from qa_service.errors import DocumentExistsError, DocumentTooCostlyError
from qa_service.ingest.clean import document_label
from qa_service.ingest.converters import ArticleError
from qa_service.ingest.pipeline import BulkClock, embed_within_budgets, in_batches, read_ahead
from qa_service.schemas import Document, IngestReport
from qa_service.store import DocumentStore, PreparedDocument
from qa_service.store.base import Phrases
from qa_service.text.chunking import Chunker
from qa_service.text.phrases import read_sentences
from qa_service.text.terms import terms

PROGRESS_TEXTS = 256  # about this many texts are prepared between two progress updates: a big file moves alone


class DuplicatePolicy(Enum):
    """What a write does with a document whose id is stored already (Haystack's DuplicatePolicy, the members
    this service needs). Whatever the policy, an unchanged document is not written again, and the same text under
    another id is not written but reported (`report.duplicates`)."""

    OVERWRITE = "overwrite"  # replace it: `ingest` of files, pages and feeds follows their edits
    SKIP = "skip"  # keep the stored one and report its id in `conflicts` (`POST /documents/batch`)
    # All or nothing for a document sent on its own (`POST /documents`): a stored id or text raises
    # DocumentExistsError, a document over its CPU budget DocumentTooCostlyError, and nothing is written. It is
    # embedded on the request's own thread, so questions answered meanwhile keep the other cores.
    FAIL = "fail"


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


class Analysed(NamedTuple):
    """A document's text analysis, before its vectors."""

    item: Incoming
    budget: CpuBudget
    chunks: list[Span]
    chunk_terms: list[list[str]]
    sentences: list[Span]
    sentence_terms: list[list[str]]
    phrases: list[Phrases]


Analyses = dict[int, "Analysed | DocumentTooCostlyError"]  # by id() of the Incoming


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
        max_chars: int | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.batch_size = batch_size
        self.cpu_budget_s = cpu_budget_s  # per document (QA_DOCUMENT_CPU_S); None: unlimited
        self.max_chars = max_chars  # per document after cleaning (QA_MAX_DOCUMENT_CHARS); None: unlimited
        self._clock = BulkClock()  # per calling thread: less the CPU time of its analysis thread, while bulk

    def budget(self, name: str) -> CpuBudget:
        """A new per-document budget: start it before cleaning, so cleaning counts too."""
        return CpuBudget(self.cpu_budget_s, name, max_chars=self.max_chars)

    # ---- one batch ---------------------------------------------------------------------------------------

    def _add(
        self,
        incoming: Sequence[Incoming],
        report: IngestReport,
        policy: DuplicatePolicy,
        progress: Progress,
        analysed: Analyses,
    ) -> int:
        """Classify, prepare and write one batch in one transaction; returns the chunks written.

        A document over its CPU budget is reported in `report.errors` (raised with FAIL). `progress` is told as
        articles are skipped and prepared; added and replaced ones are counted once committed."""
        bulk = policy is not DuplicatePolicy.FAIL
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
            if state is not None and policy is DuplicatePolicy.FAIL:
                raise DocumentExistsError(f"a document with id {doc_id!r} already exists")
            if state is not None and state.content_hash == content_hash:
                report.record("unchanged", doc_id)
                continue
            if state is not None and policy is DuplicatePolicy.SKIP:
                report.conflicts.append(doc_id)
                continue
            if state is not None and state.origin != item.origin:  # another file (or the API) owns this id
                report.errors[item.name or doc_id] = _taken(doc_id, state.origin or "a document added through the API")
                continue
            original = batch_hashes.get(content_hash) or stored_hashes.get(content_hash)
            if original is not None and original != doc_id:
                if policy is DuplicatePolicy.FAIL:
                    raise DocumentExistsError(f"document {doc_id!r} has the same text as {original!r}")
                report.duplicates[doc_id] = original
                continue
            kinds[doc_id] = "replaced" if state is not None else "added"
            batch_ids[doc_id] = item
            batch_hashes[content_hash] = doc_id
            to_write.append(item)
        if len(incoming) > len(to_write):
            progress(len(incoming) - len(to_write))
        if not to_write:
            return 0
        prepared, refused = self._prepare_in_groups(to_write, bulk=bulk, progress=progress, analysed=analysed)
        for item, error in refused:
            if policy is DuplicatePolicy.FAIL:
                raise error
            report.errors[item.name or item.document.doc_id] = str(error)
        self.store.write(prepared)
        for p in prepared:
            report.record(kinds[p.document.doc_id], p.document.doc_id)
        return sum(len(p.chunks) for p in prepared)

    def _prepare_in_groups(
        self, incoming: Sequence[Incoming], *, bulk: bool, progress: Progress, analysed: Analyses
    ) -> tuple[list[PreparedDocument], list[tuple[Incoming, DocumentTooCostlyError]]]:
        """`prepare` a few documents at a time (about PROGRESS_TEXTS texts), telling `progress` after each group:
        a first batch of large files no longer sits at 0 until all of it is embedded."""
        prepared: list[PreparedDocument] = []
        refused: list[tuple[Incoming, DocumentTooCostlyError]] = []
        group: list[Incoming] = []
        texts = 0
        for n, item in enumerate(incoming):
            group.append(item)
            texts += len(item.document.text) // 120 + 1  # about one text (a sentence, or a chunk's share) each
            if texts >= PROGRESS_TEXTS or n == len(incoming) - 1:
                done, over = self.prepare(group, bulk=bulk, analysed=analysed)
                prepared.extend(done)
                refused.extend(over)
                progress(len(group))
                group, texts = [], 0
        return prepared, refused

    def analyse(self, item: Incoming) -> Analysed | DocumentTooCostlyError:
        """Everything but the vectors (chunks, sentences, their terms and phrases), charged to the document's
        budget; no store and no model, so the bulk path runs it a batch ahead in a thread of its own."""
        document = item.document
        budget = item.budget or self.budget(item.name or document.doc_id)
        try:
            with budget.active():
                check_size(len(document.text))  # made without a budget (a `Document` written as is): checked here
                chunks = [(c.start, c.end) for c in self.chunker.split(document, 0)]
                sentences, phrases = read_sentences(document.text)
                title = document.title
                chunk_terms = [_terms(_searchable(document.text[s:e], title)) for s, e in chunks]
                sentence_terms = [_terms(document.text[s:e]) for s, e in sentences]
        except DocumentTooCostlyError as error:
            return error
        return Analysed(item, budget, chunks, chunk_terms, sentences, sentence_terms, phrases)

    def prepare(
        self, incoming: Sequence[Incoming], *, bulk: bool = False, analysed: Analyses | None = None
    ) -> tuple[list[PreparedDocument], list[tuple[Incoming, DocumentTooCostlyError]]]:
        """Chunks, sentences, keyword terms, label and sentence phrases of each document, and their vectors; and
        the documents refused because they would cost more CPU than their budget (QA_DOCUMENT_CPU_S).
        Their ids were checked where they were made (`clean.make_document`). `analysed`: what `analyse` already
        gave for some of them (by `id(item)`)."""
        parts = []
        refused: list[tuple[Incoming, DocumentTooCostlyError]] = []
        for item in incoming:
            part = (analysed or {}).get(id(item)) or self.analyse(item)
            if isinstance(part, DocumentTooCostlyError):
                refused.append((item, part))
                continue
            parts.append(part)
        # One model pass per chunk; each sentence's vector is pooled from the chunk that holds it.
        texts = [part.item.document.text[s:e] for part in parts for s, e in part.chunks]
        owners = [n for n, part in enumerate(parts) for _ in part.chunks]
        spans: list[list[Span]] = [[] for _ in texts]
        targets: list[list[int]] = [[] for _ in texts]  # the sentence (of its document) each span belongs to
        first = 0
        for part in parts:
            for chunk, sentence, span in place_spans(part.chunks, part.sentences):
                spans[first + chunk].append(span)
                targets[first + chunk].append(sentence)
            first += len(part.chunks)
        clock = self._clock if bulk else time.thread_time  # bulk: a pool of threads, in a process of its own
        budgets = [part.budget for part in parts]
        pooled, over = embed_within_budgets(self.embedder, texts, spans, owners, budgets, clock=clock, bulk=bulk)
        refused.extend((parts[n][0], error) for n, error in over.items())
        out = []
        row = 0
        sentence_vectors: list[np.ndarray] = []
        for n, part in enumerate(parts):
            dimension = self.embedder.dimension
            sums = np.zeros((len(part.sentences), dimension), dtype=np.float32)
            counts = np.zeros(len(part.sentences), dtype=np.int64)
            for k in range(row, row + len(part.chunks)):
                np.add.at(sums, targets[k], pooled.span_sums[k])
                np.add.at(counts, targets[k], pooled.span_counts[k])
            row += len(part.chunks)
            sentence_vectors.append(span_vectors(sums, counts))
            empty = [i for i in range(len(counts)) if counts[i] == 0 and n not in over]
            if empty:  # no word piece of the model inside (a line of symbols): embedded on its own
                text = part.item.document.text
                alone = [text[s:e] for s, e in (part.sentences[i] for i in empty)]
                sentence_vectors[n][empty] = self.embedder.embed_spans(alone, [[] for _ in alone], bulk=bulk).vectors
        row = 0
        for n, (item, _budget, chunks, chunk_terms, sentences, sentence_terms, phrases) in enumerate(parts):
            chunk_vectors = pooled.vectors[row : row + len(chunks)]
            row += len(chunks)
            if n in over:
                continue
            document = item.document
            out.append(
                PreparedDocument(
                    document=document,
                    origin=item.origin,
                    label=document_label(document.text, document.title, sentences),
                    chunks=chunks,
                    chunk_terms=chunk_terms,
                    chunk_vectors=chunk_vectors,
                    sentences=sentences,
                    sentence_terms=sentence_terms,
                    sentence_vectors=sentence_vectors[n],
                    sentence_phrases=phrases,
                )
            )
        return out, refused

    # ---- many ----------------------------------------------------------------------------------------------

    def write(
        self,
        items: Iterable[Incoming | ArticleError | AlreadyIndexed],
        policy: DuplicatePolicy = DuplicatePolicy.OVERWRITE,
        *,
        expected: Callable[[], int | None] | None = None,
        keep_ids: bool = True,
    ) -> IngestReport:
        """The one way into the store: stream articles (files, rows of an export, pages, request bodies) through
        `_add` in batches, each committed whole; an `ArticleError` is reported by name. `expected`: show a
        progress bar that moves per article, whose total it says (asked again as the stream goes; None while
        unknown). `keep_ids=False` counts what was done without listing every id (a bulk run's memory stays flat).
        Ctrl-C raises `IngestInterrupted` with what was committed: the same run again skips it (by content hash)."""
        report = IngestReport(keep_ids=keep_ids)
        chunks = 0
        started = time.perf_counter()
        show = expected is not None
        total = expected() if expected is not None else None
        with tqdm(total=total, unit="article", desc="ingest", disable=not show, dynamic_ncols=True) as bar:

            def advance(done: int) -> None:
                if expected is not None:
                    bar.total = expected()
                bar.update(done)
                bar.set_postfix(chunks=chunks, chunks_per_s=f"{chunks / (time.perf_counter() - started):.1f}")

            try:
                for batch, analysed in read_ahead(in_batches(items, self.batch_size), self._analyse_batch, self._clock):
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
                        chunks += self._add(incoming, report, policy, advance, analysed)
                        advance(0)  # the chunks of this batch, now committed
            except KeyboardInterrupt:
                raise IngestInterrupted(report) from None
        return report

    def _analyse_batch(
        self, batch: list[Incoming | ArticleError | AlreadyIndexed], stop: threading.Event
    ) -> Analyses | None:
        """The text analysis of a batch (`pipeline.read_ahead` runs it a batch ahead): documents already stored
        with the same text are not analysed (a resumed ingest skips them cheaply); whatever is missing is analysed
        by `prepare`. None once `stop` is set."""
        fresh = [item for item in batch if isinstance(item, Incoming)]
        with self.store.read() as reader:
            states = reader.states([item.document.doc_id for item in fresh])
        analysed: Analyses = {}
        for item in fresh:
            if stop.is_set():
                return None
            state = states.get(item.document.doc_id)
            if state is None or state.content_hash != item.document.content_hash:
                analysed[id(item)] = self.analyse(item)
        return analysed


def _terms(text: str) -> list[str]:
    checkpoint("finding keywords")
    return terms(text)


def _searchable(chunk_text: str, title: str | None) -> str:
    """Keyword search also sees the article title, which often names who and where."""
    return f"{title}\n{chunk_text}" if title and not chunk_text.startswith(title) else chunk_text


def _taken(doc_id: str, owner: str | None) -> str:
    return f"not added: its id {doc_id!r} is already taken by {owner}; rename one of the two files"
