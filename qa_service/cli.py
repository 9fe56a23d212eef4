"""`qa-service` command line: ingest, serve, ask (and eval/bench, which live in their own modules)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from qa_service.config import Settings, get_settings
from qa_service.errors import QAServiceError

app = typer.Typer(help="Question answering over your news articles, with exact citations.", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _service(settings: Settings, *, reset: bool = False):  # noqa: ANN202 - imported lazily so `--help` is instant
    from qa_service.service import QAService

    try:
        return QAService(settings).load(reset=reset)
    except (QAServiceError, RuntimeError, ValueError) as exc:
        _fail(str(exc))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Article files (.txt, .md) or folders of them.")],
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start a new index from these files only.")] = False,
) -> None:
    """Add articles to the index (re-ingesting an unchanged file does nothing).

    Files are embedded and committed in batches: interrupted, the same command resumes where it stopped.
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}", 2)
    settings = get_settings()
    service = _service(settings, reset=rebuild)
    try:
        report = service.ingest_paths(paths, progress=True, keep_ids=False)
    finally:
        service.close()
    for name, error in report.errors.items():
        typer.secho(f"skipped {name}: {error}", fg=typer.colors.YELLOW, err=True)
    for doc_id, original in report.duplicates.items():
        typer.secho(f"duplicate: {doc_id} has the same text as {original}; not added", fg=typer.colors.YELLOW, err=True)
    stats = service.stats()
    counts = report.counts
    typer.echo(
        f"added {counts.get('added', 0)}, replaced {counts.get('replaced', 0)}, "
        f"unchanged {counts.get('unchanged', 0)}, duplicates {len(report.duplicates)}, errors {len(report.errors)}; "
        f"index {settings.index_dir}: {stats['documents']} documents, {stats['chunks']} chunks"
    )
    if report.errors:
        raise typer.Exit(1)


