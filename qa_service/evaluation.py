"""The evaluation runner: ask a question set through `QAService.ask` (the code path of `/ask`) and score it.

Two input formats:

* seed (JSONL): `{"id", "question", "answers": [acceptable strings], "doc_ids": [supporting doc ids]}` per line;
  `answers: []` marks an unanswerable question. The corpus is a folder of articles (the seeds by default).
* SQuAD (v1.1 or v2.0 JSON): every paragraph becomes one document (`<title>-p007`), every question is asked
  without its paragraph; a v2.0 `is_impossible` question is right only when the service abstains.

The index is always built from scratch in a temporary folder, so an evaluation never reads or changes the
service's own index and two runs of the same code on the same data give the same numbers.

Scoring (all pure functions below, unit-tested on hand-made inputs):

* retrieval, over answerable questions that name gold documents: hit@1/3/5 and MRR@10 of the first gold
  document in the document ranking of `search(question, top_k=10)` (doc ids deduplicated in passage order),
  plus `context_hit`: a gold document is among the passages the answer was actually drawn from (`ask`);
* answers, over answerable questions: `accuracy` (the SQuAD-normalised answer contains a normalised
  acceptable answer as whole words), exact match and token F1 (max over the gold answers) of
  `answer_span.text` and, reported separately, of the full answer; an abstention scores 0;
* citations: `citation_doc` = share of answered answerable questions whose first citation is a gold document;
  `quote_exact` = share of all quotes equal to `document.text[start:end]` (must be 1.0);
* abstention: precision and recall of abstaining on unanswerable questions, false abstentions (answerable
  questions it abstained on) and false answers (unanswerable questions it answered);
* `squad_em` / `squad_f1`: the official SQuAD way over all questions (prediction = answer span, else the
  answer; an unanswerable question scores 1 when the service abstains);
* latency p50/p95 of `ask` (wall clock, ms) and the index build time;
* with `sweep`, every abstained question is asked once more with no threshold, and `threshold_sweep` shows what each
  QA_MIN_SCORE would give: answerable questions answered right, unanswerable ones abstained, false abstentions.
  That is how a deployment picks its threshold (choose on one set, check on another).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa_service.ingest import MAX_DOC_ID_LENGTH, make_document
from qa_service.schemas import Answer, Document, Passage

RETRIEVAL_DEPTH = 10  # passages asked of `search` for hit@k / MRR@10, independent of the answer's top_k
FORMATS = ("auto", "seed", "squad")
SWEEP_THRESHOLDS = (0.0, 0.3, 0.35, 0.4, 0.42, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


class EvalInputError(ValueError):
    """The question file cannot be read as the format it claims (message names the line or field)."""


# ---- question sets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answers: tuple[str, ...]  # acceptable answers; empty = the corpus does not answer it
    doc_ids: tuple[str, ...]  # documents that support an answer (for SQuAD v2 impossible: the paragraph asked on)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class EvalSet:
    name: str
    format: str  # "seed" or "squad"
    path: Path
    items: list[EvalItem]
    documents: list[Document] | None = None  # SQuAD: the paragraphs; seed: None (the corpus folder is ingested)
    corpus_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def detect_format(path: Path) -> str:
    """`squad` for a JSON object with a `data` list of articles holding `paragraphs`, else `seed` (JSONL)."""
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        return "seed"
    articles = data.get("data") if isinstance(data, dict) else None
    if isinstance(articles, list) and any(isinstance(a, dict) and "paragraphs" in a for a in articles):
        return "squad"
    return "seed"


def _string_list(value: Any, where: str, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EvalInputError(f"{where}: `{name}` must be a list of strings, got {value!r}")
    return tuple(value)


def load_seed(path: Path, corpus_dir: Path) -> EvalSet:
    """A JSONL question file over a folder of articles."""
    items: list[EvalItem] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise EvalInputError(f"{where}: not valid JSON ({exc})") from exc
            if not isinstance(row, dict):
                raise EvalInputError(f"{where}: expected a JSON object per line")
            question = row.get("question")
            if not isinstance(question, str) or not question.strip():
                raise EvalInputError(f"{where}: `question` must be a non-empty string")
            item_id = str(row.get("id") or f"line-{number}")
            if item_id in seen:
                raise EvalInputError(f"{where}: duplicate id {item_id!r}")
            seen.add(item_id)
            answers = _string_list(row.get("answers", []), where, "answers")
            doc_ids = _string_list(row.get("doc_ids", []), where, "doc_ids")
            items.append(EvalItem(item_id, question.strip(), answers, doc_ids))
    if not items:
        raise EvalInputError(f"{path}: no questions")
    return EvalSet(name=path.name, format="seed", path=path, items=items, corpus_dir=corpus_dir)


def squad_doc_id(title: str, paragraph_index: int) -> str:
    """`<title>-p007`, reduced to what a doc id may hold ([A-Za-z0-9._-], starting alphanumeric, no '..')."""
    suffix = f"-p{paragraph_index:03d}"
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", title)
    base = re.sub(r"\.{2,}", ".", base).lstrip("._-") or "doc"
    return base[: MAX_DOC_ID_LENGTH - len(suffix)] + suffix


def load_squad(path: Path) -> EvalSet:
    """Every paragraph one document, every question one item; checks the service's cleaning keeps the text."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        articles = data["data"]
    except (ValueError, KeyError, TypeError) as exc:
        raise EvalInputError(f"{path}: not a SQuAD JSON file (a top-level object with a `data` list)") from exc
    documents: list[Document] = []
    items: list[EvalItem] = []
    notes: list[str] = []
    used_ids: set[str] = set()
    changed = 0
    missing_gold = 0
    impossible = 0
    for a, article in enumerate(articles):
        title = str(article.get("title") or f"article-{a}")
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            doc_id = squad_doc_id(title, p)
            if doc_id in used_ids:  # two titles that sanitise alike
                doc_id = squad_doc_id(f"{title}-{a}", p)
            used_ids.add(doc_id)
            context = paragraph["context"]
            document = make_document(context, doc_id, title=title.replace("_", " "), source=path.name)
            if document.text != context:
                changed += 1
                if changed <= 3:
                    notes.append(f"cleaning changed the text of {doc_id} (answers are scored on strings, not offsets)")
            documents.append(document)
            for qa in paragraph.get("qas", []):
                is_impossible = bool(qa.get("is_impossible", False))
                answers = () if is_impossible else tuple(dict.fromkeys(x["text"] for x in qa.get("answers", [])))
                impossible += is_impossible
                missing_gold += sum(1 for answer in answers if answer not in document.text)
                items.append(EvalItem(str(qa["id"]), qa["question"].strip(), answers, (doc_id,)))
    if not items:
        raise EvalInputError(f"{path}: no questions")
    if changed:
        notes.append(f"cleaning changed {changed} of {len(documents)} paragraphs")
    else:
        notes.append(f"cleaned text equals the SQuAD context for all {len(documents)} paragraphs")
    if missing_gold:
        notes.append(f"{missing_gold} gold answers no longer occur verbatim in the cleaned paragraph")
    version = data.get("version") or ("v2.0" if any("is_impossible" in qa for qa in _all_qas(articles)) else "v1.1")
    info = {
        "squad_version": version,
        "articles": len(articles),
        "paragraphs": len(documents),
        "questions": len(items),
        "impossible": impossible,
    }
    return EvalSet(name=path.name, format="squad", path=path, items=items, documents=documents, notes=notes, info=info)


