"""What each figure of an evaluation's summary means, one line each: `qa-service eval --help` and the README.

Apart from `evaluation/` (whose package imports the runner, httpx and more) so that the command line, which puts
these lines in its help, starts without importing the evaluation.
"""

from __future__ import annotations

MEASURES: tuple[tuple[str, str], ...] = (
    ("hit@1, @3, @5", "share of answerable questions whose article is the first (in the first 3, 5) retrieved"),
    ("MRR@10", "mean of 1/rank of the question's article among the first 10 retrieved (0 if absent; 1 = always first)"),
    ("gold in answer context", "share whose article is among the passages the answer was drawn from"),
    ("accuracy", "share of answerable questions whose answer contains a right answer (whole words, SQuAD-normalised)"),
    ("span EM / F1", "the short answer (bold on the page) against the right answers: exact match / word-overlap F1"),
    (
        "squad-style EM / F1",
        "SQuAD's own scoring over all questions: short answer (else the answer); abstaining "
        "on an unanswerable question scores 1",
    ),
    ("first citation in gold docs", "share of answered answerable questions whose first citation is the right article"),
    ("quotes exact", "share of quotes equal to the article text at their offsets; anything under 1.000 is a bug"),
    (
        "abstention precision / recall",
        "of the abstentions, the share on unanswerable questions / of the "
        "unanswerable questions, the share abstained on",
    ),
    ("false abstentions / answers", "answerable questions abstained on / unanswerable questions answered"),
    ("latency p50 / p95", "wall-clock time of one ask in this process (no HTTP): median / 95th percentile"),
    ("min_score sweep", "what each QA_MIN_SCORE would give, from the same answers (asked again without a threshold)"),
)
"""One line per measure of the summary, for `qa-service eval --help` and the README. Not printed: the whole answer
sentence scored by exact match against a few-word right answer (about 0 by design); the JSON keeps it
(`em_answer`, `f1_answer`)."""


def measures_help() -> str:
    """The measures as `--help` shows them (one paragraph each, so the help keeps its lines)."""
    return "\n\n".join(f"{name}: {meaning}." for name, meaning in MEASURES)
