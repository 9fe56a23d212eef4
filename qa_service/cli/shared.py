"""What every command group shares: the error exit, the loaded service, the filter options, counted nouns.

Kept apart from the commands so each group's module holds only its own options and messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from qa_service.config import Settings
from qa_service.errors import QAServiceError
from qa_service.schemas import Filters

if TYPE_CHECKING:
    from qa_service.service import QAService


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def load_service(settings: Settings, *, reset: bool = False) -> QAService:
    """The loaded service; imported here, not at the top, so `--help` is instant."""
    from qa_service.service import QAService

    try:
        return QAService(settings).load(reset=reset)
    except (QAServiceError, RuntimeError, ValueError) as exc:
        fail(str(exc))


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def print_skipped(errors: Mapping[str, str]) -> None:
    """`skipped PATH: why`; the reason often starts with the path too, which is said once."""
    for name, error in errors.items():
        typer.secho(f"skipped {name}: {error.removeprefix(f'{name}: ')}", fg=typer.colors.YELLOW, err=True)


SinceOption = Annotated[
    str | None, typer.Option(help="Only articles published on or after this day (2025-09-01, 'Sept. 1, 2025').")
]
UntilOption = Annotated[str | None, typer.Option(help="Only articles published on or before this day.")]
SourceOption = Annotated[list[str] | None, typer.Option(help="Only this outlet (as `list` shows it); repeatable.")]


def filters_from(since: str | None, until: str | None, sources: list[str] | None) -> Filters:
    """Filters from the command line's options; a date in any form news prints is read, a bad one is refused."""
    from pydantic import ValidationError

    from qa_service.ingest.converters.dates import parse_date

    days = {}
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            days[name] = parse_date(value)
            if days[name] is None:
                fail(f"--{name} {value!r} is not a date (e.g. 2025-09-01)", 2)
    try:
        return Filters(date_from=days.get("since"), date_to=days.get("until"), sources=sources or None)
    except ValidationError as exc:
        fail(f"the filters do not fit together: {exc.errors()[0]['msg']}", 2)
