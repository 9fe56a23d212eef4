"""`make bench` (`python -m devtools.bench`): numbers, not a test. Ingest throughput, `/ask` over HTTP, and
synthetic-corpus scaling.

1. Ingest: the seed corpus into a temporary index (chunks/s, build time); the embedding floor; cleaning a 5 MB
   article and how soon the write path refuses it (QA_DOCUMENT_CPU_S).
2. HTTP: the real server as a subprocess (`python -m qa_service serve`) on that temporary index, driven by
   devtools/loadgen.py (the load test's driver) at concurrency 1 and 8 using the seed questions (bounded by a
   request count and a time limit); latency p50/p95/p99, requests/s, and the server's resident memory afterwards.
3. Synthetic corpora of 10,000 and 100,000 chunks: embedding 100k real chunks takes about 20 minutes on two
   cores, so each synthetic chunk is 3-6 random seed sentences with the normalised mean of their (real) sentence
   vectors. The store is written from them directly (`storebench`); we time building it, then embed + retrieve +
   answer per question (the steps of `QAService.ask`), plus retrieval alone.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from devtools import loadgen, storebench
from devtools.devserver import local_server, measured_env
from devtools.loadgen import seed_questions
from qa_service.config import Settings, get_settings
from qa_service.errors import QAServiceError
from qa_service.evaluation.metrics import percentile


def _echo(line: str = "") -> None:
    print(line, flush=True)


def _ms(values: list[float], q: float) -> str:
    value = percentile(values, q)
    return "n/a" if value is None else f"{value:.1f}"


# ---- 1. ingest --------------------------------------------------------------------------------------------


def bench_ingest(settings: Settings, index_dir: Path) -> Any:  # a loaded QAService
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
    _echo(f"model load                {load_s:.2f} s")
    _echo(
        f"ingest (seed corpus)      {len(report.added)} documents -> {chunks} chunks + {sentences} sentences "
        f"embedded and stored in {build_s:.2f} s"
    )
    _echo(
        f"ingest throughput         {documents / build_s:.2f} articles/s, {chunks / build_s:.1f} chunks/s, "
        f"{(chunks + sentences) / build_s:.1f} texts/s (chunks and sentences; the model alone: 'raw model "
        "throughput' below)"
    )
    return service


# ---- 1b. the embedding floor ------------------------------------------------------------------------------


def seed_ingest_texts(settings: Settings, embedder: Any) -> list[str]:  # an Embedder
    """What ingest embeds for the seed corpus: its chunks, then its sentences (read here, not from the index)."""
    from qa_service.ingest.clean import iter_article_files, load_file
    from qa_service.text.chunking import Chunker
    from qa_service.text.phrases import sentence_spans

    documents = [load_file(path) for path in iter_article_files([Path(settings.seeds_dir)])]
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap, embedder.count_tokens, embedder.max_tokens)
    chunks = [chunk.text for document in documents for chunk in chunker.split(document, 0)]
    return chunks + [d.text[s:e] for d in documents for s, e in sentence_spans(d.text)]


def bench_embedding(settings: Settings, embedder: Any, questions: list[str]) -> None:
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


# ---- 1c. a 5 MB article ---------------------------------------------------------------------------------


def long_article(seeds_dir: Path, chars: int) -> str:
    """`chars` characters of seed paragraphs, each copy numbered so that cleaning keeps every one."""
    from qa_service.ingest.clean import iter_article_files

    seed = "\n".join(path.read_text(encoding="utf-8") for path in iter_article_files([seeds_dir]))
    lines = [line for line in seed.split("\n") if line.strip()]
    out: list[str] = []
    size, n = 0, 0
    while size < chars:
        out.extend(f"{line} (part {n})" for line in lines)
        size += sum(len(line) + 10 for line in lines)
        n += 1
    return "\n\n".join(out)[:chars]


def bench_large_article(settings: Settings, service: Any, chars: int = 5_000_000) -> None:
    """Cleaning a 5 MB article (it was quadratic in its lines: 40,000 short lines took 24 s), and how soon the
    write path refuses it under the default CPU budget (QA_DOCUMENT_CPU_S) instead of embedding it for an hour."""
    from qa_service.ingest.clean import clean_text, make_document
    from qa_service.ingest.indexer import Incoming

    article = long_article(Path(settings.seeds_dir), chars)
    feed = "\n".join(f"line {i} of a feed" for i in range(chars // 20))[:chars]
    one_line = article.replace("\n\n", " ")
    timings = []
    for raw in (article, feed, one_line):
        began = time.process_time()
        clean_text(raw)
        timings.append(time.process_time() - began)
    _echo(
        f"clean a {chars / 1e6:.0f} MB article     {timings[0]:.2f} s CPU ({article.count(chr(10)) // 2 + 1:,} "
        f"paragraphs); {timings[1]:.2f} s as {feed.count(chr(10)) + 1:,} short lines; {timings[2]:.2f} s as one line"
    )
    budget = service.indexer.budget("bench-5mb")
    began = time.process_time()
    with budget.active():
        document = make_document(article, "bench-5mb")
    _, refused = service.indexer.prepare([Incoming(document, budget=budget)])
    spent = time.process_time() - began
    outcome = f"refused: {refused[0][1]}" if refused else "NOT refused"
    _echo(f"write a {chars / 1e6:.0f} MB article     {spent:.1f} s CPU until {outcome}")


# ---- 2. HTTP --------------------------------------------------------------------------------------------


def bench_http(settings: Settings, index_dir: Path, questions: list[str], *, requests: int, max_seconds: float) -> None:
    """The real server on the benchmark's index, driven by devtools/loadgen.py at 1 and 8 keep-alive clients."""
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
        rss = storebench.rss_mib(process.pid)
        _echo("server RSS after load     " + ("n/a (psutil is not installed)" if rss is None else f"{rss:.0f} MiB"))


