"""The store at scale, for `qa-service bench`: synthetic corpora of real rows in the real store, then the service.

Embedding a million real chunks would take days on two cores, so each synthetic document is one chunk of 3-6
random seed sentences (real text, so keyword search and answering do real work) with SYNTHETIC vectors: the
normalised mean of those sentences' real vectors plus a little noise (so no two are identical). Every figure
printed says so. For each size:

1. the store is written in large batches and opened once (the dense index is built and cached);
2. a real server starts on it: time to healthy, and its memory after questions;
3. `/ask` over HTTP, one client: p50/p99, split into embed / retrieve / answer from the server's own timings;
4. this process (a second writer) adds one real article and deletes it: the time and the bytes this process
   wrote (its embedding excluded), and the time until the server answers from the change;
5. `/ask` while another client adds and deletes articles through the API: p50/p99 against the idle ones;
6. with an approximate FAISS type, its recall@50 against exact search over the same vectors.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa_service.config import Settings
from qa_service.schemas import Document
from qa_service.store import PreparedDocument
from qa_service.text.terms import terms

WRITE_BATCH = 2_000


def _echo(line: str = "") -> None:
    print(line, flush=True)


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def written_bytes() -> int:
    """Bytes this process has passed to write() so far (Linux /proc/self/io `wchar`; 0 elsewhere)."""
    with contextlib.suppress(OSError), open("/proc/self/io") as fh:
        for line in fh:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def rss_mib(pid: int) -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    process = psutil.Process(pid)
    total: int = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total / 2**20


# ---- the synthetic corpus ---------------------------------------------------------------------------------


class SyntheticCorpus:
    """Documents of 3-6 seed sentences each, with synthetic vectors derived from the sentences' real ones."""

    def __init__(self, sentences: list[str], vectors: np.ndarray, *, seed: int = 0, noise: float = 0.02) -> None:
        self.sentences = sentences
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.terms = [terms(s) for s in sentences]
        self.rng = np.random.default_rng(seed)
        self.noise = noise

    def batches(self, size: int, batch: int = WRITE_BATCH) -> Iterator[list[PreparedDocument]]:
        dimension = self.vectors.shape[1]
        for first in range(0, size, batch):
            count = min(batch, size - first)
            lengths = self.rng.integers(3, 7, size=count)
            picks = self.rng.integers(0, len(self.sentences), size=int(lengths.sum()))
            noise = self.rng.standard_normal((len(picks), dimension)).astype(np.float32) * self.noise
            sentence_vectors = self.vectors[picks] + noise
            sentence_vectors /= np.linalg.norm(sentence_vectors, axis=1, keepdims=True)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            chunk_vectors = np.add.reduceat(sentence_vectors, starts, axis=0)
            chunk_vectors /= np.linalg.norm(chunk_vectors, axis=1, keepdims=True)
            out = []
            for i, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist(), strict=True)):
                chosen = picks[start : start + length].tolist()
                spans, offset = [], 0
                for pick in chosen:
                    spans.append((offset, offset + len(self.sentences[pick])))
                    offset += len(self.sentences[pick]) + 1
                text = " ".join(self.sentences[p] for p in chosen)
                doc_id = f"synthetic-{first + i:07d}"
                out.append(
                    PreparedDocument(
                        document=Document(doc_id=doc_id, text=text, source="synthetic", content_hash=doc_id),
                        origin=None,
                        label=doc_id,
                        chunks=[(0, len(text))],
                        chunk_terms=[[t for p in chosen for t in self.terms[p]]],
                        chunk_vectors=chunk_vectors[i : i + 1],
                        sentences=spans,
                        sentence_terms=[self.terms[p] for p in chosen],
                        sentence_vectors=sentence_vectors[start : start + length],
                        sentence_phrases=[()] * len(spans),
                    )
                )
            yield out


def seed_material(service: Any) -> tuple[list[str], np.ndarray]:  # a loaded QAService
    """The seed corpus's sentences and their real vectors."""
    from qa_service.text.phrases import sentence_spans

    sentences: list[str] = []
    for summary in service.list_documents():
        text = service.get_document(summary.doc_id).text
        sentences.extend(text[s:e] for s, e in sentence_spans(text))
    return sentences, service.embedder.embed(sentences, bulk=True)


def build_synthetic_store(settings: Settings, config: Any, corpus: SyntheticCorpus, size: int) -> float:
    """Write `size` synthetic documents into a new store at settings.index_dir; returns seconds."""
    from qa_service.store import build_store

    started = time.perf_counter()
    store = build_store(settings, config).open()
    try:
        for batch in corpus.batches(size):
            store.write(batch)
        if settings.store == "milvus":
            store.flush()  # seal the segments so Milvus indexes them, as `ingest` does after a bulk load
    finally:
        store.close()
    return time.perf_counter() - started


# ---- one corpus size --------------------------------------------------------------------------------------


