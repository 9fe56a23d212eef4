"""Question and sentence as one input of word pieces, with each piece's characters in the sentence.

Shared by training (`devtools/train_reader.py`) and serving (`reader.runtime`), so the model always reads
what it was trained on: `[CLS] question [SEP] before [SEP] sentence [SEP]`, lower-cased by the tokenizer's
normaliser. `before` is the end of the previous sentence (its last `context` word pieces; none when
`context` is 0, the first reader's layout): "he said" and "the quake" read with what they refer to. It sits on
the question's side (token type 0), so the short answer still lies in the sentence. Question and sentence
are cut (the sentence, never the question) at `max_length` word pieces, the context besides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MAX_LENGTH = 96  # word pieces: a question (~15) and a news sentence (~35, long ones ~70), besides the context
MAX_QUESTION = 40  # a longer question is cut: its first 40 pieces carry what it asks
CONTEXT_PIECES = 24  # of the previous sentence, its end: the words nearest the sentence (~half a sentence)


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


def encode(
    tokenizer: Tokenizer,
    rows: list[tuple[str, str, str]],
    context: int = 0,
    max_length: int = MAX_LENGTH,
) -> Batch:
    """One batch of (question, sentence, text before the sentence) rows, padded to its longest input.

    `context`: how many word pieces of the text before are read (its last ones); 0 reads none."""
    questions = tokenizer.encode_batch([q for q, _, _ in rows], add_special_tokens=False)
    sentences = tokenizer.encode_batch([s for _, s, _ in rows], add_special_tokens=False)
    befores = tokenizer.encode_batch([b if context else "" for _, _, b in rows], add_special_tokens=False)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    if cls_id is None or sep_id is None:
        raise ValueError("the tokenizer has no [CLS] or [SEP]: not the reader's base model")
    encoded: list[tuple[list[int], list[int], list[tuple[int, int] | None]]] = []
    for question, sentence, before in zip(questions, sentences, befores, strict=True):
        q_ids = question.ids[:MAX_QUESTION]
        room = max(1, max_length - len(q_ids) - 3)
        b_ids = before.ids[-context:] if context and before.ids else []
        if b_ids:
            q_ids = [*q_ids, sep_id, *b_ids]
        s_ids, s_offsets = sentence.ids[:room], sentence.offsets[:room]
        ids = [cls_id, *q_ids, sep_id, *s_ids, sep_id]
        types = [0] * (len(q_ids) + 2) + [1] * (len(s_ids) + 1)
        offsets: list[tuple[int, int] | None] = [None] * (len(q_ids) + 2)
        offsets += [(int(a), int(b)) for a, b in s_offsets] + [None]
        encoded.append((ids, types, offsets))
    width = max(len(ids) for ids, _, _ in encoded)
    input_ids = np.zeros((len(encoded), width), dtype=np.int64)
    mask = np.zeros((len(encoded), width), dtype=np.int64)
    types_arr = np.zeros((len(encoded), width), dtype=np.int64)
    for i, (ids, types, _) in enumerate(encoded):
        input_ids[i, : len(ids)] = ids
        mask[i, : len(ids)] = 1
        types_arr[i, : len(ids)] = types
    return Batch(input_ids, mask, types_arr, [offsets for _, _, offsets in encoded])


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
