"""`qa-service bench`: numbers, not a test. Ingest throughput, `/ask` over HTTP, and synthetic-corpus scaling.

1. Ingest: the seed corpus into a temporary index (chunks/s, build time).
2. HTTP: the real server as a subprocess (`python -m qa_service serve`) on that temporary index, driven with
   httpx at concurrency 1 and 8 using the seed questions (bounded by a request count and a time limit);
   latency p50/p95/p99, requests/s, and the server's resident memory afterwards.
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
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from qa_service.config import Settings
from qa_service.devserver import local_server, measured_env
from qa_service.evaluation import percentile

SEED_QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
FALLBACK_QUESTIONS = [
    "Who met Dorothy Shea?",
    "Which water agreement did India suspend?",
    "Who led the Indian parliamentary delegation visiting the US?",
    "When did the hostilities between India and Pakistan end?",
]


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


def seed_questions(path: Path = SEED_QUESTIONS) -> list[str]:
    if not path.is_file():
        return FALLBACK_QUESTIONS
    import json

    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


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


# ---- 1b. the embedding floor ------------------------------------------------------------------------------


def seed_ingest_texts(settings: Settings, embedder: Any) -> list[str]:  # noqa: ANN401 - an Embedder
    """What ingest embeds for the seed corpus: its chunks, then its sentences (read here, not from the index)."""
    from qa_service.analysis import sentence_spans
    from qa_service.chunking import Chunker
    from qa_service.ingest import iter_article_files, load_file

    documents = [load_file(path) for path in iter_article_files([Path(settings.seeds_dir)])]
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap, embedder.count_tokens, embedder.max_tokens)
    chunks = [chunk.text for document in documents for chunk in chunker.split(document, 0)]
    return chunks + [d.text[s:e] for d in documents for s, e in sentence_spans(d.text)]


def bench_embedding(settings: Settings, embedder: Any, questions: list[str]) -> None:  # noqa: ANN401
    """The floor under `/ask` and ingest: the bare model, same back-end and threads, no HTTP, no retrieval.

    `embedder` is the service's; its batching wrapper (if any) is bypassed, so these are the model's own costs.
    """
    model = getattr(embedder, "inner", embedder)
    backend = getattr(model, "backend", "?")
    for question in questions[:5]:  # warm-up
        model.embed([question])
    alone = []
    for question in questions:
        began = time.perf_counter()
        model.embed([question])
        alone.append((time.perf_counter() - began) * 1000)
    eights = []
    for start in range(0, len(questions) - 7, 8):
        began = time.perf_counter()
        model.embed(questions[start : start + 8])
        eights.append((time.perf_counter() - began) * 1000)
    _echo(
        f"query embedding floor     {backend}, {settings.torch_threads} thread(s), same questions, no HTTP: "
        f"p50 {_ms(alone, 50)} ms p95 {_ms(alone, 95)} ms; 8 questions in one call p50 {_ms(eights, 50)} ms"
    )
    texts = seed_ingest_texts(settings, model)
    rates = []
    for bulk in (False, True):
        began = time.perf_counter()
        model.embed(texts, bulk=bulk)
        rates.append(len(texts) / (time.perf_counter() - began))
    _echo(
        f"raw model throughput      {backend}, {len(texts)} seed chunks + sentences: {rates[0]:.1f} texts/s with "
        f"{settings.torch_threads} thread(s), {rates[1]:.1f} texts/s with {settings.resolved_ingest_threads} "
        "(ingest threads)"
    )


# ---- 2. HTTP --------------------------------------------------------------------------------------------


def drive(
    send: Callable[[str], int], questions: list[str], *, concurrency: int, requests: int, max_seconds: float
) -> dict[str, Any]:
    """Send up to `requests` questions (cycled) from `concurrency` threads, stopping at `max_seconds`."""
    lock = threading.Lock()
    counter = iter(range(requests))
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + max_seconds

    def worker() -> None:
        while True:
            with lock:
                index = next(counter, None)
            if index is None or time.perf_counter() > deadline:
                return
            began = time.perf_counter()
            try:
                status = send(questions[index % len(questions)])
            except Exception as exc:  # count every failure; a load test must not die on one
                status, detail = -1, f"{type(exc).__name__}: {exc}"
            else:
                detail = f"HTTP {status}"
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors.append(detail)

    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - started
    return {"ok": len(latencies), "errors": errors, "wall_s": wall, "latencies": latencies}


def bench_http(settings: Settings, index_dir: Path, questions: list[str], *, requests: int, max_seconds: float) -> None:
    import httpx

    headers = {}
    if settings.api_key:
        headers = {"X-API-Key": settings.api_key, "Authorization": f"Bearer {settings.api_key}"}
    log_path = index_dir.parent / "server.log"
    started = time.perf_counter()
    env = measured_env(index_dir, QA_SEEDS_DIR=str(Path(settings.seeds_dir).resolve()), QA_LOG_LEVEL="warning")
    with local_server(env, log_path=log_path) as server:
        base, process = server.url, server.process
        _echo(f"server start              {time.perf_counter() - started:.2f} s to healthy (pid {process.pid})")
        local = threading.local()

        def send(question: str) -> int:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=base, timeout=60, headers=headers)
            return local.client.post("/ask", json={"question": question, "top_k": 5}).status_code

        drive(send, questions, concurrency=1, requests=min(5, requests), max_seconds=30)  # warm-up
        for concurrency in (1, 8):
            result = drive(send, questions, concurrency=concurrency, requests=requests, max_seconds=max_seconds)
            lat = result["latencies"]
            line = (
                f"HTTP /ask concurrency {concurrency:<2}  {result['ok']} ok in {result['wall_s']:.1f} s = "
                f"{result['ok'] / result['wall_s']:.1f} req/s; latency ms p50 {_ms(lat, 50)} p95 {_ms(lat, 95)} "
                f"p99 {_ms(lat, 99)}; errors {len(result['errors'])}"
            )
            if result["ok"] + len(result["errors"]) < requests:
                line += f" (stopped at the {max_seconds:.0f} s limit)"
            _echo(line)
            if result["errors"]:
                _echo(f"  first error: {result['errors'][0]}")
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
            f"qa-service bench: {os.cpu_count()} CPUs, model {settings.embedding_model} on "
            f"{settings.embedding_backend}, threads {settings.torch_threads} per request / "
            f"{settings.resolved_ingest_threads} for ingest, batch window {settings.batch_window_ms} ms, "
            f"faiss threads 1, seeds {settings.seeds_dir}; {_load()}"
        )
        index_dir = root / "index"
        service = bench_ingest(settings, index_dir)
        questions = seed_questions()
        bench_embedding(settings, service.embedder, questions)
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
