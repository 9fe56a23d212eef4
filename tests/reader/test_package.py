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

PAIRS = [
    ("Who was sentenced to 25 years?", "Sam Bankman-Fried was sentenced to 25 years in prison on Thursday."),
    ("How many people died?", "The quake killed 133 people and injured hundreds more, officials said."),
    ("What did the court decide?", "It was sunny in the capital."),
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
    batch = encode(load_tokenizer(Path(base) / "tokenizer.json"), PAIRS)
    with torch.no_grad():
        expected = [t.numpy() for t in load_merged(base)(*(torch.from_numpy(a) for a in batch.feed().values()))]
    session = ort.InferenceSession(str(files.model), providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUTS), batch.feed())
    for onnx_out, torch_out in zip(got, expected, strict=True):
        real = batch.attention_mask.astype(bool) if onnx_out.ndim == 2 else np.ones(len(PAIRS), dtype=bool)
        np.testing.assert_allclose(onnx_out[real], torch_out[real], atol=1e-3)


def test_a_damaged_file_is_rebuilt_not_used(tmp_path: Path, cache_dir: Path) -> None:
    files = ensure_reader(DEFAULT_EMBEDDING_MODEL, tmp_path)
    files.model.write_bytes(b"not a model")
    rebuilt = ensure_reader(DEFAULT_EMBEDDING_MODEL, tmp_path)
    assert rebuilt.model.stat().st_size > 1_000_000


def test_spans_are_characters_of_the_sentence(cache_dir: Path) -> None:
    readings = ReaderSession(cache_dir).read(PAIRS[0][0], [PAIRS[0][1], PAIRS[2][1]])
    answering, unrelated = readings
    assert answering.span is not None
    start, end = answering.span
    assert 0 <= start < end <= len(PAIRS[0][1])
    assert "Bankman-Fried" in PAIRS[0][1][start:end]
    assert answering.probability > unrelated.probability


def test_the_encoding_finds_an_answer_s_word_pieces() -> None:
    tokenizer = load_tokenizer(Path(resolve_model_path(DEFAULT_EMBEDDING_MODEL)) / "tokenizer.json")
    question, sentence = PAIRS[1]
    batch = encode(tokenizer, [(question, sentence)])
    start = sentence.index("133")
    first, last = piece_span(batch.offsets[0], start, start + 3) or (0, 0)
    pieces = batch.offsets[0][first : last + 1]
    assert pieces and all(p is not None for p in pieces)
    assert sentence[pieces[0][0] : pieces[-1][1]] == "133"  # type: ignore[index]
    assert batch.token_type_ids[0, first] == 1  # in the sentence, never the question
