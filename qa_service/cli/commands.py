"""`qa-service` command line: the Typer app and its commands, in the order `--help` lists them.

Each command group lives in its own module (`documents`: ingest, list, delete; `serve`; `ask`; `evaluate`: eval;
`admin`: prepare, migrate) with its options and messages; the work is done elsewhere (`ingest/`, `service`,
`remote`, `answer_text`, `evaluation`, `store.migrate`), imported inside each command so `--help` is instant (a test
checks that it loads neither the service nor a model library).
"""

from __future__ import annotations

import typer

from qa_service.cli.admin import migrate, prepare
from qa_service.cli.ask import ask
from qa_service.cli.documents import delete, ingest, list_command
from qa_service.cli.evaluate import eval_command, measures_epilog
from qa_service.cli.serve import serve

app = typer.Typer(help="Question answering over your news articles, with exact citations.", no_args_is_help=True)
app.command()(ingest)
app.command()(serve)
app.command("list")(list_command)
app.command()(delete)
app.command()(prepare)
app.command()(ask)
app.command("eval", epilog=measures_epilog())(eval_command)
app.command()(migrate)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
