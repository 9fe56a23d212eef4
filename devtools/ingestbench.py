"""Ingest throughput, printed: articles sent one by one to `POST /documents`, the same in one
`POST /documents/batch`, saved web pages through `qa-service ingest` (and trafilatura alone), and an archive:
1, 100 and 10,000 articles through the bulk path (the articles repeated with fresh ids and a line that makes
each copy's text its own), in CPU-seconds per article and chunks per second, projected to 10^5 and 10^6 chunks.

    .venv/bin/python -m devtools.ingestbench                                   # the seed articles
    .venv/bin/python -m devtools.ingestbench --articles ../shared/benchmarks/news/articles --pages 65
    .venv/bin/python -m devtools.ingestbench --articles ../shared/benchmarks/news/articles --only archive --archive 500

Each API figure comes from a real server (`python -m qa_service serve`) on an empty temporary index. The pages
are the articles wrapped in a news page layout (navigation, an ad, a comment thread) written to a temporary
folder, so that extraction has something to remove. Numbers, not a test: run it on the machine you care about.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from devtools.devserver import LocalServer

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("single", "batch", "pages", "archive")


def _cpu_s(pid: int) -> float:
    """CPU seconds the server has used (user + system, its threads included): on a machine shared with other
    work, wall time says how busy the machine was; this says what the articles cost."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _articles(folder: Path, limit: int | None) -> list[tuple[str, str]]:
    files = sorted(folder.glob("*.txt"))[:limit]
    if not files:
        sys.exit(f"no .txt articles in {folder}")
    return [(path.stem, path.read_text(encoding="utf-8")) for path in files]


def _server(workdir: Path, name: str) -> contextlib.AbstractContextManager[LocalServer]:
    from devtools.devserver import local_server, measured_env

    seeds = workdir / f"{name}-no-seeds"
    seeds.mkdir()
    env = measured_env(workdir / f"{name}-index", QA_SEEDS_DIR=str(seeds), QA_LOG_LEVEL="warning")
    return local_server(env, cwd=ROOT, log_path=workdir / f"{name}.log")


def bench_single(articles: list[tuple[str, str]], workdir: Path) -> None:
    with _server(workdir, "single") as server, httpx.Client(base_url=server.url, timeout=600) as client:
        client.post("/documents", json={"text": "Warm-up article: the council met on Monday.", "doc_id": "warm-up"})
        latencies = []
        cpu = _cpu_s(server.process.pid)
        started = time.perf_counter()
        for doc_id, text in articles:
            began = time.perf_counter()
            response = client.post("/documents", json={"text": text, "doc_id": doc_id})
            response.raise_for_status()
            latencies.append(time.perf_counter() - began)
        seconds = time.perf_counter() - started
        cpu = _cpu_s(server.process.pid) - cpu
    print(
        f"POST /documents, one at a time  {len(articles)} articles in {seconds:.1f} s: "
        f"{len(articles) / seconds:.2f} articles/s (median {statistics.median(latencies) * 1000:.0f} ms each); "
        f"server CPU {cpu / len(articles) * 1000:.0f} ms an article",
        flush=True,
    )


def bench_batch(articles: list[tuple[str, str]], workdir: Path) -> None:
    with _server(workdir, "batch") as server, httpx.Client(base_url=server.url, timeout=600) as client:
        client.post("/documents", json={"text": "Warm-up article: the council met on Monday.", "doc_id": "warm-up"})
        body = [{"text": text, "doc_id": doc_id} for doc_id, text in articles]
        cpu = _cpu_s(server.process.pid)
        started = time.perf_counter()
        response = client.post("/documents/batch", json=body)
        seconds = time.perf_counter() - started
        cpu = _cpu_s(server.process.pid) - cpu
        response.raise_for_status()
        added = len(response.json()["added"])
    print(
        f"POST /documents/batch           {added} articles in {seconds:.1f} s: {added / seconds:.2f} articles/s; "
        f"server CPU {cpu / added * 1000:.0f} ms an article",
        flush=True,
    )


def _page(title: str, text: str) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} | The Daily Bench</title>'
        '<meta property="og:site_name" content="The Daily Bench">'
        '<meta property="article:published_time" content="2025-09-14T08:30:00Z"></head><body>'
        '<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav></header>'
        '<div class="ad">Advertisement: subscribe for one euro a week</div>'
        f"<main><article><h1>{escape(title)}</h1>{paragraphs}</article></main>"
        '<aside class="related"><h3>Related</h3><a href="/a">Another story</a></aside>'
        '<section class="comments"><h3>Comments</h3><p>Great story, thanks.</p><p>I disagree with this.</p></section>'
        "<footer>All rights reserved.</footer></body></html>"
    )


