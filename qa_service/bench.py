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
    report = service.ingest_paths([settings.seeds_dir], progress=False)
    build_s = time.perf_counter() - started
    stats = service.stats()
    documents, chunks, sentences = stats["documents"], stats["chunks"], stats["sentences"]
    texts = _indexed_texts(service)
    started = time.perf_counter()
    service.embedder.embed(texts, bulk=True)
    raw_s = time.perf_counter() - started
    _echo(f"model load                {load_s:.2f} s")
    _echo(
        f"ingest (seed corpus)      {len(report.added)} documents -> {chunks} chunks + {sentences} sentences "
        f"embedded and stored in {build_s:.2f} s"
    )
    _echo(
        f"ingest throughput         {documents / build_s:.2f} articles/s, {chunks / build_s:.1f} chunks/s, "
        f"{(chunks + sentences) / build_s:.1f} texts/s (chunks and sentences); the embedding model alone on the "
        f"same {len(texts)} texts: {len(texts) / raw_s:.1f} texts/s"
    )
    return service


def _indexed_texts(service: Any) -> list[str]:  # noqa: ANN401
    """The chunk and sentence texts ingest embedded, to time the model alone on exactly them."""
    from qa_service.analysis import sentence_spans

    texts = []
    for summary in service.list_documents():
        document = service.get_document(summary.doc_id)
        texts.extend(c.text for c in service.indexer.chunker.split(document, 0))
        texts.extend(document.text[s:e] for s, e in sentence_spans(document.text))
    return texts


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


# ---- 3. the store at scale (synthetic corpora) ----------------------------------------------------------


def bench_store(settings: Settings, service: Any, root: Path, sizes: list[int], *, queries: int) -> None:  # noqa: ANN401
    """For each size: build a synthetic store, serve it, and measure questions, writes, start-up and memory.

    With QA_STORE=milvus (`--store milvus`) and no server URI, Milvus Lite runs as a server process of its own,
    as Milvus standalone would: the API server and this process (the writer) are both its clients, and the
    API server's RSS is that of a stateless replica (the engine's is printed beside it).
    """
    from qa_service import storebench
    from qa_service.store import drop_scratch_store, scratch_settings

    sentences, vectors = storebench.seed_material(service)
    questions = seed_questions()
    _echo(
        f"SYNTHETIC corpora (real rows, SYNTHETIC vectors): each document is one chunk of 3-6 random seed sentences "
        f"(of {len(sentences)}), vectors = normalised mean of their real vectors + noise; {queries} seed questions; "
        f"store {settings.store}"
    )
    articles = storebench.bench_articles(5)
    for size in sizes:
        index_dir = root / f"synthetic-{size}"
        with contextlib.ExitStack() as stack:
            sized = scratch_settings(settings, index_dir)
            engine = None
            if sized.store == "milvus" and not sized.milvus_uri:
                from qa_service.store.milvus import lite_server

                uri, engine = stack.enter_context(lite_server(index_dir / "milvus.db"))
                sized = sized.model_copy(update={"milvus_uri": uri})
            stack.callback(drop_scratch_store, sized)
            corpus = storebench.SyntheticCorpus(sentences, vectors, seed=size)
            _bench_one_size(settings, service, root, sized, engine, corpus, size, questions, articles, queries)
        shutil.rmtree(index_dir, ignore_errors=True)
        gc.collect()