def ensure_index(settings: Settings) -> None:
    """First start: build the index from the seeds folder so `serve` works out of the box.

    Only a store that does not exist yet gets the seeds: an existing one, even empty, is the user's.
    """
    from qa_service.store import store_exists

    if store_exists(settings):
        return
    seeds = settings.seeds_dir
    if seeds.is_dir() and any(seeds.iterdir()):
        typer.echo(f"no index in {settings.index_dir}: building it from {seeds}/ ...", err=True)
        service = _service(settings)
        try:
            report = service.ingest_paths([seeds])
        finally:
            service.close()
        for name, error in report.errors.items():
            typer.secho(f"skipped {name}: {error}", fg=typer.colors.YELLOW, err=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1, QA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000, QA_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes sharing one index.")] = 1,
) -> None:
    """Serve the REST API and the chat page (builds the index from the seeds on first start)."""
    import uvicorn

    settings = get_settings()
    ensure_index(settings)
    uvicorn.run(
        "qa_service.api:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    top_k: Annotated[int, typer.Option(min=1, max=20, help="Passages to retrieve.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the same JSON as POST /ask.")] = False,
) -> None:
    """Ask one question from the command line."""
    if not question.strip():
        _fail("the question is empty", 2)
    answer = _service(get_settings()).ask(question.strip(), top_k)
    if as_json:
        typer.echo(json.dumps(answer.model_dump(), ensure_ascii=False, indent=2))
        return
    if not answer.answerable:
        typer.echo("The articles don't answer this.")
    else:
        typer.echo(answer.answer)
        for c in answer.citations:
            typer.echo(
                f"  [{c.id}] {c.doc_id} ({c.title or 'untitled'}, {c.date or 'undated'}) chars {c.start}-{c.end}"
            )
    typer.echo(f"confidence {answer.confidence:.2f}", err=True)


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="Question set: seed JSONL or a SQuAD v1.1/v2.0 JSON file.")],
    fmt: Annotated[str, typer.Option("--format", help="seed, squad, or auto (detect from the file).")] = "auto",
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the full report (JSON) here.")] = None,
    top_k: Annotated[int, typer.Option(min=1, max=20, help="Passages per answer, as in POST /ask.")] = 5,
    corpus: Annotated[
        Path | None, typer.Option(help="Seed format: folder of articles to index (default QA_SEEDS_DIR).")
    ] = None,
    rows: Annotated[str, typer.Option(help="Per-question rows: all, failures, none, auto (all up to 100).")] = "auto",
    progress: Annotated[bool, typer.Option(help="Progress bars on stderr.")] = True,
    sweep: Annotated[
        bool, typer.Option(help="Also show what each min_score threshold would give (asks abstained questions again).")
    ] = False,
    min_accuracy: Annotated[float | None, typer.Option(help="Fail below this answer accuracy.")] = None,
    min_hit_at_1: Annotated[float | None, typer.Option(help="Fail below this retrieval hit@1.")] = None,
    min_hit_at_3: Annotated[float | None, typer.Option(help="Fail below this retrieval hit@3.")] = None,
    min_hit_at_5: Annotated[float | None, typer.Option(help="Fail below this retrieval hit@5.")] = None,
    min_mrr: Annotated[float | None, typer.Option(help="Fail below this MRR@10.")] = None,
    min_span_em: Annotated[float | None, typer.Option(help="Fail below this answer-span exact match.")] = None,
    min_span_f1: Annotated[float | None, typer.Option(help="Fail below this answer-span token F1.")] = None,
    min_citation_doc: Annotated[
        float | None, typer.Option(help="Fail below this share of first citations in a gold document.")
    ] = None,
    min_quote_exact: Annotated[float | None, typer.Option(help="Fail below this share of exact quotes.")] = None,
    min_abstain_precision: Annotated[float | None, typer.Option(help="Fail below this abstention precision.")] = None,
    min_abstain_recall: Annotated[float | None, typer.Option(help="Fail below this abstention recall.")] = None,
    max_false_abstentions: Annotated[
        int | None, typer.Option(help="Fail above this many abstentions on answerable questions.")
    ] = None,
    max_false_answers: Annotated[
        int | None, typer.Option(help="Fail above this many answers to unanswerable questions.")
    ] = None,
    max_p95_ms: Annotated[float | None, typer.Option(help="Fail above this p95 latency of ask (ms).")] = None,
) -> None:
    """Run a question set through the same code as POST /ask, on a temporary index, and score it."""
    from qa_service import evaluation

    if rows not in ("all", "failures", "none", "auto"):
        _fail(f"--rows must be all, failures, none or auto, got {rows!r}", 2)
    settings = get_settings()
    try:
        eval_set = evaluation.load_eval_set(file, fmt, corpus or settings.seeds_dir)
        report = evaluation.run_eval(eval_set, settings, top_k=top_k, progress=progress, sweep=sweep)
    except evaluation.EvalInputError as exc:
        _fail(str(exc), 2)
    except (QAServiceError, RuntimeError) as exc:
        _fail(str(exc))
    for line in evaluation.format_rows(report, rows):
        typer.echo(line)
    typer.echo("")
    for line in evaluation.format_summary(report):
        typer.echo(line)
    if json_path is not None:
        evaluation.write_report(report, json_path)
        typer.echo(f"report written to {json_path}")
    limits = {
        "accuracy": min_accuracy,
        "hit_at_1": min_hit_at_1,
        "hit_at_3": min_hit_at_3,
        "hit_at_5": min_hit_at_5,
        "mrr_at_10": min_mrr,
        "em_span": min_span_em,
        "f1_span": min_span_f1,
        "citation_doc": min_citation_doc,
        "quote_exact": min_quote_exact,
        "abstain_precision": min_abstain_precision,
        "abstain_recall": min_abstain_recall,
        "false_abstentions": max_false_abstentions,
        "false_answers": max_false_answers,
        "latency_p95_ms": max_p95_ms,
    }
    failures = evaluation.check_thresholds(report["metrics"], limits)
    if failures:
        typer.secho(f"FAILED: {len(failures)} threshold(s) not met:", fg=typer.colors.RED, err=True)
        for failure in failures:
            typer.secho(f"  - {failure}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    if any(value is not None for value in limits.values()):
        typer.echo("all thresholds met")


@app.command()
def migrate(
    to: Annotated[str, typer.Option("--to", help="The store to copy into: milvus (QA_MILVUS_URI, QA_MILVUS_PREFIX).")],
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Documents read and written together.")] = 100,
) -> None:
    """Copy the embedded store (QA_INDEX_DIR) into Milvus, vectors included: nothing is embedded again.

    Documents already there with the same text are skipped, so an interrupted copy resumes. Then serve with
    QA_STORE=milvus.
    """
    if to != "milvus":
        _fail(f"--to must be milvus (the embedded store is the source), got {to!r}", 2)
    from qa_service.store.migrate import migrate_to_milvus

    settings = get_settings()
    try:
        report = migrate_to_milvus(settings, batch=batch)
    except QAServiceError as exc:
        _fail(str(exc))
    typer.echo(
        f"copied {report.copied} documents ({report.chunks} chunks, {report.sentences} sentences), "
        f"{report.unchanged} already there, in {report.seconds:.1f} s into {settings.milvus_location} "
        f"(collections {settings.milvus_prefix}_*); serve it with QA_STORE=milvus"
    )


@app.command()
def bench(
    sizes: Annotated[str, typer.Option(help="Synthetic corpus sizes in chunks, comma-separated ('' = none).")] = (
        "10000,100000"
    ),
    requests: Annotated[int, typer.Option(min=1, help="HTTP requests per concurrency level.")] = 200,
    max_seconds: Annotated[float, typer.Option(min=1, help="Time limit per concurrency level (s).")] = 60.0,
    queries: Annotated[int, typer.Option(min=1, help="Questions per synthetic corpus size.")] = 100,
    skip_http: Annotated[bool, typer.Option("--skip-http", help="Skip the HTTP load test.")] = False,
    store: Annotated[
        str | None, typer.Option(help="Store of the synthetic corpora: faiss or milvus (default QA_STORE).")
    ] = None,
) -> None:
    """Print performance numbers: ingest, /ask over HTTP, and synthetic 10k/100k-chunk corpora."""
    from qa_service.bench import run_bench

    try:
        size_list = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    except ValueError:
        _fail(f"--sizes must be comma-separated whole numbers, got {sizes!r}", 2)
    if any(size < 1 for size in size_list):
        _fail("--sizes must be positive", 2)
    if store not in (None, "faiss", "milvus"):
        _fail(f"--store must be faiss or milvus, got {store!r}", 2)
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
    app()


if __name__ == "__main__":
    main()