# ---- 3. the store at scale (synthetic corpora) ----------------------------------------------------------


def bench_store(settings: Settings, service: Any, root: Path, sizes: list[int], *, queries: int) -> None:
    """For each size: build a synthetic store, serve it, and measure questions, writes, start-up and memory.

    With QA_STORE=milvus (`--store milvus`) and no server URI, Milvus Lite runs as a server process of its own,
    as Milvus standalone would: the API server and this process (the writer) are both its clients, and the
    API server's RSS is that of a stateless replica (the engine's is printed beside it).
    """
    from devtools import storebench
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
                from devtools.milvus_lite import lite_server

                uri, engine = stack.enter_context(lite_server(index_dir / "milvus.db"))
                sized = sized.model_copy(update={"milvus_uri": uri})
            stack.callback(drop_scratch_store, sized)
            corpus = storebench.SyntheticCorpus(sentences, vectors, seed=size)
            _bench_one_size(settings, service, root, sized, engine, corpus, size, questions, articles, queries)
        shutil.rmtree(index_dir, ignore_errors=True)
        gc.collect()


def _bench_one_size(
    settings: Settings,
    service: Any,
    root: Path,
    sized: Settings,
    engine: Any,  # the Milvus Lite server process, if this benchmark started one
    corpus: Any,  # storebench.SyntheticCorpus
    size: int,
    questions: list[str],
    articles: list[Any],
    queries: int,
) -> None:
    from devtools import storebench
    from qa_service.service import QAService

    index_dir = Path(sized.index_dir)
    build_s = storebench.build_synthetic_store(sized, service.index_config, corpus, size)
    started = time.perf_counter()
    writer = QAService(sized, embedder=service.embedder).load()  # embedded: builds the dense index once, caches it
    open_s = time.perf_counter() - started
    if sized.store == "milvus":
        what, recall = f"Milvus {sized.milvus_index} + BM25", None
    else:
        from qa_service.store.embedded import EmbeddedStore

        store = writer.store  # typed as the DocumentStore protocol; the embedded store is the one that has FAISS
        assert isinstance(store, EmbeddedStore) and store.dense.index is not None
        what = f"FAISS {store.dense.index.factory}"
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
            f"qa-service bench: {os.cpu_count()} CPUs, model {settings.embedding_model} on "
            f"{settings.embedding_backend}, threads {settings.torch_threads} per request / "
            f"{settings.resolved_ingest_threads} for ingest, batch window {settings.batch_window_ms} ms, "
            f"faiss threads 1, seeds {settings.seeds_dir}; {_load()}"
        )
        index_dir = root / "index"
        service = bench_ingest(settings, index_dir)
        questions = seed_questions()
        bench_embedding(settings, service.embedder, questions)
        bench_large_article(settings, service)
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


# ---- the command ------------------------------------------------------------------------------------------


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def bench(
    sizes: Annotated[str, typer.Option(help="Synthetic corpus sizes in chunks, comma-separated ('' = none).")] = (
        "10000,100000"
    ),
    requests: Annotated[int, typer.Option(min=1, help="HTTP requests per concurrency level.")] = 200,
    max_seconds: Annotated[float, typer.Option(min=1, help="Time limit per concurrency level (s).")] = 60.0,
    queries: Annotated[int, typer.Option(min=1, help="Questions per synthetic corpus size.")] = 100,
    skip_http: Annotated[bool, typer.Option("--skip-http", help="Skip the HTTP load test.")] = False,
    store: Annotated[
        str | None, typer.Option(help="Store of the synthetic corpora: embedded or milvus (default QA_STORE).")
    ] = None,
) -> None:
    """Print performance numbers: ingest, /ask over HTTP, and synthetic 10k/100k-chunk corpora."""
    try:
        size_list = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    except ValueError:
        _fail(f"--sizes must be comma-separated whole numbers, got {sizes!r}", 2)
    if any(size < 1 for size in size_list):
        _fail("--sizes must be positive", 2)
    if store == "faiss":
        store = "embedded"  # its name before
    if store not in (None, "embedded", "milvus"):
        _fail(f"--store must be embedded or milvus, got {store!r}", 2)
    try:
        run_bench(
            get_settings(),
            sizes=size_list,
            requests=requests,
            max_seconds=max_seconds,
            skip_http=skip_http,
            queries=queries,
            store=store,
        )
    except (QAServiceError, RuntimeError) as exc:
        _fail(str(exc))


def main() -> None:
    typer.run(bench)


if __name__ == "__main__":
    main()
