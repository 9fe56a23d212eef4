"""`qa-service` command line: ingest, serve, ask (and eval/bench, which live in their own modules)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from qa_service.config import Settings, get_settings
from qa_service.errors import QAServiceError

app = typer.Typer(help="Question answering over your news articles, with exact citations.", no_args_is_help=True)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _service(settings: Settings):  # noqa: ANN202 - imported lazily so `--help` is instant
    from qa_service.service import QAService

    try:
        return QAService(settings).load()
    except (QAServiceError, RuntimeError) as exc:
        _fail(str(exc))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Article files (.txt, .md) or folders of them.")],
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start a new index from these files only.")] = False,
) -> None:
    """Add articles to the index (re-ingesting an unchanged file does nothing)."""
    settings = get_settings()
    service = _service(settings)
    report = service.ingest_paths(paths, rebuild=rebuild, progress=True)
    for name, error in report.errors.items():
        typer.secho(f"skipped {name}: {error}", fg=typer.colors.YELLOW, err=True)
    for doc_id, original in report.duplicates.items():
        typer.secho(f"duplicate: {doc_id} has the same text as {original}; not added", fg=typer.colors.YELLOW, err=True)
    stats = service.stats()
    typer.echo(
        f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
        f"duplicates {len(report.duplicates)}, errors {len(report.errors)}; "
        f"index {settings.index_dir}: {stats['documents']} documents, {stats['chunks']} chunks"
    )
    if report.errors:
        raise typer.Exit(1)


def ensure_index(settings: Settings) -> None:
    """First start: build the index from the seeds folder so `serve` works out of the box."""
    from qa_service.store import IndexStore

    if IndexStore(settings.index_dir).current_name() is not None:
        return
    seeds = settings.seeds_dir
    if seeds.is_dir() and any(seeds.iterdir()):
        typer.echo(f"no index in {settings.index_dir}: building it from {seeds}/ ...", err=True)
        report = _service(settings).ingest_paths([seeds])
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
        log_level=os.environ.get("QA_LOG_LEVEL", "info").lower(),
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
            typer.echo(f"  [{c.id}] {c.doc_id} ({c.title or 'untitled'}, {c.date or 'undated'}) chars {c.start}-{c.end}")
    typer.echo(f"confidence {answer.confidence:.2f}", err=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
