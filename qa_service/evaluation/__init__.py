"""The evaluation: ask a question set through `QAService.ask` (the code path of `/ask`) and score it.

| module | concern |
| --- | --- |
| `data` | question sets: seed JSONL over a folder of articles, SQuAD v1.1/v2.0 JSON |
| `matching` | does an answer say a gold answer (SQuAD normalisation, EM, F1, containment) |
| `metrics` | per-question scores and the set's figures, the min_score sweep |
| `runner` | a temporary index, every question asked, the JSON report |
| `report` | the report as text |
| `gates` | the quality gates (`--min-accuracy` ...) the command line and CI check |
"""

from qa_service.evaluation.data import EvalInputError, EvalItem, EvalSet, detect_format, load_eval_set, squad_doc_id
from qa_service.evaluation.gates import GATES, Gate, check_thresholds
from qa_service.evaluation.matching import best_of, contains_answer, exact_match, normalize_answer, token_f1
from qa_service.evaluation.metrics import (
    QuestionResult,
    compute_metrics,
    doc_ranking,
    first_gold_rank,
    percentile,
    score_question,
    threshold_sweep,
)
from qa_service.evaluation.report import ROWS, format_rows, format_summary
from qa_service.evaluation.runner import RETRIEVAL_DEPTH, run_eval, write_report

__all__ = [
    "GATES",
    "RETRIEVAL_DEPTH",
    "ROWS",
    "EvalInputError",
    "EvalItem",
    "EvalSet",
    "Gate",
    "QuestionResult",
    "best_of",
    "check_thresholds",
    "compute_metrics",
    "contains_answer",
    "detect_format",
    "doc_ranking",
    "exact_match",
    "first_gold_rank",
    "format_rows",
    "format_summary",
    "load_eval_set",
    "normalize_answer",
    "percentile",
    "run_eval",
    "score_question",
    "squad_doc_id",
    "threshold_sweep",
    "token_f1",
    "write_report",
]
