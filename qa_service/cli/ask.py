"""`ask`: one question, through a running server when there is one, else in this process."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from qa_service.cli.answer_text import answer_lines, explanation_lines, related_doc_ids
from qa_service.cli.shared import SinceOption, SourceOption, UntilOption, fail, filters_from, load_service
from qa_service.config import get_settings
from qa_service.schemas import Answer, DocumentSummary


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
        fail("the question is empty", 2)
    if url is not None and local:
        fail("--url and --local exclude each other", 2)
    settings = get_settings()
    top_k = top_k or settings.top_k
    filters = filters_from(since, until, source)
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
            fail(str(exc))
        where = f"answered by the server at {url}"
    else:
        service = load_service(settings)
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
