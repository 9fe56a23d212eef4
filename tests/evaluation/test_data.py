"""Loading question sets: seed JSONL, SQuAD v1.1/v2.0, format detection, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.evaluation.data import EvalInputError, detect_format, load_eval_set, squad_doc_id
from qa_service.ingest.clean import validate_doc_id

from ..conftest import ROOT, SEEDS, SHARED
from .conftest import DISTRACTORS

SQUAD_DIR = SHARED / "benchmarks" / "squad"


def test_squad_doc_ids_are_valid_and_distinct() -> None:
    assert squad_doc_id("Super_Bowl_50", 7) == "Super_Bowl_50-p007"
    odd = squad_doc_id("..École / Normans: 1066?", 12)
    assert validate_doc_id(odd) == odd and odd.endswith("-p012")
    long = squad_doc_id("x" * 300, 3)
    assert len(long) <= 128 and validate_doc_id(long) and long.endswith("-p003")


def test_load_tiny_squad(tiny_squad: Path) -> None:
    assert detect_format(tiny_squad) == "squad"
    eval_set = load_eval_set(tiny_squad)
    assert eval_set.format == "squad"
    assert eval_set.info == {"squad_version": "v2.0", "articles": 7, "paragraphs": 8, "questions": 5, "impossible": 2}
    assert eval_set.documents is not None  # SQuAD: the paragraphs
    assert [d.doc_id for d in eval_set.documents] == [
        "Arlen_Lighthouse-p000",
        "Arlen_Lighthouse-p001",
        "Copper_beetle-p000",
        *(f"{title}-p000" for title in DISTRACTORS),
    ]
    assert eval_set.documents[2].title == "Copper beetle"
    by_id = {i.id: i for i in eval_set.items}
    assert by_id["t2"].answers == () and by_id["t2"].doc_ids == ("Arlen_Lighthouse-p000",)
    assert by_id["t4"].answers == ("the leaves of the cork oak", "leaves of the cork oak")
    assert any("cleaned text equals the SQuAD context" in note for note in eval_set.notes)


def test_load_seed_file_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "q.jsonl"
    good.write_text(
        '{"id": "a", "question": "Who?", "answers": ["X"], "doc_ids": ["d"]}\n\n'
        '{"id": "b", "question": "Why?", "answers": [], "doc_ids": []}\n',
        encoding="utf-8",
    )
    assert detect_format(good) == "seed"
    eval_set = load_eval_set(good, corpus_dir=SEEDS)
    assert [i.id for i in eval_set.items] == ["a", "b"] and not eval_set.items[1].answerable
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "Who?", "answers": "X"}\n', encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"bad.jsonl:1: `answers` must be a list"):
        load_eval_set(bad, corpus_dir=SEEDS)
    with pytest.raises(EvalInputError, match="no such file"):
        load_eval_set(tmp_path / "missing.jsonl", corpus_dir=SEEDS)


def test_the_seed_questions_load() -> None:
    eval_set = load_eval_set(ROOT / "eval" / "questions.jsonl", corpus_dir=SEEDS)
    assert len(eval_set.items) == 55 and sum(not i.answerable for i in eval_set.items) == 9
    seed_ids = {p.stem for p in SEEDS.iterdir()}
    assert {d for i in eval_set.items for d in i.doc_ids} <= seed_ids


@pytest.mark.skipif(not SQUAD_DIR.is_dir(), reason=f"shared SQuAD subsets not present at {SQUAD_DIR}")
def test_shared_squad_sets_load_and_count() -> None:
    v1 = load_eval_set(SQUAD_DIR / "squad-v1.1-dev-super-bowl-50.json")
    assert (v1.info["paragraphs"], v1.info["questions"], v1.info["impossible"]) == (54, 810, 0)
    v2 = load_eval_set(SQUAD_DIR / "squad-v2.0-dev-normans.json")
    assert (v2.info["paragraphs"], v2.info["questions"], v2.info["impossible"]) == (39, 208, 112)
    assert sum(not i.answerable for i in v2.items) == 112
    for eval_set in (v1, v2):
        assert eval_set.documents is not None
        ids = [d.doc_id for d in eval_set.documents]
        assert len(set(ids)) == len(ids)
        assert any("cleaned text equals the SQuAD context" in note for note in eval_set.notes), eval_set.notes