def _all_qas(articles: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for article in articles:
        for paragraph in article.get("paragraphs", []):
            yield from paragraph.get("qas", [])


def load_eval_set(path: Path, fmt: str = "auto", corpus_dir: Path | None = None) -> EvalSet:
    if not path.is_file():
        raise EvalInputError(f"{path}: no such file")
    if fmt not in FORMATS:
        raise EvalInputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "squad":
        return load_squad(path)
    if corpus_dir is None:
        raise EvalInputError("a seed-format question set needs a corpus folder")
    return load_seed(path, corpus_dir)


# ---- scoring primitives ---------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_PUNCTUATION = frozenset(string.punctuation)


def _is_punctuation(char: str) -> bool:
    return char in _ASCII_PUNCTUATION or unicodedata.category(char).startswith("P")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower-case, drop punctuation (also unicode quotes/dashes) and a/an/the, collapse spaces."""
    text = "".join(char for char in text.lower() if not _is_punctuation(char))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_of(metric: Callable[[str, str], float], prediction: str | None, golds: Sequence[str]) -> float:
    """Max over the gold answers; a missing prediction (abstention) scores 0."""
    if prediction is None or not golds:
        return 0.0
    return max(metric(prediction, gold) for gold in golds)


def _split_punctuation(text: str) -> str:
    return "".join(" " if _is_punctuation(char) else char for char in text)


def contains_answer(prediction: str | None, golds: Sequence[str]) -> bool:
    """The normalised prediction holds a normalised gold answer as whole words ("art" is not in "party").

    Checked twice: with SQuAD normalisation (punctuation dropped: "four-day" -> "fourday") and with punctuation
    read as a word break, so "nine" is found in "a nine-member group" and "Bhutto Zardari" in "Bhutto-Zardari".
    """
    if prediction is None:
        return False
    for prepare in (str, _split_punctuation):
        haystack = f" {normalize_answer(prepare(prediction))} "
        if any(needle and f" {needle} " in haystack for needle in (normalize_answer(prepare(g)) for g in golds)):
            return True
    return False


def doc_ranking(passages: Iterable[Passage]) -> list[str]:
    """Document ids in passage order, each once."""
    return list(dict.fromkeys(p.doc_id for p in passages))


def first_gold_rank(ranking: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first gold document, None if none was retrieved."""
    wanted = set(gold)
    return next((rank for rank, doc_id in enumerate(ranking, start=1) if doc_id in wanted), None)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _share(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# ---- per question ---------------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    id: str
    question: str
    expected: list[str]
    gold_doc_ids: list[str]
    answerable_gold: bool
    retrieved_doc_ids: list[str]  # document ranking of search(top_k=RETRIEVAL_DEPTH)
    context_doc_ids: list[str]  # documents of the passages the answer was drawn from (ask, normal top_k)
    gold_rank: int | None
    answer: str | None
    answer_span: str | None
    answerable: bool
    confidence: float
    right: bool  # answerable: normalised answer holds an acceptable one; unanswerable: it abstained
    em_answer: float
    f1_answer: float
    em_span: float | None  # None when the response carried no answer_span
    f1_span: float | None
    first_citation_in_gold: bool | None  # None when not answered or nothing to compare with
    citations: list[dict[str, Any]]
    span_offsets_exact: bool | None
    latency_ms: float
    timings_ms: dict[str, float]

    @property
    def quotes(self) -> int:
        return len(self.citations)

    @property
    def quotes_exact(self) -> int:
        return sum(1 for c in self.citations if c["quote_exact"])


def score_question(
    item: EvalItem,
    answer: Answer,
    retrieved: Sequence[Passage],
    document_text: Callable[[str], str | None],
    latency_ms: float,
) -> QuestionResult:
    """Score one response; `document_text(doc_id)` gives the indexed text (None if the id is unknown)."""
    answered = answer.answerable and answer.answer is not None
    prediction = answer.answer if answered else None
    span = answer.answer_span.text if answered and answer.answer_span is not None else None
    ranking = doc_ranking(retrieved)
    citations = []
    for citation in answer.citations:
        text = document_text(citation.doc_id)
        exact = text is not None and text[citation.start : citation.end] == citation.quote
        citations.append(
            {"doc_id": citation.doc_id, "start": citation.start, "end": citation.end, "quote_exact": exact}
        )
    span_exact = None
    if answered and answer.answer_span is not None and answer.citations:
        text = document_text(answer.citations[0].doc_id)
        s = answer.answer_span
        span_exact = text is not None and text[s.start : s.end] == s.text
    first_in_gold = None
    if answered and item.answerable and item.doc_ids and answer.citations:
        first_in_gold = answer.citations[0].doc_id in item.doc_ids
    elif answered and item.answerable and item.doc_ids:
        first_in_gold = False  # an answer without a citation cannot be checked: count it against
    right = contains_answer(prediction, item.answers) if item.answerable else not answered
    return QuestionResult(
        id=item.id,
        question=item.question,
        expected=list(item.answers),
        gold_doc_ids=list(item.doc_ids),
        answerable_gold=item.answerable,
        retrieved_doc_ids=ranking,
        context_doc_ids=doc_ranking(answer.passages),
        gold_rank=first_gold_rank(ranking, item.doc_ids) if item.doc_ids else None,
        answer=prediction,
        answer_span=span,
        answerable=answered,
        confidence=answer.confidence,
        right=right,
        em_answer=best_of(exact_match, prediction, item.answers),
        f1_answer=best_of(token_f1, prediction, item.answers),
        em_span=best_of(exact_match, span, item.answers) if span is not None else None,
        f1_span=best_of(token_f1, span, item.answers) if span is not None else None,
        first_citation_in_gold=first_in_gold,
        citations=citations,
        span_offsets_exact=span_exact,
        latency_ms=round(latency_ms, 2),
        timings_ms=dict(answer.timings_ms),
    )


def threshold_sweep(
    points: Sequence[tuple[float, bool, bool]], thresholds: Sequence[float] = SWEEP_THRESHOLDS
) -> list[dict[str, Any]]:
    """Per threshold, from (confidence, answerable in gold, right if answered) of the unthresholded answers."""
    answerable = [(c, right) for c, gold, right in points if gold]
    unanswerable = [c for c, gold, _ in points if not gold]
    return [
        {
            "min_score": t,
            "accuracy": _share(sum(1 for c, right in answerable if right and c >= t), len(answerable)),
            "abstain_recall": _share(sum(1 for c in unanswerable if c < t), len(unanswerable)),
            "false_abstentions": sum(1 for c, _ in answerable if c < t),
        }
        for t in thresholds
    ]


# ---- overall --------------------------------------------------------------------------------------------


def compute_metrics(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Overall figures; a share with nothing to measure it on is None (shown as n/a), never 0 or 1."""
    answerable = [r for r in results if r.answerable_gold]
    unanswerable = [r for r in results if not r.answerable_gold]
    with_gold_docs = [r for r in answerable if r.gold_doc_ids]
    abstained = [r for r in results if not r.answerable]
    answered_answerable = [r for r in answerable if r.answerable]
    any_span = any(r.answer_span is not None for r in results)
    cited = [r for r in answered_answerable if r.first_citation_in_gold is not None]
    quotes = sum(r.quotes for r in results)
    spans_checked = [r for r in results if r.span_offsets_exact is not None]
    abstained_right = sum(1 for r in unanswerable if not r.answerable)

    def hit(k: int) -> float | None:
        return _share(
            sum(1 for r in with_gold_docs if r.gold_rank is not None and r.gold_rank <= k), len(with_gold_docs)
        )

    def squad_score(r: QuestionResult, metric: Callable[[str, str], float]) -> float:
        if not r.answerable_gold:
            return float(not r.answerable)
        return best_of(metric, r.answer_span if r.answer_span is not None else r.answer, r.expected)

    latencies = [r.latency_ms for r in results]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answered": len(results) - len(abstained),
        "abstained": len(abstained),
        "right": _share(sum(1 for r in results if r.right), len(results)),
        # retrieval
        "retrieval_questions": len(with_gold_docs),
        "hit_at_1": hit(1),
        "hit_at_3": hit(3),
        "hit_at_5": hit(5),
        "mrr_at_10": _share(
            sum(1 / r.gold_rank for r in with_gold_docs if r.gold_rank is not None and r.gold_rank <= 10),
            len(with_gold_docs),
        ),
        "context_hit": _share(
            sum(1 for r in with_gold_docs if set(r.context_doc_ids) & set(r.gold_doc_ids)), len(with_gold_docs)
        ),
        # answers
        "accuracy": _share(sum(1 for r in answerable if r.right), len(answerable)),
        "em_span": _share(sum(r.em_span or 0.0 for r in answerable), len(answerable)) if any_span else None,
        "f1_span": _share(sum(r.f1_span or 0.0 for r in answerable), len(answerable)) if any_span else None,
        "span_coverage": _share(
            sum(1 for r in answered_answerable if r.answer_span is not None), len(answered_answerable)
        ),
        "em_answer": _share(sum(r.em_answer for r in answerable), len(answerable)),
        "f1_answer": _share(sum(r.f1_answer for r in answerable), len(answerable)),
        "squad_em": _share(sum(squad_score(r, exact_match) for r in results), len(results)),
        "squad_f1": _share(sum(squad_score(r, token_f1) for r in results), len(results)),
        # citations
        "citation_doc": _share(sum(1 for r in cited if r.first_citation_in_gold), len(cited)),
        "quotes": quotes,
        "quote_exact": _share(sum(r.quotes_exact for r in results), quotes),
        "span_offsets_exact": _share(sum(1 for r in spans_checked if r.span_offsets_exact), len(spans_checked)),
        # abstention
        "abstain_precision": _share(abstained_right, len(abstained)),
        "abstain_recall": _share(abstained_right, len(unanswerable)),
        "false_abstentions": sum(1 for r in answerable if not r.answerable),
        "false_answers": sum(1 for r in unanswerable if r.answerable),
        # speed
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }


@dataclass(frozen=True)
class Threshold:
    option: str  # CLI option name
    metric: str  # key in compute_metrics
    kind: str  # "min" or "max"


THRESHOLDS = (
    Threshold("--min-accuracy", "accuracy", "min"),
    Threshold("--min-hit-at-1", "hit_at_1", "min"),
    Threshold("--min-hit-at-3", "hit_at_3", "min"),
    Threshold("--min-hit-at-5", "hit_at_5", "min"),
    Threshold("--min-mrr", "mrr_at_10", "min"),
    Threshold("--min-span-em", "em_span", "min"),
    Threshold("--min-span-f1", "f1_span", "min"),
    Threshold("--min-citation-doc", "citation_doc", "min"),
    Threshold("--min-quote-exact", "quote_exact", "min"),
    Threshold("--min-abstain-precision", "abstain_precision", "min"),
    Threshold("--min-abstain-recall", "abstain_recall", "min"),
    Threshold("--max-false-abstentions", "false_abstentions", "max"),
    Threshold("--max-false-answers", "false_answers", "max"),
    Threshold("--max-p95-ms", "latency_p95_ms", "max"),
)


def check_thresholds(metrics: dict[str, Any], limits: dict[str, float | None]) -> list[str]:
    """One line per broken limit (keyed by metric name); a metric that could not be measured breaks its limit."""
    failures = []
    for threshold in THRESHOLDS:
        limit = limits.get(threshold.metric)
        if limit is None:
            continue
        value = metrics.get(threshold.metric)
        if value is None:
            failures.append(f"{threshold.metric} could not be measured on this set (n/a), {threshold.option} {limit:g}")
        elif threshold.kind == "min" and value < limit:
            failures.append(f"{threshold.metric} {_fmt(value)} is below the minimum {limit:g} ({threshold.option})")
        elif threshold.kind == "max" and value > limit:
            failures.append(f"{threshold.metric} {_fmt(value)} is above the maximum {limit:g} ({threshold.option})")
    return failures


# ---- running --------------------------------------------------------------------------------------------


def _git_version() -> str | None:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def build_eval_index(service: Any, eval_set: EvalSet, *, progress: bool) -> dict[str, Any]:  # noqa: ANN401
    """Ingest the set's corpus into the service's (temporary) index; returns counts, time and notes."""
    started = time.perf_counter()
    if eval_set.documents is not None:
        report = service.add_documents(eval_set.documents)
    else:
        assert eval_set.corpus_dir is not None
        if not eval_set.corpus_dir.is_dir():
            raise EvalInputError(f"corpus folder {eval_set.corpus_dir} does not exist (set QA_SEEDS_DIR or --corpus)")
        report = service.ingest_paths([eval_set.corpus_dir], progress=progress)
    seconds = time.perf_counter() - started
    for name, error in report.errors.items():
        eval_set.notes.append(f"skipped {name}: {error}")
    if report.duplicates:
        # Identical text: retrieving the original is as right as retrieving the duplicate.
        eval_set.notes.append(f"{len(report.duplicates)} documents have the same text as another; gold ids mapped")
        eval_set.items = [
            EvalItem(i.id, i.question, i.answers, tuple(dict.fromkeys(report.duplicates.get(d, d) for d in i.doc_ids)))
            for i in eval_set.items
        ]
    known = {d.doc_id for d in service.list_documents()}
    unknown = sorted({d for i in eval_set.items for d in i.doc_ids} - known)
    if unknown:
        eval_set.notes.append(f"gold doc ids not in the corpus: {', '.join(unknown[:10])}")
    return {"build_s": round(seconds, 3), **service.stats()}


def run_eval(
    eval_set: EvalSet,
    settings: Any,  # noqa: ANN401 - qa_service.config.Settings
    *,
    embedder: Any = None,  # noqa: ANN401
    top_k: int | None = None,
    progress: bool = True,
    index_dir: Path | None = None,
    sweep: bool = False,
) -> dict[str, Any]:
    """Build a temporary index of the set's corpus, ask every question as `/ask` does, return the report.

    `sweep` asks each abstained question again with no threshold to fill `threshold_sweep` (extractive answers
    only: a back-end such as a reader applies its own threshold).
    """
    from tqdm import tqdm

    from qa_service.service import QAService

    top_k = top_k or settings.top_k
    owned = index_dir is None
    root = Path(tempfile.mkdtemp(prefix="qa-eval-")) if owned else index_dir
    service = eval_settings = None
    try:
        from qa_service.store import scratch_settings

        eval_settings = scratch_settings(settings, root / "index" if owned else root)
        started = time.perf_counter()
        service = QAService(eval_settings, embedder=embedder).load()
        load_s = time.perf_counter() - started
        index = build_eval_index(service, eval_set, progress=progress)
        index["model_load_s"] = round(load_s, 3)
        backend = getattr(getattr(service, "backend", None), "name", None) or "extractive"

        def document_text(doc_id: str) -> str | None:
            try:
                return service.get_document(doc_id).text
            except Exception:  # DocumentNotFoundError: the citation names a document that does not exist
                return None

        if sweep and backend != "extractive":
            sweep = False
            eval_set.notes.append(f"no min_score sweep: the {backend} back-end applies its own threshold")
        results, points = [], []
        for item in tqdm(
            eval_set.items, desc=f"asking {eval_set.name}", unit="q", disable=not progress, file=sys.stderr
        ):
            began = time.perf_counter()
            answer = service.ask(item.question, top_k)
            latency_ms = (time.perf_counter() - began) * 1000
            retrieved = service.search(item.question, RETRIEVAL_DEPTH).passages
            results.append(score_question(item, answer, retrieved, document_text, latency_ms))
            if sweep:  # an answer is what no threshold gives too; only an abstention hides one
                raw = answer if answer.answerable else service.ask(item.question, top_k, min_score=0.0)
                right = raw.answerable and item.answerable and contains_answer(raw.answer, item.answers)
                points.append((raw.confidence, item.answerable, right))
    finally:
        if service is not None:
            service.close()
        if owned:
            from qa_service.store import drop_scratch_store

            if eval_settings is not None:
                drop_scratch_store(eval_settings)
            shutil.rmtree(root, ignore_errors=True)
    metrics = compute_metrics(results)
    metrics["index_build_s"] = index["build_s"]
    return {
        "set": {
            "name": eval_set.name,
            "path": str(eval_set.path),
            "format": eval_set.format,
            "corpus": str(eval_set.corpus_dir) if eval_set.corpus_dir else None,
            **eval_set.info,
            "notes": eval_set.notes,
        },
        "config": {
            "top_k": top_k,
            "retrieval_depth": RETRIEVAL_DEPTH,
            "embedding_model": eval_settings.embedding_model,
            "chunk_size": eval_settings.chunk_size,
            "chunk_overlap": eval_settings.chunk_overlap,
            "min_score": eval_settings.min_score,
            "max_answer_chars": eval_settings.max_answer_chars,
            "torch_threads": eval_settings.torch_threads,
            "answer_backend": backend,
            "code_version": _git_version(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "index": index,
        "metrics": metrics,
        "threshold_sweep": (
            threshold_sweep(points, sorted({*SWEEP_THRESHOLDS, eval_settings.min_score})) if sweep else None
        ),
        "questions": [asdict(r) for r in results],
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# ---- printing -------------------------------------------------------------------------------------------


def _fmt(value: float | int | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _clip(text: str | None, width: int) -> str:
    if text is None:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_rows(report: dict[str, Any], rows: str = "auto") -> list[str]:
    """Compact per-question lines: all of them, only the wrong ones, or none (`auto`: all up to 100)."""
    questions = report["questions"]
    if rows == "auto":
        rows = "all" if len(questions) <= 100 else "failures"
    if rows == "none":
        return []
    shown = [q for q in questions if rows == "all" or not q["right"]]
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
        shown = _clip(q["answer"], 60)
        if q["answer_span"] is not None:
            shown = f"«{_clip(q['answer_span'], 25)}» {shown}"
        line = f"{q['id']:<{width}}  {result:<7} {rank:>4} {q['confidence']:>5.2f} {q['latency_ms']:>6.0f}  {shown}"
        if not q["right"]:
            line += f"  [{_clip(expected, 50)}]"
        lines.append(line)
    if rows == "failures":
        lines.insert(0, f"{len(shown)} of {len(questions)} questions wrong (only those shown):")
    return lines


def format_summary(report: dict[str, Any]) -> list[str]:
    m, index, info = report["metrics"], report["index"], report["set"]
    pct = _fmt
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
        f"(span given on {pct(m['span_coverage'])} of answers)  full-answer EM {pct(m['em_answer'])} "
        f"F1 {pct(m['f1_answer'])}",
        f"squad-style        EM {pct(m['squad_em'])}  F1 {pct(m['squad_f1'])}  (all questions; span else answer)",
        f"citations          first citation in gold docs {pct(m['citation_doc'])}  "
        f"quotes exact {pct(m['quote_exact'])} of {m['quotes']}  span offsets exact {pct(m['span_offsets_exact'])}",
        f"abstention         precision {pct(m['abstain_precision'])}  recall {pct(m['abstain_recall'])}  "
        f"false abstentions {m['false_abstentions']}  false answers {m['false_answers']}",
        f"latency            p50 {_fmt(m['latency_p50_ms'], 1)} ms  p95 {_fmt(m['latency_p95_ms'], 1)} ms "
        "(ask, wall clock)",
    ]
    if report.get("threshold_sweep"):
        lines.append("min_score sweep    min_score  answerable right  unanswerable abstained  false abstentions")
        for row in report["threshold_sweep"]:
            mark = " <- configured" if math.isclose(row["min_score"], report["config"]["min_score"]) else ""
            lines.append(
                f"{'':19}{row['min_score']:>9.2f}  {pct(row['accuracy']):>16}  {pct(row['abstain_recall']):>22}  "
                f"{row['false_abstentions']:>17}{mark}"
            )
    lines += [f"note               {note}" for note in info["notes"]]
    return lines
