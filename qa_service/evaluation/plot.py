"""The report as a picture, a PNG beside the JSON: where retrieval ranked each question's article, and what each
QA_MIN_SCORE would give (the sweep as two curves). A table of eleven thresholds is harder to read than the curve.

matplotlib is an optional dev dependency (in `.[dev]`): without it `qa-service eval` makes no plot and says so.
Only matplotlib's object interface is used (no pyplot), so nothing global is touched and no display is needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

RANKS_SHOWN = 10  # the retrieval depth of the evaluation (RETRIEVAL_DEPTH): a later rank counts as not found


def plot_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def rank_counts(report: dict[str, Any]) -> tuple[list[str], list[int]]:
    """Bars of the rank histogram: ranks 1..10, then the questions whose article was not among the first 10."""
    ranks = [q["gold_rank"] for q in report["questions"] if q["answerable_gold"] and q["gold_doc_ids"]]
    labels = [str(rank) for rank in range(1, RANKS_SHOWN + 1)] + ["none"]
    counts = [sum(1 for r in ranks if r == rank) for rank in range(1, RANKS_SHOWN + 1)]
    counts.append(sum(1 for r in ranks if r is None or r > RANKS_SHOWN))
    return labels, counts


def write_plot(report: dict[str, Any], path: Path) -> Path:
    """Draw the report into `path` (PNG); returns it."""
    from matplotlib.figure import Figure

    sweep = report.get("threshold_sweep") or []
    metrics = report["metrics"]
    figure = Figure(figsize=(11 if sweep else 6, 4.2), dpi=110, layout="constrained")
    axes = figure.subplots(1, 2 if sweep else 1, squeeze=False)[0]

    labels, counts = rank_counts(report)
    bars = axes[0].bar(labels, counts, color=["#2b6cb0"] * RANKS_SHOWN + ["#c53030"])
    axes[0].bar_label(bars, labels=[str(c) if c else "" for c in counts], fontsize=8)
    axes[0].set_title(
        f"Retrieval: rank of the question's article (n={sum(counts)})\n"
        f"hit@1 {_share(metrics.get('hit_at_1'))}, MRR@10 {_share(metrics.get('mrr_at_10'))}",
        fontsize=10,
    )
    axes[0].set_xlabel(f"rank among the articles retrieved (none: not in the first {RANKS_SHOWN})")
    axes[0].set_ylabel("answerable questions")

    if sweep:
        chart = axes[1]
        scores = [row["min_score"] for row in sweep]
        for key, name, colour in (
            ("accuracy", "answerable questions answered right", "#2b6cb0"),
            ("abstain_recall", "unanswerable questions abstained on", "#c05621"),
        ):
            values = [float("nan") if row[key] is None else row[key] for row in sweep]  # None: nothing to measure
            if any(row[key] is not None for row in sweep):
                chart.plot(scores, values, "o-", color=colour, label=name)
        configured = report["config"]["min_score"]
        chart.axvline(configured, color="#4a5568", linestyle="--", linewidth=1)
        chart.annotate(
            f"QA_MIN_SCORE {configured:g}",
            (configured, 1.03),
            xytext=(4, 0),
            textcoords="offset points",
            ha="left",
            fontsize=8,
            color="#4a5568",
        )
        chart.set_ylim(0, 1.08)
        chart.set_xlabel("QA_MIN_SCORE (abstain below this confidence)")
        chart.set_ylabel("share")
        chart.set_title("What each threshold would give", fontsize=10)
        chart.grid(alpha=0.3)
        chart.legend(fontsize=8, loc="lower left")

    info = report["set"]
    figure.suptitle(
        f"{info['name']}: {metrics['questions']} questions, top_k {report['config']['top_k']}, "
        f"code {report['config'].get('code_version') or '?'}",
        fontsize=11,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
