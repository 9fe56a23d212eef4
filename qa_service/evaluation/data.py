"""Question sets: the seed JSONL format over a folder of articles, and SQuAD v1.1/v2.0 JSON files.

* seed (JSONL): `{"id", "question", "answers": [acceptable strings], "doc_ids": [supporting doc ids]}` per line;
  `answers: []` marks an unanswerable question. The corpus is a folder of articles (the seeds by default).
* SQuAD (v1.1 or v2.0 JSON): every paragraph becomes one document (`<title>-p007`), every question is asked
  without its paragraph; a v2.0 `is_impossible` question is right only when the service abstains.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_service.ingest.clean import MAX_DOC_ID_LENGTH, make_document
from qa_service.schemas import Document

FORMATS = ("auto", "seed", "squad")


class EvalInputError(ValueError):
    """The question file cannot be read as the format it claims (message names the line or field)."""


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answers: tuple[str, ...]  # acceptable answers; empty = the corpus does not answer it
    doc_ids: tuple[str, ...]  # documents that support an answer (for SQuAD v2 impossible: the paragraph asked on)
    kind: str | None = None  # the set's own label for the question ("person", "differs", ...): figures per kind

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
            kind = row.get("kind")
            items.append(EvalItem(item_id, question.strip(), answers, doc_ids, kind if isinstance(kind, str) else None))
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
