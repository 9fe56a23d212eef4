"""Quality gates: limits on the report's metrics that make `qa-service eval` exit 1 (CI's `make eval-check`).

`GATES` is the one list of them: the command line builds its `--min-*`/`--max-*` options from it and
`check_thresholds` checks the same entries, so a new gate is one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from qa_service.evaluation.report import fmt


@dataclass(frozen=True)
class Gate:
    name: str  # the option without its direction: "accuracy" gives --min-accuracy
    metric: str  # key in the report's `metrics`
    direction: Literal["min", "max"]
    what: str  # for the help text: "Fail below this <what>."
    integer: bool = False  # a count (false abstentions) rather than a share or a time

    @property
    def flag(self) -> str:
        return f"--{self.direction}-{self.name}"

    @property
    def param(self) -> str:
        """The Python parameter name the command line gives this option."""
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def help(self) -> str:
        return f"Fail {'below' if self.direction == 'min' else 'above'} this {self.what}."


GATES: tuple[Gate, ...] = (
    Gate("accuracy", "accuracy", "min", "answer accuracy"),
    Gate("hit-at-1", "hit_at_1", "min", "retrieval hit@1"),
    Gate("hit-at-3", "hit_at_3", "min", "retrieval hit@3"),
    Gate("hit-at-5", "hit_at_5", "min", "retrieval hit@5"),
    Gate("mrr", "mrr_at_10", "min", "MRR@10"),
    Gate("span-em", "em_span", "min", "answer-span exact match"),
    Gate("span-f1", "f1_span", "min", "answer-span token F1"),
    Gate("citation-doc", "citation_doc", "min", "share of first citations in a gold document"),
    Gate("quote-exact", "quote_exact", "min", "share of exact quotes"),
    Gate("abstain-precision", "abstain_precision", "min", "abstention precision"),
    Gate("abstain-recall", "abstain_recall", "min", "abstention recall"),
    Gate("false-abstentions", "false_abstentions", "max", "many abstentions on answerable questions", integer=True),
    Gate("false-answers", "false_answers", "max", "many answers to unanswerable questions", integer=True),
    Gate("p95-ms", "latency_p95_ms", "max", "p95 latency of ask (ms)"),
)


def check_thresholds(metrics: Mapping[str, Any], limits: Mapping[str, float | None]) -> list[str]:
    """One line per broken limit (`limits` keyed by metric name); a metric that could not be measured breaks it."""
    unknown = set(limits) - {gate.metric for gate in GATES}
    if unknown:
        raise ValueError(f"no quality gate for {', '.join(sorted(unknown))}")
    failures = []
    for gate in GATES:
        limit = limits.get(gate.metric)
        if limit is None:
            continue
        value = metrics.get(gate.metric)
        if value is None:
            failures.append(f"{gate.metric} could not be measured on this set (n/a), {gate.flag} {limit:g}")
        elif gate.direction == "min" and value < limit:
            failures.append(f"{gate.metric} {fmt(value)} is below the minimum {limit:g} ({gate.flag})")
        elif gate.direction == "max" and value > limit:
            failures.append(f"{gate.metric} {fmt(value)} is above the maximum {limit:g} ({gate.flag})")
    return failures
