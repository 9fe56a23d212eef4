"""`qa-service bench`: numbers, not a test. Ingest throughput, `/ask` over HTTP, and synthetic-corpus scaling.

1. Ingest: the seed corpus into a temporary index (chunks/s, build time).
2. HTTP: the real server as a subprocess (`python -m qa_service serve`) on that temporary index, driven by
   qa_service/loadgen.py (the load test's driver) at concurrency 1 and 8 using the seed questions (bounded by a
   request count and a time limit); latency p50/p95/p99, requests/s, and the server's resident memory afterwards.
3. Synthetic corpora of 10,000 and 100,000 chunks: embedding 100k real chunks takes about 20 minutes on two
   cores, so each synthetic chunk is 3-6 random seed sentences with the normalised mean of their (real) sentence
   vectors. An `IndexSnapshot` is built from them directly; we time building the retriever and the answerer and
   then embed + retrieve + answer per question (the steps of `QAService.ask`), plus retrieval alone.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from qa_service import loadgen
from qa_service.config import Settings
from qa_service.devserver import local_server, measured_env
from qa_service.loadgen import percentile, seed_questions


def _echo(line: str = "") -> None:
    print(line, flush=True)


def _ms(values: list[float], q: float) -> str:
    value = percentile(values, q)
    return "n/a" if value is None else f"{value:.1f}"


def _rss_mib(pid: int | None = None) -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total / 2**20


# ---- 1. ingest --------------------------------------------------------------------------------------------


def bench_ingest(settings: Settings, index_dir: Path) -> Any:  # noqa: ANN401 - a loaded QAService
    from qa_service.service import QAService

    started = time.perf_counter()
    service = QAService(settings.model_copy(update={"index_dir": index_dir}))
    service.load()
    service.embedder.embed(["warm-up"])  # first call pays one-off costs that ingest would otherwise carry
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    report = service.ingest_paths([settings.seeds_dir], rebuild=True, progress=False)
    build_s = time.perf_counter() - started
    stats = service.engine.snapshot
    chunks, sentences = len(stats.chunks), len(stats.sentences)
    _echo(f"model load                {load_s:.2f} s")
    _echo(
        f"ingest (seed corpus)      {len(report.added)} documents -> {chunks} chunks + {sentences} sentences "
        f"embedded, temporary index built in {build_s:.2f} s"
    )
    _echo(
        f"ingest throughput         {chunks / build_s:.1f} chunks/s "
        f"({(chunks + sentences) / build_s:.1f} embedded texts/s: chunks and sentences)"
    )
    return service


# ---- 2. HTTP --------------------------------------------------------------------------------------------


def bench_http(settings: Settings, index_dir: Path, questions: list[str], *, requests: int, max_seconds: float) -> None:
    """The real server on the benchmark's index, driven by qa_service/loadgen.py at 1 and 8 keep-alive clients."""
    headers = {}
    if settings.api_key:
        headers = {"X-API-Key": settings.api_key, "Authorization": f"Bearer {settings.api_key}"}
    log_path = index_dir.parent / "server.log"
    started = time.perf_counter()
    env = measured_env(index_dir, QA_SEEDS_DIR=str(Path(settings.seeds_dir).resolve()), QA_LOG_LEVEL="warning")
    with local_server(env, log_path=log_path) as server:
        base, process = server.url, server.process
        _echo(f"server start              {time.perf_counter() - started:.2f} s to healthy (pid {process.pid})")
        warm_up = min(5, requests)
        loadgen.drive(base, clients=1, duration_s=30, max_requests=warm_up, questions=questions, headers=headers)
        for concurrency in (1, 8):
            result = loadgen.drive(
                base,
                clients=concurrency,
                duration_s=max_seconds,
                max_requests=requests,
                questions=questions,
                headers=headers,
                warm_up=0,
            )
            lat = result.latencies_ms
            line = (
                f"HTTP /ask concurrency {concurrency:<2}  {result.ok} ok in {result.elapsed_s:.1f} s = "
                f"{result.ok / result.elapsed_s:.1f} req/s; latency ms p50 {_ms(lat, 50)} p95 {_ms(lat, 95)} "
                f"p99 {_ms(lat, 99)}; errors {sum(result.errors.values())}"
            )
            if result.requests < requests:
                line += f" (stopped at the {max_seconds:.0f} s limit)"
            _echo(line)
            if result.first_error:
                _echo(f"  first error: {result.first_error}")
        rss = _rss_mib(process.pid)
        _echo("server RSS after load     " + ("n/a (psutil is not installed)" if rss is None else f"{rss:.0f} MiB"))


# ---- 3. synthetic corpora -------------------------------------------------------------------------------