def bench_pages(articles: list[tuple[str, str]], workdir: Path, count: int) -> None:
    from qa_service.config import Settings
    from qa_service.ingest.converters import html
    from qa_service.service import QAService

    folder = workdir / "pages"
    folder.mkdir()
    chosen = [articles[n % len(articles)] for n in range(count)]
    for n, (doc_id, text) in enumerate(chosen):
        (folder / f"{n:04d}-{doc_id}.html").write_text(_page(text.split("\n")[0][:80], text), encoding="utf-8")
    pages = sorted(folder.iterdir())
    html.convert(pages[0].read_bytes(), "warm-up")  # trafilatura's first call loads its data
    started = time.perf_counter()
    for path in pages:
        html.convert(path.read_bytes(), path.name)
    extract_s = time.perf_counter() - started
    service = QAService(Settings(index_dir=workdir / "pages-index", seeds_dir=workdir / "none")).load()
    try:
        service.embedder.embed(["warm-up"], bulk=True)
        cpu = time.process_time()
        started = time.perf_counter()
        report = service.ingest_paths([folder], progress=False)
        ingest_s = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        service.close()
    print(
        f"HTML pages, qa-service ingest   {len(report.added)} pages in {ingest_s:.1f} s: "
        f"{len(report.added) / ingest_s:.2f} pages/s (extraction alone: {len(pages) / extract_s:.0f} pages/s); "
        f"CPU {cpu / len(report.added) * 1000:.0f} ms a page",
        flush=True,
    )


def bench_archive(articles: list[tuple[str, str]], workdir: Path, sizes: list[int]) -> None:
    """The bulk path (`qa-service ingest`'s) in this process: CPU of every thread (model pool, analysis) counted."""
    from qa_service.config import Settings
    from qa_service.ingest.clean import make_document
    from qa_service.ingest.indexer import Incoming
    from qa_service.service import QAService

    rate = last_cpu = 0.0
    for size in sizes:
        service = QAService(Settings(index_dir=workdir / f"archive-{size}", seeds_dir=workdir / "none")).load()
        try:
            service.embedder.embed(["warm-up"], bulk=True)
            service.write([make_document("Warm-up: the council met on Monday.", "warm-up")])
            items = (
                Incoming(make_document(f"{text}\n\nArchive copy {n}.", f"{doc_id}-copy-{n}"))
                for n, (doc_id, text) in ((n, articles[n % len(articles)]) for n in range(size))
            )
            cpu = time.process_time()
            started = time.perf_counter()
            report = service.write(items, keep_ids=False)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
            chunks = service.stats()["chunks"] - 1
        finally:
            service.close()
        added = report.counts.get("added", 0)
        rate = chunks / cpu
        last_cpu = cpu / max(1, added)
        print(
            f"archive of {size:>6} articles      {added} added, {chunks} chunks in {seconds:.1f} s: "
            f"CPU {cpu / max(1, added):.3f} s an article, {rate:.1f} chunks per CPU-second, "
            f"{chunks / seconds:.1f} chunks/s",
            flush=True,
        )
    if rate:
        floor = _floor(articles, workdir)
        print(
            f"  model floor (each article's chunks embedded once, bare, same threads): CPU {floor:.3f} s an "
            f"article; the {max(sizes)}-article archive is {last_cpu / floor:.2f}x it",
            flush=True,
        )
        for total in (10**5, 10**6):
            hours = total / rate / 3600
            print(f"  projected: {total:>9,} chunks in {hours:.1f} CPU-hours ({hours / 2:.1f} h on 2 busy cores)")


def _floor(articles: list[tuple[str, str]], workdir: Path) -> float:
    """CPU-seconds an article of the bare model over the chunks ingest makes of it (the same texts, copy line
    included), embedded once in bulk on the documents' model file: what no ingest can go under. Each article
    once (the archive repeats them, so its mix is the same within a fraction of an article)."""
    from qa_service.config import Settings
    from qa_service.ingest.clean import make_document
    from qa_service.service import QAService

    service = QAService(Settings(index_dir=workdir / "floor", seeds_dir=workdir / "none")).load()
    try:
        documents = [
            make_document(f"{text}\n\nArchive copy {n}.", f"{doc_id}-copy-{n}")
            for n, (doc_id, text) in enumerate(articles)
        ]
        texts = [chunk.text for d in documents for chunk in service.indexer.chunker.split(d, 0)]
        no_spans: list[list[tuple[int, int]]] = [[] for _ in texts]
        service.embedder.embed_spans(texts[:8], no_spans[:8], bulk=True)
        cpu = time.process_time()
        for _ in range(2):
            service.embedder.embed_spans(texts, no_spans, bulk=True)
        return (time.process_time() - cpu) / 2 / len(documents)
    finally:
        service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=Path, default=ROOT / "seeds", help="a folder of .txt articles")
    parser.add_argument("--limit", type=int, help="at most this many articles")
    parser.add_argument("--pages", type=int, default=0, help="HTML pages to make and ingest (default: one each)")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts (repeatable)")
    parser.add_argument("--archive", type=int, default=10_000, help="the largest archive to ingest (default 10,000)")
    args = parser.parse_args()
    articles = _articles(args.articles, args.limit)
    parts = args.only or list(PARTS)
    print(
        f"{len(articles)} articles from {args.articles}, {sum(len(t) for _, t in articles) // len(articles)} chars "
        "each on average",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="qa-ingestbench-") as tmp:
        workdir = Path(tmp)
        if "single" in parts:
            bench_single(articles, workdir)
        if "batch" in parts:
            bench_batch(articles, workdir)
        if "pages" in parts:
            bench_pages(articles, workdir, args.pages or len(articles))
        if "archive" in parts:
            bench_archive(articles, workdir, sorted({1, min(100, args.archive), args.archive}))


if __name__ == "__main__":
    main()
