"""`qa-service` command line: ingest, list, delete, serve, prepare, ask, eval and migrate.

The work is done elsewhere (`inputs`, `service`, `remote`, `answer_text`, `evaluation`, `store.migrate`), imported
inside each command so `--help` is instant (a test checks that it loads neither the service nor a model library).
Over 400 lines on purpose: it is one concern, the commands' options, messages and exit codes, and Typer reads a
command from its function's signature, so each command is its options plus a few lines; kept together, every
flag and exit status of the tool is in one file.
"""

from __future__ import annotations

import errno
import inspect
import json
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from qa_service.cli.answer_text import answer_lines, explanation_lines, related_doc_ids
from qa_service.config import Settings, get_settings
from qa_service.errors import QAServiceError
from qa_service.schemas import Answer, DocumentSummary, Filters, IngestReport

if TYPE_CHECKING:
    from qa_service.service import QAService

app = typer.Typer(help="Question answering over your news articles, with exact citations.", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _service(settings: Settings, *, reset: bool = False) -> QAService:
    """The loaded service; imported here, not at the top, so `--help` is instant."""
    from qa_service.service import QAService

    try:
        return QAService(settings).load(reset=reset)
    except (QAServiceError, RuntimeError, ValueError) as exc:
        _fail(str(exc))


@app.command()
def ingest(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Article files (.txt, .md, .html, .jsonl, .csv), folders of them, or URLs of pages.",
            show_default=False,
        ),
    ] = None,
    feed: Annotated[
        list[str] | None,
        typer.Option(help="An RSS or Atom feed (URL or file): each entry's page is ingested. Repeatable."),
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start a new index from these files only.")] = False,
    no_follow: Annotated[
        bool, typer.Option("--no-follow", help="Leave out symbolic links found in folders (default: read them).")
    ] = False,
) -> None:
    """Add articles to the index (re-ingesting an unchanged file or page does nothing).

    Articles are embedded and committed in batches: interrupted, the same command resumes where it stopped. A
    feed's entries already indexed are not fetched again, so running `ingest --feed URL` every hour follows it.
    """
    from qa_service.ingest.feeds import is_url

    sources, feeds = sources or [], feed or []
    if not sources and not feeds:
        _fail("give files, folders or URLs to ingest, or --feed URL", 2)
    urls = [s for s in sources if is_url(s)]
    paths = [Path(s) for s in sources if not is_url(s)]
    missing = [str(p) for p in paths if not p.exists()]
    missing += [f for f in feeds if not is_url(f) and not Path(f).exists()]
    if missing:
        _fail(f"no such file or folder: {', '.join(missing)}", 2)
    settings = get_settings()
    service = _service(settings, reset=rebuild)
    try:
        report = _ingest_all(service, settings, paths, urls, feeds, follow_links=not no_follow)
        stats = service.stats()
    except QAServiceError as exc:  # a full disk: what was committed stays, the same command resumes
        _fail(str(exc))
    finally:
        service.close()
    _print_skipped(report.errors)
    for name, note in report.notes.items():
        typer.secho(f"note: {name}: {note}", fg=typer.colors.YELLOW, err=True)
    for doc_id, original in report.duplicates.items():
        typer.secho(f"duplicate: {doc_id} has the same text as {original}; not added", fg=typer.colors.YELLOW, err=True)
    for doc_id in report.conflicts:
        typer.secho(f"not replaced: {doc_id} exists with other text", fg=typer.colors.YELLOW, err=True)
    typer.echo(ingest_summary(report, stats, settings.index_dir))
    if report.errors:
        raise typer.Exit(1)