def bench_size(
    service: Any,  # a loaded QAService whose settings point at the synthetic store
    server_url: str,
    server_pid: int,
    questions: list[str],
    *,
    queries: int,
    articles: list[Document],
) -> dict[str, Any]:
    import httpx

    client = httpx.Client(base_url=server_url, timeout=120)
    results: dict[str, Any] = {}

    # idle questions over HTTP, split by the server's own timings
    asked = [questions[i % len(questions)] for i in range(queries)]
    for question in asked[:5]:  # warm-up
        client.post("/ask", json={"question": question})
    totals: list[float] = []
    parts: dict[str, list[float]] = {"embed": [], "retrieve": [], "answer": []}
    for question in asked:
        began = time.perf_counter()
        body = client.post("/ask", json={"question": question}).json()
        totals.append((time.perf_counter() - began) * 1000)
        for key in parts:
            parts[key].append(body["timings_ms"][key])
    results["idle"] = {"p50": _pct(totals, 50), "p99": _pct(totals, 99), **{k: _pct(v, 50) for k, v in parts.items()}}
    results["rss_mib"] = rss_mib(server_pid)

    # one article added and deleted by this process; the server must answer from the change
    adds, deletes, add_bytes, delete_bytes, seen_add, seen_delete = [], [], [], [], [], []
    for article in articles:
        prepared, _ = service.indexer.prepare([_incoming(article)])  # embedding: not part of the write's cost
        marker = _marker(article)
        before, began = written_bytes(), time.perf_counter()
        service.store.write(prepared)
        adds.append(time.perf_counter() - began)
        add_bytes.append(written_bytes() - before)
        seen_add.append(_seen(client, marker, article.doc_id, True, began + adds[-1]))
        before, began = written_bytes(), time.perf_counter()
        service.store.delete([article.doc_id])
        deletes.append(time.perf_counter() - began)
        delete_bytes.append(written_bytes() - before)
        seen_delete.append(_seen(client, marker, article.doc_id, False, began + deletes[-1]))
    results["write"] = {
        "add_s": _pct(adds, 50),
        "delete_s": _pct(deletes, 50),
        "add_bytes": _pct(add_bytes, 50),
        "delete_bytes": _pct(delete_bytes, 50),
        "seen_add_s": _pct(seen_add, 50),
        "seen_delete_s": _pct(seen_delete, 50),
        "seen_max_s": max(seen_add + seen_delete),
    }

    # questions while another client adds and deletes articles through the API
    stop = threading.Event()
    write_count = [0]

    def writer() -> None:
        with httpx.Client(base_url=server_url, timeout=120) as other:
            while not stop.is_set():
                for article in articles:
                    other.post("/documents", json={"text": article.text, "doc_id": article.doc_id})
                    other.delete(f"/documents/{article.doc_id}")
                    write_count[0] += 2
                    if stop.is_set():
                        return

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    busy = []
    for question in asked:
        began = time.perf_counter()
        client.post("/ask", json={"question": question})
        busy.append((time.perf_counter() - began) * 1000)
    stop.set()
    thread.join(timeout=120)
    results["busy"] = {"p50": _pct(busy, 50), "p99": _pct(busy, 99), "writes": write_count[0]}
    client.close()
    return results


def dense_recall(service: Any, questions: list[str], k: int = 50) -> float | None:
    """recall@k of the service's FAISS index against exact inner-product search over the stored vectors."""
    store = service.store
    dense = store.dense.index  # the embedded store's index
    if dense is None or not dense.factory.startswith("IVF"):
        return None
    vectors = service.embedder.embed(questions)
    ids_chunks, matrix = [], []
    with store.read() as reader:
        cursor = reader._db.execute("SELECT chunk_id, vector FROM chunks ORDER BY chunk_id")
        while rows := cursor.fetchmany(50_000):
            ids_chunks.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
            matrix.append(np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1))
    ids = np.concatenate(ids_chunks)
    recalls = []
    for vector in vectors:
        scores = np.concatenate([m @ vector for m in matrix])
        kth = np.partition(scores, -k)[-k]
        exact = set(ids[scores >= kth - 1e-6].tolist())  # ties at the k-th score all count as right
        found = [chunk_id for chunk_id, _ in dense.search(vector, k)]
        recalls.append(sum(1 for c in found if c in exact) / k)
    return float(np.mean(recalls))


def _incoming(document: Document) -> Any:
    from qa_service.ingest.indexer import Incoming

    return Incoming(document)


def _marker(document: Document) -> str:
    return document.doc_id.replace("-", " ")


def _seen(client: Any, query: str, doc_id: str, present: bool, since: float, timeout_s: float = 60.0) -> float:
    """Seconds from `since` until the server's search has (or no longer has) `doc_id`, polled every 10 ms."""
    while True:
        passages = client.get("/search", params={"q": query, "top_k": 5}).json()["passages"]
        if any(p["doc_id"] == doc_id for p in passages) == present:
            return time.perf_counter() - since
        if time.perf_counter() - since > timeout_s:
            return float("inf")
        time.sleep(0.01)


def bench_articles(count: int) -> list[Document]:
    """Short real-looking articles, each with a word found nowhere else (to see when a worker has it)."""
    from qa_service.ingest.clean import make_document

    out = []
    for n in range(count):
        word = f"zebrafjord{n}"
        text = (
            f"The harbour board of {word} approved a new ferry terminal on Tuesday.\n\n"
            f"The terminal will cost {n + 12} million euros and open in {2030 + n}, the board's chair said. "
            "Fishermen asked for a second quay; the board will decide in the spring."
        )
        out.append(make_document(text, f"bench-{word}"))
    return out


def human_bytes(value: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def disk_usage(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def cpu_count() -> int:
    return os.cpu_count() or 1
