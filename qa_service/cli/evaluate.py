"""`eval`: a question set scored through the same code as POST /ask, with one option per quality gate.

Typer reads a command from its function's signature, so the gates are added to `eval_command`'s signature here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from qa_service.cli.shared import fail
from qa_service.config import get_settings
from qa_service.errors import QAServiceError

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


def measures_epilog() -> str:
    from qa_service.evaluation.measures import measures_help

    return "What the summary's figures mean:\n\n" + measures_help()


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
        fail(f"--rows must be one of {', '.join(evaluation.ROWS)}, got {rows!r}", 2)
    settings = get_settings()
    try:
        eval_set = evaluation.load_eval_set(file, fmt, corpus or settings.seeds_dir)
        report = evaluation.run_eval(eval_set, settings, top_k=top_k, progress=progress, sweep=sweep)
    except evaluation.EvalInputError as exc:
        fail(str(exc), 2)
    except (QAServiceError, RuntimeError) as exc:
        fail(str(exc))
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
