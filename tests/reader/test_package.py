"""The packaged reader: built from the repository's adapters offline, and the ONNX file reads as torch does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa_service.config import DEFAULT_EMBEDDING_MODEL, Settings
from qa_service.embedding import resolve_model_path
from qa_service.reader.encoding import encode, load_tokenizer, piece_span
from qa_service.reader.package import OUTPUTS, ensure_reader, weights_dir
from qa_service.reader.runtime import ReaderSession

ROWS = [  # (question, sentence, the sentence before it)
    (
        "Who was sentenced to 25 years?",
        "Sam Bankman-Fried was sentenced to 25 years in prison on Thursday.",
        "The FTX founder was convicted of fraud last year.",
    ),
    ("How many people died?", "The quake killed 133 people and injured hundreds more, officials said.", ""),
    ("What did the court decide?", "It was sunny in the capital.", "The hearing was adjourned."),
]


@pytest.fixture(scope="module")
def cache_dir() -> Path:
    """The cache `make setup` filled: the file is built there once, never in every test."""
    return Settings(_env_file=None).resolved_onnx_cache_dir


def test_the_repository_keeps_only_small_adapters_and_heads() -> None:
    files = {p.name: p.stat().st_size for p in weights_dir().iterdir() if p.is_file()}
    assert {"adapter_model.safetensors", "adapter_config.json", "heads.safetensors", "reader.json"} <= set(files)
    assert sum(files.values()) <= 10 * 1024 * 1024


def test_onnx_output_matches_the_merged_torch_model(cache_dir: Path) -> None:
    import onnxruntime as ort
    import torch

    from qa_service.reader.model import load_merged

    files = ensure_reader(DEFAULT_EMBEDDING_MODEL, cache_dir)
    base = resolve_model_path(DEFAULT_EMBEDDING_MODEL)
    batch = encode(load_tokenizer(Path(base) / "tokenizer.json"), ROWS, files.context)
    with torch.no_grad():
        expected = [t.numpy() for t in load_merged(base)(*(torch.from_numpy(a) for a in batch.feed().values()))]
    session = ort.InferenceSession(str(files.model), providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUTS), batch.feed())
    for onnx_out, torch_out in zip(got, expected, strict=True):
        real = batch.attention_mask.astype(bool) if onnx_out.ndim == 2 else np.ones(len(ROWS), dtype=bool)
        np.testing.assert_allclose(onnx_out[real], torch_out[real], atol=1e-3)


def test_a_damaged_file_is_rebuilt_not_used(tmp_path: Path, cache_dir: Path) -> None:
    files = ensure_reader(DEFAULT_EMBEDDING_MODEL, tmp_path)
    files.model.write_bytes(b"not a model")
    rebuilt = ensure_reader(DEFAULT_EMBEDDING_MODEL, tmp_path)
    assert rebuilt.model.stat().st_size > 1_000_000


def test_spans_are_characters_of_the_sentence(cache_dir: Path) -> None:
    question, sentence, before = ROWS[0]
    readings = ReaderSession(cache_dir).read(question, [(sentence, before), (ROWS[2][1], ROWS[2][2])])
    answering, unrelated = readings
    assert answering.span is not None
    start, end = answering.span
    assert 0 <= start < end <= len(sentence)
    assert "Bankman-Fried" in sentence[start:end]
    assert answering.probability > unrelated.probability


def test_the_encoding_finds_an_answer_s_word_pieces() -> None:
    tokenizer = load_tokenizer(Path(resolve_model_path(DEFAULT_EMBEDDING_MODEL)) / "tokenizer.json")
    question, sentence, _ = ROWS[1]
    batch = encode(tokenizer, [(question, sentence, "")])
    start = sentence.index("133")
    first, last = piece_span(batch.offsets[0], start, start + 3) or (0, 0)
    pieces = batch.offsets[0][first : last + 1]
    assert pieces and all(p is not None for p in pieces)
    assert sentence[pieces[0][0] : pieces[-1][1]] == "133"  # type: ignore[index]
    assert batch.token_type_ids[0, first] == 1  # in the sentence, never the question


def test_the_context_is_the_previous_sentence_s_end_on_the_question_s_side() -> None:
    """The sentence before is read (its last pieces) but never holds the short answer: token type 0."""
    tokenizer = load_tokenizer(Path(resolve_model_path(DEFAULT_EMBEDDING_MODEL)) / "tokenizer.json")
    question, sentence, before = ROWS[0]
    without = encode(tokenizer, [(question, sentence, before)], context=0)
    within = encode(tokenizer, [(question, sentence, before)], context=4)
    assert within.input_ids.shape[1] == without.input_ids.shape[1] + 5  # four pieces and a [SEP]
    last_four = tokenizer.encode(before, add_special_tokens=False).ids[-4:]
    q_len = len(tokenizer.encode(question, add_special_tokens=False).ids)
    assert list(within.input_ids[0, q_len + 2 : q_len + 6]) == last_four
    sentence_types = within.token_type_ids[0][[i for i, o in enumerate(within.offsets[0]) if o is not None]]
    assert set(sentence_types) == {1}
    assert sum(o is not None for o in within.offsets[0]) == sum(o is not None for o in without.offsets[0])