def _ingest_all(
    service: QAService,
    settings: Settings,
    paths: list[Path],
    urls: list[str],
    feeds: list[str],
    *,
    follow_links: bool = True,
) -> IngestReport:
    """Files, then pages, then feeds, as one stream; Ctrl-C says what was saved and exits 130."""
    from itertools import chain

    from qa_service.ingest.fetch import fetcher_for
    from qa_service.ingest.indexer import IngestInterrupted
    from qa_service.ingest.sources import FileItems, feed_items, url_items

    files = FileItems(paths, service.indexer.budget, follow_links=follow_links)

    def expected() -> int | None:  # a feed's entries are known only once it is read
        return None if feeds else files.expected() + len(urls)

    with fetcher_for(settings) as fetcher:
        budget = service.indexer.budget
        items = chain(files, url_items(urls, fetcher, budget), feed_items(feeds, fetcher, service.indexed, budget))
        try:
            report = service.write(items, expected=expected, keep_ids=False)
            report.notes.update(files.notes)
            return report
        except IngestInterrupted as stop:
            saved = stop.report.counts.get("added", 0) + stop.report.counts.get("replaced", 0)
            typer.secho(
                f"\ninterrupted: {_count(saved, 'article')} saved by this run. Run the same command again to go on: "
                "what is saved is skipped.",
                fg=typer.colors.YELLOW,
                err=True,
            )
            raise typer.Exit(130) from None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def ingest_summary(report: IngestReport, stats: Mapping[str, int], index_dir: Path) -> str:
    """One line: what this run did, then what the index holds now."""
    counts = report.counts  # a bulk ingest keeps counts, not ids
    done = [
        f"{counts.get('added', 0)} added",
        f"{counts.get('replaced', 0)} replaced",
        f"{counts.get('unchanged', 0)} unchanged",
        _count(len(report.duplicates), "duplicate"),
        _count(len(report.errors), "error"),
    ]
    if report.conflicts:
        done.append(f"{len(report.conflicts)} not replaced")
    held = f"{_count(stats['documents'], 'document')}, {_count(stats['chunks'], 'chunk')}"
    return f"{', '.join(done)}. The index in {index_dir}/ now holds {held}."


def _print_skipped(errors: Mapping[str, str]) -> None:
    """`skipped PATH: why`; the reason often starts with the path too, which is said once."""
    for name, error in errors.items():
        typer.secho(f"skipped {name}: {error.removeprefix(f'{name}: ')}", fg=typer.colors.YELLOW, err=True)


def ensure_index(settings: Settings) -> None:
    """First start: build the index from the seeds folder so `serve` works out of the box.

    Only a store that does not exist yet gets the seeds: an existing one, even empty, is the user's.
    """
    from qa_service.store import store_exists

    if store_exists(settings):
        return
    seeds = settings.seeds_dir
    if seeds.is_dir() and any(seeds.iterdir()):
        typer.echo(
            f"no index in {settings.index_dir}/: building it from {seeds}/ (once; the model loads first) ...", err=True
        )
        started = time.perf_counter()
        service = _service(settings)
        try:
            report = service.ingest_paths([seeds])
            stats = service.stats()
        finally:
            service.close()
        _print_skipped(report.errors)
        typer.echo(
            f"indexed {_count(report.counts.get('added', 0), 'article')} ({_count(stats['chunks'], 'chunk')}) "
            f"from {seeds}/ in {time.perf_counter() - started:.1f} s; starting the server",
            err=True,
        )


