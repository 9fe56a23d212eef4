"""The report as text: a summary of the metrics, each explained once (`MEASURES`), then one line per question.

The summary comes first and the rows after it: a SQuAD run has hundreds of wrong answers, and a user reads the
summary first. `auto` rows are all of them up to 100 questions, else the first `AUTO_FAILURES` wrong ones.
"""

from __future__ import annotations

import math
from typing import Any

from qa_service.evaluation.measures import MEASURES, measures_help

__all__ = ["MEASURES", "ROWS", "format_rows", "format_summary", "measures_help"]

ROWS = ("auto", "all", "failures", "none")
"""Which per-question lines to print; `auto` is all of them up to 100 questions, else the first wrong ones."""
AUTO_ALL_UP_TO = 100
AUTO_FAILURES = 20


def fmt(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def clip(text: str | None, width: int) -> str:
    if text is None:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_rows(report: dict[str, Any], rows: str = "auto") -> list[str]:
    """Compact per-question lines: all of them, only the wrong ones, or none (`auto`: all up to 100)."""
    if rows not in ROWS:
        raise ValueError(f"rows must be one of {', '.join(ROWS)}, got {rows!r}")
    questions = report["questions"]
    limit = None
    if rows == "auto":
        rows = "all" if len(questions) <= AUTO_ALL_UP_TO else "failures"
        limit = None if rows == "all" else AUTO_FAILURES
    if rows == "none":
        return []
    shown = [q for q in questions if rows == "all" or not q["right"]]
    if rows == "failures" and not shown:
        return [f"all {len(questions)} questions right"]
    wrong = len(shown)
    shown = shown[:limit]
    width = max([len("id")] + [len(q["id"]) for q in shown])
    lines = [f"{'id':<{width}}  {'result':<7} {'rank':>4} {'conf':>5} {'ms':>6}  «answer span» answer  [expected]"]
    for q in shown:
        if q["right"]:
            result = "ok" if q["answerable_gold"] else "ok-abst"
        elif not q["answerable"]:
            result = "ABSTAIN"
        else:
            result = "WRONG"
        rank = "-" if q["gold_rank"] is None else str(q["gold_rank"])
        expected = " | ".join(q["expected"]) if q["expected"] else "unanswerable"
        answer = clip(q["answer"], 60)
        if q["answer_span"] is not None:
            answer = f"«{clip(q['answer_span'], 25)}» {answer}"
        line = f"{q['id']:<{width}}  {result:<7} {rank:>4} {q['confidence']:>5.2f} {q['latency_ms']:>6.0f}  {answer}"
        if not q["right"]:
            line += f"  [{clip(expected, 50)}]"
        lines.append(line)
    if rows == "failures" and len(shown) < wrong:
        lines.insert(0, f"{wrong} of {len(questions)} questions wrong; the first {len(shown)} (--rows failures: all):")
    elif rows == "failures":
        lines.insert(0, f"{wrong} of {len(questions)} questions wrong (only those shown):")
    return lines


def format_summary(report: dict[str, Any]) -> list[str]:
    m, index, info = report["metrics"], report["index"], report["set"]
    pct = fmt
    lines = [
        f"== {info['name']} ({info['format']}{', SQuAD ' + info['squad_version'] if 'squad_version' in info else ''}) "
        f"top_k={report['config']['top_k']} model={report['config']['embedding_model']} "
        f"answers={report['config'].get('answer_backend', '?')} "
        f"code={report['config']['code_version'] or '?'}",
        f"index (temporary)  {index['documents']} documents, {index['chunks']} chunks, {index['sentences']} sentences; "
        f"built in {index['build_s']:.1f} s (model load {index['model_load_s']:.1f} s)",
        f"questions          {m['questions']}: {m['answerable']} answerable, {m['unanswerable']} unanswerable; "
        f"answered {m['answered']}, abstained {m['abstained']}; right overall {pct(m['right'])}",
        f"retrieval          hit@1 {pct(m['hit_at_1'])}  hit@3 {pct(m['hit_at_3'])}  hit@5 {pct(m['hit_at_5'])}  "
        f"MRR@10 {pct(m['mrr_at_10'])}  gold in answer context {pct(m['context_hit'])}  "
        f"(n={m['retrieval_questions']})",
        f"answers            accuracy {pct(m['accuracy'])}  span EM {pct(m['em_span'])} F1 {pct(m['f1_span'])} "
        f"(a short answer on {pct(m['span_coverage'])} of answers)",
        f"squad-style        EM {pct(m['squad_em'])}  F1 {pct(m['squad_f1'])}  (all questions; span else answer)",
        f"citations          first citation in gold docs {pct(m['citation_doc'])}  "
        f"quotes exact {pct(m['quote_exact'])} of {m['quotes']}  span offsets exact {pct(m['span_offsets_exact'])}",
        f"abstention         precision {pct(m['abstain_precision'])}  recall {pct(m['abstain_recall'])}  "
        f"false abstentions {m['false_abstentions']}  false answers {m['false_answers']}",
        f"latency            p50 {fmt(m['latency_p50_ms'], 1)} ms  p95 {fmt(m['latency_p95_ms'], 1)} ms "
        "(ask, wall clock)",
    ]
    if m.get("by_kind"):
        kinds = "  ".join(f"{kind} {pct(v['right'])} ({v['n']})" for kind, v in m["by_kind"].items())
        lines.append(f"by kind            right: {kinds}")
    if m.get("differs_flagged") is not None:
        lines.append(
            f"differs            reports that differ flagged on {pct(m['differs_flagged'])} of 'differs' questions"
        )
    if report.get("threshold_sweep"):
        lines.append("min_score sweep    min_score  answerable right  unanswerable abstained  false abstentions")
        for row in report["threshold_sweep"]:
            mark = " <- configured" if math.isclose(row["min_score"], report["config"]["min_score"]) else ""
            lines.append(
                f"{'':19}{row['min_score']:>9.2f}  {pct(row['accuracy']):>16}  {pct(row['abstain_recall']):>22}  "
                f"{row['false_abstentions']:>17}{mark}"
            )
    lines += [f"note               {note}" for note in info["notes"]]
    lines.append("what each figure means: qa-service eval --help")
    return lines