def _bench_one_size(
    settings: Settings,
    service: Any,  # noqa: ANN401
    root: Path,
    sized: Settings,
    engine: Any,  # noqa: ANN401 - the Milvus Lite server process, if this benchmark started one
    corpus: Any,  # noqa: ANN401 - storebench.SyntheticCorpus
    size: int,
    questions: list[str],
    articles: list[Any],
    queries: int,
) -> None:
    from qa_service import storebench
    from qa_service.service import QAService

    index_dir = Path(sized.index_dir)
    build_s = storebench.build_synthetic_store(sized, service.index_config, corpus, size)
    started = time.perf_counter()
    writer = QAService(sized, embedder=service.embedder).load()  # embedded: builds the dense index once, caches it
    open_s = time.perf_counter() - started
    if sized.store == "milvus":
        what, recall = f"Milvus {sized.milvus_index} + BM25", None
    else:
        what = f"FAISS {writer.store._dense.factory}"
        writer.close()
        writer = QAService(sized, embedder=service.embedder).load()
        recall = storebench.dense_recall(writer, questions)
    on_disk = storebench.disk_usage(index_dir) if index_dir.exists() else 0
    _echo(
        f"SYNTHETIC {size:>9,} chunks: store written in {build_s:.0f} s = {size / build_s:,.0f} chunks/s "
        f"(+ their sentences; embedding excluded) ({storebench.human_bytes(on_disk)} on disk); first open "
        f"{open_s:.1f} s ({what}); " + (f"recall@50 vs exact {recall:.3f}" if recall else "exact")
    )
    extra = {"QA_SEEDS_DIR": str(Path(settings.seeds_dir).resolve()), "QA_LOG_LEVEL": "warning"}
    if sized.store == "milvus":
        extra.update(
            QA_STORE="milvus",
            QA_MILVUS_URI=sized.milvus_uri,
            QA_MILVUS_PREFIX=sized.milvus_prefix,
            QA_MILVUS_INDEX=sized.milvus_index,
        )
    env = measured_env(index_dir, **extra)
    started = time.perf_counter()
    with local_server(env, log_path=root / f"server-{size}.log") as server:
        startup_s = time.perf_counter() - started
        r = storebench.bench_size(writer, server.url, server.process.pid, questions, queries=queries, articles=articles)
    idle, write, busy = r["idle"], r["write"], r["busy"]
    engine_rss = f"; Milvus Lite server RSS {storebench.rss_mib(engine.pid):.0f} MiB" if engine is not None else ""
    _echo(
        f"SYNTHETIC {size:>9,} chunks: server start to healthy {startup_s:.1f} s; RSS {r['rss_mib']:.0f} MiB"
        f"{engine_rss}; /ask p50 {idle['p50']:.1f} ms p99 {idle['p99']:.1f} ms (embed {idle['embed']:.1f} + "
        f"retrieve {idle['retrieve']:.1f} + answer {idle['answer']:.1f} ms, server-side medians)"
    )
    _echo(
        f"SYNTHETIC {size:>9,} chunks: add one article {write['add_s'] * 1000:.0f} ms, "
        f"{storebench.human_bytes(write['add_bytes'])} written; delete {write['delete_s'] * 1000:.0f} ms, "
        f"{storebench.human_bytes(write['delete_bytes'])}; the server answers from it "
        f"{write['seen_add_s'] * 1000:.0f} ms / {write['seen_delete_s'] * 1000:.0f} ms later "
        f"(worst {write['seen_max_s'] * 1000:.0f} ms); embedding excluded"
    )
    _echo(
        f"SYNTHETIC {size:>9,} chunks: /ask while another client adds+deletes ({busy['writes']} writes): "
        f"p50 {busy['p50']:.1f} ms p99 {busy['p99']:.1f} ms (idle p99 {idle['p99']:.1f} ms)"
    )
    writer.close()


# ---- entry point ----------------------------------------------------------------------------------------


def run_bench(
    settings: Settings,
    *,
    sizes: list[int],
    requests: int = 200,
    max_seconds: float = 60.0,
    skip_http: bool = False,
    queries: int = 100,
    store: str | None = None,
) -> None:
    root = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    store_settings = settings.model_copy(update={"store": store}) if store else settings
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
            bench_store(store_settings, service, root, sizes, queries=queries)
        _echo(f"done; {_load()} (other processes on these CPUs skew every number above)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min)"