def check_port(host: str, port: int) -> None:
    """Stop with a hint when `host:port` cannot be listened on (another server has it), before the model loads.

    Bound the way uvicorn binds (SO_REUSEADDR), so a port left in TIME_WAIT by a stopped server counts as free.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            _fail(f"port {port} is in use: stop the other server or pass --port (or set QA_PORT)")
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1, QA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000, QA_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Worker processes sharing one index.")] = 1,
) -> None:
    """Serve the REST API and the chat page (builds the index from the seeds on first start)."""
    import uvicorn

    from qa_service.api.nodelay import NoDelayHTTPProtocol

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    check_port(host, port)
    ensure_index(settings)
    options: dict[str, Any] = {
        "factory": True,
        "http": NoDelayHTTPProtocol,  # TCP_NODELAY for every worker count: no 40 ms Nagle/delayed-ACK stall
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": settings.log_level.lower(),
        "access_log": False,  # the app logs one JSON line per request, without query strings (observability.py)
        "proxy_headers": False,  # X-Forwarded-For is believed only from QA_TRUSTED_PROXIES (the app applies it)
        "timeout_keep_alive": settings.keep_alive_s,
    }
    if workers == 1:
        uvicorn.run("qa_service.api:create_app", **options)  # exits with status 3 itself if start-up fails
        return
    from qa_service.api.workers import run_workers

    status = run_workers(uvicorn.Config("qa_service.api:create_app", **options))
    if status:
        raise typer.Exit(status)


SinceOption = Annotated[
    str | None, typer.Option(help="Only articles published on or after this day (2025-09-01, 'Sept. 1, 2025').")
]
UntilOption = Annotated[str | None, typer.Option(help="Only articles published on or before this day.")]
SourceOption = Annotated[list[str] | None, typer.Option(help="Only this outlet (as `list` shows it); repeatable.")]


def _filters(since: str | None, until: str | None, sources: list[str] | None) -> Filters:
    """Filters from the command line's options; a date in any form news prints is read, a bad one is refused."""
    from pydantic import ValidationError

    from qa_service.ingest.converters.dates import parse_date

    days = {}
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            days[name] = parse_date(value)
            if days[name] is None:
                _fail(f"--{name} {value!r} is not a date (e.g. 2025-09-01)", 2)
    try:
        return Filters(date_from=days.get("since"), date_to=days.get("until"), sources=sources or None)
    except ValidationError as exc:
        _fail(f"the filters do not fit together: {exc.errors()[0]['msg']}", 2)


@app.command("list")
def list_command(
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the same JSON as GET /documents.")] = False,
) -> None:
    """List the indexed articles (id, date, outlet, title or opening words), in the order added, and the outlets."""
    filters = _filters(since, until, source)
    service = _service(get_settings())
    try:
        documents = service.list_documents(filters=filters)
        outlets = service.sources(filters)
    finally:
        service.close()
    if as_json:
        typer.echo(json.dumps([d.model_dump() for d in documents], ensure_ascii=False, indent=2))
        return
    for d in documents:
        typer.echo(f"{d.doc_id}\t{d.date or '-'}\t{d.source or '-'}\t{d.label}")
    counts = ", ".join(f"{o.source or 'no outlet'} {o.documents}" for o in outlets)
    typer.echo(f"{_count(len(documents), 'article')}" + (f" ({counts})" if counts else ""), err=True)


