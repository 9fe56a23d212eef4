"""A tiny training run: the script reads training rows, trains a few steps, checkpoints, saves loadable weights."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from devtools import train_reader


def _rows(path: Path) -> Path:
    context = (
        "The bridge collapsed on Tuesday in Genoa. Rescuers searched the rubble for survivors. "
        "The toll rose to 39 by Friday, officials said."
    )
    rows: list[dict[str, Any]] = [
        {"question": "Where did the bridge collapse?", "answers": [{"text": "Genoa", "start": context.index("Genoa")}]},
        {"question": "How many died?", "answers": [{"text": "39", "start": context.index("39")}]},
        {"question": "Who built the bridge?", "answers": []},
    ]
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for i, row in enumerate(rows):
            record = {"id": str(i), "context": context, "unanswerable": not row["answers"], **row}
            fh.write(json.dumps(record) + "\n")
    return path


def test_a_few_steps_train_checkpoint_and_save_weights_that_load(tmp_path: Path) -> None:
    data = _rows(tmp_path / "tiny.jsonl.gz")
    out = tmp_path / "run"
    status = train_reader.main(
        ["--squad", str(data), "--out", str(out), "--epochs", "2", "--batch", "4", "--no-dev", "--threads", "1"]
    )
    assert status == 0
    assert (out / "checkpoint.pt").is_file()
    info = json.loads((out / "final" / "reader.json").read_text())
    assert info["inputs"] >= 5 and info["training_data"] == ["tiny.jsonl.gz"]

    from qa_service.config import DEFAULT_EMBEDDING_MODEL
    from qa_service.embedding import resolve_model_path
    from qa_service.reader.model import load_merged

    net = load_merged(resolve_model_path(DEFAULT_EMBEDDING_MODEL), out / "final")
    assert not net.training and net.answerable.out_features == 1


def test_a_second_phase_reads_what_its_first_read_with_the_same_adapters(tmp_path: Path) -> None:
    data = _rows(tmp_path / "tiny.jsonl.gz")
    tiny = ["--squad", str(data), "--batch", "4", "--no-dev", "--threads", "1", "--epochs", "1"]
    first, second = tmp_path / "first", tmp_path / "second"
    assert train_reader.main([*tiny, "--out", str(first), "--context", "8", "--rank", "4", "--all-layers"]) == 0
    assert train_reader.main([*tiny, "--out", str(second), "--init", str(first / "final")]) == 0
    for phase in (first, second):
        info = json.loads((phase / "final" / "reader.json").read_text())
        adapters = json.loads((phase / "final" / "adapter_config.json").read_text())
        assert info["context_pieces"] == 8 and info["lora"]["r"] == adapters["r"] == 4
        assert adapters["layers_to_transform"] is None  # all six layers


def test_examples_put_the_answer_in_its_sentence_and_the_rest_as_negatives(tmp_path: Path) -> None:
    examples = train_reader.squad_examples([_rows(tmp_path / "tiny.jsonl.gz")])
    positives = [e for e in examples if e.answer is not None]
    assert {e.sentence[e.answer[0] : e.answer[1]] for e in positives if e.answer} == {"Genoa", "39"}
    unanswerable = [e for e in examples if e.question == "Who built the bridge?"]
    assert unanswerable and all(e.answer is None for e in unanswerable)


def test_each_sentence_reads_the_one_before_it_and_the_next_is_a_negative(tmp_path: Path) -> None:
    examples = train_reader.squad_examples([_rows(tmp_path / "tiny.jsonl.gz")])
    genoa = [e for e in examples if e.question == "Where did the bridge collapse?"]
    assert genoa[0].answer is not None and genoa[0].before == ""  # the first sentence has none before it
    following = genoa[1]  # holds no answer though its context does: the answer must be in the sentence
    assert following.answer is None and "Genoa" in following.before and "Genoa" not in following.sentence


def test_cross_negatives_come_from_other_paragraphs_and_never_hold_the_answer(tmp_path: Path) -> None:
    other = (
        "A second bridge in Genoa was inspected on Monday. Engineers said the bridge was safe. "
        "The inspection of the Genoa bridge cost 39 million euros."
    )
    path = tmp_path / "two.jsonl.gz"
    _rows(path)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    rows.append({"id": "x", "context": other, "unanswerable": True, "question": "Who inspected it?", "answers": []})
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row) + "\n" for row in rows)
    plain = train_reader.squad_examples([path])
    crossed = train_reader.squad_examples([path], cross=1)
    added = [e for e in crossed if e not in plain]
    # one per answerable question, from the other paragraph, never a sentence with the answer's words
    assert {e.question for e in added} == {"Where did the bridge collapse?", "How many died?"}
    assert all(e.answer is None and e.sentence in other for e in added)
    died = next(e for e in added if e.question == "How many died?")
    assert "39" not in died.sentence


def test_batches_keep_a_question_s_sentences_together_and_cover_every_input() -> None:
    groups = [[0, 1, 2], [3, 4], [5], [6, 7, 8, 9]]
    lengths = [10, 12, 11, 30, 31, 5, 20, 21, 22, 23]
    made = train_reader.batches(groups, lengths, size=4, seed=1, epoch=0)
    assert sorted(i for b in made for i in b) == list(range(10))
    for group in groups:
        assert any(set(group) <= set(b) for b in made)
    assert made == train_reader.batches(groups, lengths, size=4, seed=1, epoch=0)  # deterministic


def test_the_listwise_loss_is_lowest_when_the_answering_sentence_leads() -> None:
    import torch

    questions = ["q1", "q1", "q1", "q2"]
    labels = torch.tensor([0.0, 1.0, 0.0, 1.0])
    right = train_reader.listwise_loss(torch.tensor([0.0, 5.0, 0.0, 3.0]), questions, labels)
    wrong = train_reader.listwise_loss(torch.tensor([5.0, 0.0, 0.0, 3.0]), questions, labels)
    assert float(right) < 0.05 < 4.0 < float(wrong)  # q2 alone has no choice to make: it adds nothing


def test_swapped_questions_ask_of_a_place_or_day_their_sentence_does_not_name(tmp_path: Path) -> None:
    paragraphs = {
        "The bridge collapsed in Genoa on Tuesday. Rescuers searched the rubble.": (
            "What collapsed in Genoa on Tuesday?",
            "The bridge",
            {"Milan", "Friday"},
        ),
        "Flooding closed the schools in Milan on Friday. Rain fell for days.": (
            "What did flooding close in Milan on Friday?",
            "the schools",
            {"Genoa", "Tuesday"},
        ),
    }
    path = tmp_path / "places.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for i, (context, (question, answer, _)) in enumerate(paragraphs.items()):
            row = {"id": str(i), "context": context, "unanswerable": False, "question": question}
            fh.write(json.dumps(row | {"answers": [{"text": answer, "start": context.index(answer)}]}) + "\n")
    plain = train_reader.squad_examples([path])
    added = [e for e in train_reader.squad_examples([path], swap=True) if e not in plain]
    assert len(added) == 2 and all(e.answer is None for e in added)
    for context, (_, _, elsewhere) in paragraphs.items():
        # the answer sentence, asked of the other paragraph's city or day (which it does not name): a negative
        (negative,) = [e for e in added if e.sentence == context.split(". ")[0] + "."]
        assert sum(name in negative.question for name in elsewhere) == 1
