"""Running a question set: build a temporary index of its corpus, ask every question as `/ask` does, report.

The index is always built from scratch in a temporary folder, so an evaluation never reads or changes the
service's own index and two runs of the same code on the same data give the same numbers. With `sweep`, every
abstained question is asked once more with no threshold, so the report can show what each QA_MIN_SCORE would
give (that is how a deployment picks its threshold: choose on one set, check on another). Each question is
asked once: with the sweep, with no threshold, and the configured one is applied to the answer (`at_threshold`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa_service.evaluation.data import EvalInputError, EvalItem, EvalSet
from qa_service.evaluation.matching import contains_answer
from qa_service.evaluation.metrics import SWEEP_THRESHOLDS, compute_metrics, score_question, threshold_sweep

if TYPE_CHECKING:
    from qa_service.config import Settings
    from qa_service.embedding import Embedder
    from qa_service.schemas import Answer
    from qa_service.service import QAService

RETRIEVAL_DEPTH = 10  # passages asked of `search` for hit@k / MRR@10, independent of the answer's top_k


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


def at_threshold(answer: Answer, min_score: float, reason: str | None) -> Answer:
    """The answer the answerer gives at `min_score`, from the one it gave with no threshold: below it, the
    abstention that keeps the confidence and nothing else of the answer but the answerer's `reason` for it."""
    if not answer.answerable or answer.confidence >= min_score:
        return answer
    return answer.model_copy(update={"answer": None, "answerable": False, "answer_span": None, "citations": [],
                                     "sources": [], "not_found": [], "reason": reason})  # fmt: skip


def build_eval_index(service: QAService, eval_set: EvalSet, *, progress: bool) -> dict[str, Any]:
    """Ingest the set's corpus into the service's (temporary) index; returns counts, time and notes."""
    started = time.perf_counter()
    if eval_set.documents is not None:
        report = service.write(eval_set.documents)
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
            EvalItem(
                i.id,
                i.question,
                i.answers,
                tuple(dict.fromkeys(report.duplicates.get(d, d) for d in i.doc_ids)),
                i.kind,
            )
            for i in eval_set.items
        ]
    known = {summary.doc_id for summary in service.list_documents()}
    unknown = sorted({d for i in eval_set.items for d in i.doc_ids} - known)
    if unknown:
        eval_set.notes.append(f"gold doc ids not in the corpus: {', '.join(unknown[:10])}")
    return {"build_s": round(seconds, 3), **service.stats()}  # documents, chunks, sentences


def run_eval(
    eval_set: EvalSet,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    top_k: int | None = None,
    progress: bool = True,
    index_dir: Path | None = None,
    sweep: bool = False,
) -> dict[str, Any]:
    """Build a temporary index of the set's corpus, ask every question as `/ask` does, return the report.

    `sweep` asks each question with no threshold to fill `threshold_sweep` and scores it at the answerer's own
    threshold (the rules' minimum score or the reader's minimum probability; not with an LLM back-end). Progress
    bars only on a terminal: in a log (`make eval > eval.log`) they would be thousands of carriage returns.
    """
    from tqdm import tqdm

    progress = progress and sys.stderr.isatty()

    from qa_service.service import QAService

    top_k = top_k or settings.top_k
    owned = index_dir is None
    root = index_dir if index_dir is not None else Path(tempfile.mkdtemp(prefix="qa-eval-"))
    service = eval_settings = None
    try:
        from qa_service.store import scratch_settings

        # a store of the configured kind that is never the user's (on a Milvus server: collections of its own)
        eval_settings = scratch_settings(settings, root / "index" if owned else root)
        started = time.perf_counter()
        service = QAService(eval_settings, embedder=embedder).load()
        load_s = time.perf_counter() - started
        index = build_eval_index(service, eval_set, progress=progress)
        index["model_load_s"] = round(load_s, 3)
        backend = getattr(service.backend, "name", None) or getattr(service.answerer, "name", "rules")

        def document_text(doc_id: str) -> str | None:
            try:
                return service.get_document(doc_id).text
            except Exception:  # DocumentNotFoundError: the citation names a document that does not exist
                return None

        if sweep and service.backend is not None:
            sweep = False
            eval_set.notes.append(f"no min_score sweep: the {backend} back-end applies its own threshold")
        results, points = [], []
        for item in tqdm(
            eval_set.items, desc=f"asking {eval_set.name}", unit="q", disable=not progress, file=sys.stderr
        ):
            began = time.perf_counter()
            # with the sweep, asked once with no threshold: the configured one is applied to what came back
            raw = service.ask(item.question, top_k, min_score=0.0 if sweep else None)
            latency_ms = (time.perf_counter() - began) * 1000
            answer = raw
            if sweep and abs(raw.confidence - service.answerer.threshold) < 1e-4:  # rounded onto it: which side?
                answer = service.ask(item.question, top_k)
            elif sweep:
                answer = at_threshold(raw, service.answerer.threshold, service.answerer.below_threshold_reason)
            retrieved = service.search(item.question, RETRIEVAL_DEPTH).passages
            results.append(score_question(item, answer, retrieved, document_text, latency_ms))
            if sweep:
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
            "embedding_backend": service.embedder.backend,
            "store": getattr(eval_settings, "store", "embedded"),
            "chunk_size": eval_settings.chunk_size,
            "chunk_overlap": eval_settings.chunk_overlap,
            "min_score": service.answerer.threshold,
            "max_answer_chars": eval_settings.max_answer_chars,
            "torch_threads": eval_settings.torch_threads,
            "answer_backend": backend,
            "code_version": _git_version(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "index": index,
        "metrics": metrics,
        "threshold_sweep": (
            threshold_sweep(points, sorted({*SWEEP_THRESHOLDS, service.answerer.threshold})) if sweep else None
        ),
        "questions": [asdict(r) for r in results],
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