@app.command()
def delete(
    doc_ids: Annotated[list[str], typer.Argument(help="Ids of the articles to remove (as `list` shows them).")],
) -> None:
    """Remove articles and everything derived from them from the index (exit status 1 if one was not there)."""
    service = _service(get_settings())
    try:
        deleted = service.delete_documents(doc_ids)
        stats = service.stats()
    finally:
        service.close()
    missing = [d for d in dict.fromkeys(doc_ids) if d not in deleted]
    for doc_id in missing:
        typer.secho(f"not found: {doc_id}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"{_count(len(deleted), 'article')} deleted; the index holds {_count(stats['documents'], 'document')}.")
    if missing:
        raise typer.Exit(1)


@app.command()
def prepare() -> None:
    """Build the embedding model's ONNX file now, once (`make setup` runs this; else the first start would).

    It is kept in QA_ONNX_CACHE_DIR and shared by every index and worker; nothing to do for
    QA_EMBEDDING_BACKEND=torch.
    """
    settings = get_settings()
    if settings.embedding_backend == "torch" or settings.embedding_model == "hashing-fake":
        typer.echo(f"nothing to prepare: {settings.embedding_model} runs on {settings.embedding_backend} as it is")
        return
    from qa_service.embedding.onnx_export import OnnxCacheError, Precision, ensure_onnx_model, is_built

    precision: Precision = "int8" if settings.embedding_backend == "onnx-int8" else "fp32"
    cache = settings.resolved_onnx_cache_dir
    for wanted in dict.fromkeys([precision, settings.document_precision or precision]):  # QA_DOCUMENT_PRECISION's too
        built = is_built(settings.embedding_model, wanted, cache)
        started = time.perf_counter()
        try:
            files = ensure_onnx_model(settings.embedding_model, wanted, cache)
        except (OnnxCacheError, OSError, ValueError) as exc:
            _fail(str(exc))
        how = "already built" if built else f"built in {time.perf_counter() - started:.1f} s; every start reuses it"
        where = files.model.parent
        typer.echo(f"embedding model {settings.embedding_model}: {wanted} ONNX file ready in {where} ({how})")
    if settings.answerer == "reader":
        _prepare_reader(settings)


def _prepare_reader(settings: Settings) -> None:
    """Merge the reader's adapters into the installed base and export its ONNX file (once; cached)."""
    from qa_service.config import DEFAULT_EMBEDDING_MODEL
    from qa_service.reader.package import ReaderUnavailableError, ensure_reader, is_built

    cache = settings.resolved_onnx_cache_dir
    built = is_built(DEFAULT_EMBEDDING_MODEL, cache)
    started = time.perf_counter()
    try:
        files = ensure_reader(DEFAULT_EMBEDDING_MODEL, cache)
    except (ReaderUnavailableError, OSError) as exc:
        _fail(str(exc))
    how = "already built" if built else f"built in {time.perf_counter() - started:.1f} s; every start reuses it"
    typer.echo(f"reader: ONNX file ready in {files.model.parent} ({how})")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    top_k: Annotated[int | None, typer.Option(min=1, max=20, help="Passages to retrieve (default QA_TOP_K).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the same JSON as POST /ask.")] = False,
    url: Annotated[
        str | None,
        typer.Option(help="Ask the server at this URL (default: the one at QA_HOST:QA_PORT, if it is running)."),
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Answer in this process from QA_INDEX_DIR even if a server is running.")
    ] = False,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Also print the candidate sentences weighed and why one won.")
    ] = False,
) -> None:
    """Ask one question: through a running server when there is one (fast), else in this process.

    --since, --until and --source answer from those articles only (a month, one outlet)."""
    from qa_service.cli import remote

    question = question.strip()
    if not question:
        _fail("the question is empty", 2)
    if url is not None and local:
        _fail("--url and --local exclude each other", 2)
    settings = get_settings()
    top_k = top_k or settings.top_k
    filters = _filters(since, until, source)
    if url is None and not local:
        default = remote.configured_url(settings)
        url = default if remote.server_answers(default) else None
    labels: dict[str, DocumentSummary] = {}
    if url is not None:
        try:
            wanted = filters.model_dump(exclude_none=True) if filters.active else None
            body = remote.ask_remote(url, question, top_k, api_key=settings.api_key, filters=wanted, explain=explain)
            answer = Answer.model_validate(body)
            if not as_json:
                labels = remote.summaries(url, related_doc_ids(answer), api_key=settings.api_key)
        except remote.RemoteError as exc:
            _fail(str(exc))
        where = f"answered by the server at {url}"
    else:
        service = _service(settings)
        answer = service.ask(question, top_k, filters=filters, explain=explain)
        body = answer.model_dump()
        labels = {doc_id: service.summary(doc_id) for doc_id in related_doc_ids(answer)}
        where = f"answered in this process from {settings.index_dir}/"
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        for line in answer_lines(answer, labels):
            typer.echo(line)
        if answer.explanation is not None:
            for line in explanation_lines(answer.explanation):
                typer.echo(line)
    typer.echo(f"confidence {body['confidence']:.2f}; {where}", err=True)


GATES_PANEL = "Quality gates (exit status 1 when one is not met)"