def synthetic_snapshot(seed_snapshot: Any, size: int, *, seed: int = 0) -> Any:  # noqa: ANN401
    """`size` chunks, each its own document of 3-6 random seed sentences; vectors from the real sentence vectors."""
    from qa_service.schemas import Chunk, Document, Sentence
    from qa_service.store import IndexSnapshot

    texts = [seed_snapshot.documents[s.doc_id].text[s.start : s.end] for s in seed_snapshot.sentences]
    vectors = seed_snapshot.sentence_vectors
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 7, size=size)
    picks = rng.integers(0, len(texts), size=int(counts.sum()))
    sentence_vectors = np.ascontiguousarray(vectors[picks], dtype=np.float32)
    firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    chunk_vectors = np.add.reduceat(sentence_vectors, firsts, axis=0)
    chunk_vectors /= np.linalg.norm(chunk_vectors, axis=1, keepdims=True)
    documents: dict[str, Document] = {}
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    cursor = 0
    for i, count in enumerate(counts.tolist()):
        doc_id = f"synthetic-{i:06d}"
        parts, offset = [], 0
        for pick in picks[cursor : cursor + count].tolist():
            sentences.append(Sentence.model_construct(doc_id=doc_id, start=offset, end=offset + len(texts[pick])))
            parts.append(texts[pick])
            offset += len(texts[pick]) + 1
        cursor += count
        text = " ".join(parts)
        documents[doc_id] = Document.model_construct(
            doc_id=doc_id, text=text, title=None, date=None, source="synthetic", content_hash=""
        )
        chunks.append(Chunk.model_construct(chunk_id=i, doc_id=doc_id, start=0, end=len(text), text=text))
    return IndexSnapshot(
        config=seed_snapshot.config,
        documents=documents,
        chunks=chunks,
        chunk_vectors=np.ascontiguousarray(chunk_vectors, dtype=np.float32),
        sentences=sentences,
        sentence_vectors=sentence_vectors,
        version=1,
    )


def bench_synthetic(service: Any, sizes: list[int], questions: list[str], *, queries: int) -> None:  # noqa: ANN401
    from qa_service.answering import ExtractiveAnswerer
    from qa_service.retrieval import HybridRetriever

    settings = service.settings
    seed_snapshot = service.engine.snapshot
    asked = [questions[i % len(questions)] for i in range(queries)]
    _echo(
        f"SYNTHETIC corpora (not real articles): each chunk = 3-6 random seed sentences of the "
        f"{len(seed_snapshot.sentences)}, vector = normalised mean of their real vectors; {queries} seed questions, "
        f"top_k 5"
    )
    for size in sizes:
        started = time.perf_counter()
        snapshot = synthetic_snapshot(seed_snapshot, size)
        make_s = time.perf_counter() - started
        started = time.perf_counter()
        retriever = HybridRetriever(snapshot)
        retriever_s = time.perf_counter() - started
        started = time.perf_counter()
        answerer = ExtractiveAnswerer(
            snapshot, min_score=settings.min_score, max_answer_chars=settings.max_answer_chars
        )
        answerer_s = time.perf_counter() - started
        totals, retrieval, answering = [], [], []
        for question in asked:
            began = time.perf_counter()
            vector = service.embedder.embed([question])[0]
            embedded = time.perf_counter()
            hits = retriever.search(vector, question, 5)
            retrieved = time.perf_counter()
            answerer.answer(question, vector, hits)
            done = time.perf_counter()
            totals.append((done - began) * 1000)
            retrieval.append((retrieved - embedded) * 1000)
            answering.append((done - retrieved) * 1000)
        rss = _rss_mib()
        _echo(
            f"SYNTHETIC {size:>7,} chunks ({len(snapshot.sentences):,} sentences): generated in {make_s:.1f} s; "
            f"build retriever {retriever_s:.1f} s + answerer {answerer_s:.1f} s"
            + ("" if rss is None else f"; process RSS {rss:.0f} MiB")
        )
        _echo(
            f"SYNTHETIC {size:>7,} chunks per query ms: embed+retrieve+answer p50 {_ms(totals, 50)} "
            f"p95 {_ms(totals, 95)}; retrieve only p50 {_ms(retrieval, 50)} p95 {_ms(retrieval, 95)}; "
            f"answer only p50 {_ms(answering, 50)} p95 {_ms(answering, 95)}"
        )
        del snapshot, retriever, answerer
        gc.collect()


# ---- entry point ----------------------------------------------------------------------------------------


def run_bench(
    settings: Settings,
    *,
    sizes: list[int],
    requests: int = 200,
    max_seconds: float = 60.0,
    skip_http: bool = False,
    queries: int = 100,
) -> None:
    import faiss

    root = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    try:
        _echo(
            f"qa-service bench: {os.cpu_count()} CPUs, torch threads {settings.torch_threads}, faiss threads 1, "
            f"model {settings.embedding_model}, seeds {settings.seeds_dir}; {_load()}"
        )
        index_dir = root / "index"
        service = bench_ingest(settings, index_dir)
        questions = seed_questions()
        if not skip_http:
            bench_http(settings, index_dir, questions, requests=requests, max_seconds=max_seconds)
        if sizes:
            faiss.omp_set_num_threads(1)  # as the service does
            bench_synthetic(service, sizes, questions, queries=queries)
        _echo(f"done; {_load()} (other processes on these CPUs skew every number above)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min)"
