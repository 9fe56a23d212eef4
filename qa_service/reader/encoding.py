"""Question and sentence as one input of word pieces, with each piece's characters in the sentence.

Shared by training (`devtools/train_reader.py`) and serving (`reader.runtime`), so the model always reads
what it was trained on: `[CLS] question [SEP] sentence [SEP]`, lower-cased by the tokenizer's normaliser,
the sentence truncated (never the question) at `max_length` word pieces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MAX_LENGTH = 96  # word pieces: a question (~15) and a news sentence (~35, long ones ~70)
MAX_QUESTION = 40  # a longer question is cut: its first 40 pieces carry what it asks


@dataclass(frozen=True)
class Batch:
    """Arrays the model reads, cut to the longest input, and where each sentence piece lies in its sentence."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    offsets: list[list[tuple[int, int] | None]]  # per input, per piece: (start, end) in the sentence, None if not

    def feed(self) -> dict[str, np.ndarray]:
        return {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "token_type_ids": self.token_type_ids,
        }


def load_tokenizer(path: Path) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def encode(tokenizer: Tokenizer, pairs: list[tuple[str, str]], max_length: int = MAX_LENGTH) -> Batch:
    """One batch of (question, sentence) pairs, padded to its longest input."""
    questions = tokenizer.encode_batch([q for q, _ in pairs], add_special_tokens=False)
    sentences = tokenizer.encode_batch([s for _, s in pairs], add_special_tokens=False)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    if cls_id is None or sep_id is None:
        raise ValueError("the tokenizer has no [CLS] or [SEP]: not the reader's base model")
    rows: list[tuple[list[int], list[int], list[tuple[int, int] | None]]] = []
    for question, sentence in zip(questions, sentences, strict=True):
        q_ids = question.ids[:MAX_QUESTION]
        room = max(1, max_length - len(q_ids) - 3)
        s_ids, s_offsets = sentence.ids[:room], sentence.offsets[:room]
        ids = [cls_id, *q_ids, sep_id, *s_ids, sep_id]
        types = [0] * (len(q_ids) + 2) + [1] * (len(s_ids) + 1)
        offsets: list[tuple[int, int] | None] = [None] * (len(q_ids) + 2)
        offsets += [(int(a), int(b)) for a, b in s_offsets] + [None]
        rows.append((ids, types, offsets))
    width = max(len(ids) for ids, _, _ in rows)
    input_ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    types_arr = np.zeros((len(rows), width), dtype=np.int64)
    for i, (ids, types, _) in enumerate(rows):
        input_ids[i, : len(ids)] = ids
        mask[i, : len(ids)] = 1
        types_arr[i, : len(ids)] = types
    return Batch(input_ids, mask, types_arr, [offsets for _, _, offsets in rows])


def piece_span(offsets: list[tuple[int, int] | None], start: int, end: int) -> tuple[int, int] | None:
    """The first and last sentence pieces covering characters [start, end), or None if cut off."""
    first = last = None
    for i, offset in enumerate(offsets):
        if offset is None:
            continue
        if first is None and offset[1] > start:
            first = i
        if offset[0] < end:
            last = i
    if first is None or last is None or last < first:
        return None
    return first, last