def _with_gate_options(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` one `--min-*`/`--max-*` option per entry of `evaluation.gates.GATES`.

    Typer builds options from the function's signature, so the gates are appended to it; their values arrive
    in `**limits` under each gate's parameter name.
    """
    from qa_service.evaluation.gates import GATES

    signature = inspect.signature(command, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    for gate in GATES:
        option = typer.Option(gate.flag, help=gate.help, rich_help_panel=GATES_PANEL)
        kind = int if gate.integer else float
        params.append(
            inspect.Parameter(
                gate.param, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind | None, option]
            )
        )
    command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return command


def _measures() -> str:
    from qa_service.evaluation.measures import measures_help

    return "What the summary's figures mean:\n\n" + measures_help()


@app.command("eval", epilog=_measures())
@_with_gate_options
def eval_command(
    file: Annotated[Path, typer.Argument(help="Question set: seed JSONL or a SQuAD v1.1/v2.0 JSON file.")],
    fmt: Annotated[str, typer.Option("--format", help="seed, squad, or auto (detect from the file).")] = "auto",
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the full report (JSON) here.")] = None,
    top_k: Annotated[
        int | None, typer.Option(min=1, max=20, help="Passages per answer, as in POST /ask (default QA_TOP_K).")
    ] = None,
    corpus: Annotated[
        Path | None, typer.Option(help="Seed format: folder of articles to index (default QA_SEEDS_DIR).")
    ] = None,
    rows: Annotated[str, typer.Option(help="Per-question rows: all, failures, none, auto (all up to 100).")] = "auto",
    progress: Annotated[bool, typer.Option(help="Progress bars on stderr.")] = True,
    sweep: Annotated[
        bool, typer.Option(help="Also show what each min_score threshold would give (asks abstained questions again).")
    ] = False,
    plot: Annotated[
        bool, typer.Option(help="With --json, also draw the report as a PNG beside it (needs matplotlib).")
    ] = True,
    **limits: float | None,
) -> None:
    """Run a question set through the same code as POST /ask, on a temporary index, and score it."""
    from qa_service import evaluation

    if rows not in evaluation.ROWS:
        _fail(f"--rows must be one of {', '.join(evaluation.ROWS)}, got {rows!r}", 2)
    settings = get_settings()
    try:
        eval_set = evaluation.load_eval_set(file, fmt, corpus or settings.seeds_dir)
        report = evaluation.run_eval(eval_set, settings, top_k=top_k, progress=progress, sweep=sweep)
    except evaluation.EvalInputError as exc:
        _fail(str(exc), 2)
    except (QAServiceError, RuntimeError) as exc:
        _fail(str(exc))
    for line in evaluation.format_summary(report):
        typer.echo(line)
    shown = evaluation.format_rows(report, rows)
    if shown:
        typer.echo("")
    for line in shown:
        typer.echo(line)
    if json_path is not None:
        evaluation.write_report(report, json_path)
        typer.echo(f"report written to {json_path}")
        if plot:
            _plot(report, json_path.with_suffix(".png"))
    by_metric = {gate.metric: limits.get(gate.param) for gate in evaluation.GATES}
    failures = evaluation.check_thresholds(report["metrics"], by_metric)
    if failures:
        typer.secho(f"FAILED: {len(failures)} threshold(s) not met:", fg=typer.colors.RED, err=True)
        for failure in failures:
            typer.secho(f"  - {failure}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    if any(value is not None for value in by_metric.values()):
        typer.echo("all thresholds met")


def _plot(report: dict[str, Any], path: Path) -> None:
    from qa_service.evaluation.plot import plot_available, write_plot

    if not plot_available():
        typer.echo("no plot: matplotlib is not installed (pip install matplotlib, or .[dev])")
        return
    write_plot(report, path)
    typer.echo(f"plot written to {path}")


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
    from qa_service.ingest.indexer import complete_stored
    from qa_service.store.embedded import EmbeddedStore
    from qa_service.store.migrate import migrate_to_milvus

    settings = get_settings()
    try:
        if EmbeddedStore.exists(settings.index_dir):  # labels and sentence terms an earlier version did not store
            source = EmbeddedStore(settings.index_dir, EmbeddedStore.stored_config(settings.index_dir)).open()
            try:
                complete_stored(source)
            finally:
                source.close()
        report = migrate_to_milvus(settings, batch=batch)
    except QAServiceError as exc:
        _fail(str(exc))
    typer.echo(
        f"copied {report.copied} documents ({report.chunks} chunks, {report.sentences} sentences), "
        f"{report.unchanged} already there, in {report.seconds:.1f} s into {settings.milvus_location} "
        f"(collections {settings.milvus_prefix}_*); serve it with QA_STORE=milvus"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
