"""The document commands: `ingest` (files, folders, pages and feeds as one stream), `list` and `delete`.

The work is done in `ingest/` and `service`, imported inside each command so `--help` is instant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qa_service.cli.shared import (
    SinceOption,
    SourceOption,
    UntilOption,
    count,
    fail,
    filters_from,
    load_service,
    print_skipped,
)
from qa_service.config import Settings, get_settings
from qa_service.errors import QAServiceError
from qa_service.schemas import IngestReport

if TYPE_CHECKING:
    from qa_service.service import QAService


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
        fail("give files, folders or URLs to ingest, or --feed URL", 2)
    urls = [s for s in sources if is_url(s)]
    paths = [Path(s) for s in sources if not is_url(s)]
    missing = [str(p) for p in paths if not p.exists()]
    missing += [f for f in feeds if not is_url(f) and not Path(f).exists()]
    if missing:
        fail(f"no such file or folder: {', '.join(missing)}", 2)
    settings = get_settings()
    service = load_service(settings, reset=rebuild)
    try:
        report = _ingest_all(service, settings, paths, urls, feeds, follow_links=not no_follow)
        stats = service.stats()
    except QAServiceError as exc:  # a full disk: what was committed stays, the same command resumes
        fail(str(exc))
    finally:
        service.close()
    print_skipped(report.errors)
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
                f"\ninterrupted: {count(saved, 'article')} saved by this run. Run the same command again to go on: "
                "what is saved is skipped.",
                fg=typer.colors.YELLOW,
                err=True,
            )
            raise typer.Exit(130) from None


def ingest_summary(report: IngestReport, stats: Mapping[str, int], index_dir: Path) -> str:
    """One line: what this run did, then what the index holds now."""
    counts = report.counts  # a bulk ingest keeps counts, not ids
    done = [
        f"{counts.get('added', 0)} added",
        f"{counts.get('replaced', 0)} replaced",
        f"{counts.get('unchanged', 0)} unchanged",
        count(len(report.duplicates), "duplicate"),
        count(len(report.errors), "error"),
    ]
    if report.conflicts:
        done.append(f"{len(report.conflicts)} not replaced")
    held = f"{count(stats['documents'], 'document')}, {count(stats['chunks'], 'chunk')}"
    return f"{', '.join(done)}. The index in {index_dir}/ now holds {held}."


def list_command(
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the same JSON as GET /documents.")] = False,
) -> None:
    """List the indexed articles (id, date, outlet, title or opening words), in the order added, and the outlets."""
    filters = filters_from(since, until, source)
    service = load_service(get_settings())
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
    typer.echo(f"{count(len(documents), 'article')}" + (f" ({counts})" if counts else ""), err=True)


def delete(
    doc_ids: Annotated[list[str], typer.Argument(help="Ids of the articles to remove (as `list` shows them).")],
) -> None:
    """Remove articles and everything derived from them from the index (exit status 1 if one was not there)."""
    service = load_service(get_settings())
    try:
        deleted = service.delete_documents(doc_ids)
        stats = service.stats()
    finally:
        service.close()
    missing = [d for d in dict.fromkeys(doc_ids) if d not in deleted]
    for doc_id in missing:
        typer.secho(f"not found: {doc_id}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"{count(len(deleted), 'article')} deleted; the index holds {count(stats['documents'], 'document')}.")
    if missing:
        raise typer.Exit(1)
