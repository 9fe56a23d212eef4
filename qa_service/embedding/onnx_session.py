"""One ONNX Runtime session with its tokenizer: what serving runs and what the exporter checks its file with.

Its own module so that the exporter (`onnx_export`) and the embedder (`onnx_runtime`) both use it without
importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_service.embedding.pooling import Pooled, Span, sum_spans

if TYPE_CHECKING:
    from tokenizers import Tokenizer

OUTPUT_NAME = "sentence_embedding"
TOKEN_OUTPUT = "token_embeddings"  # the transformer's last layer, before pooling: what span vectors pool


class OnnxSession:
    """One ONNX Runtime session and its tokenizer; `embed` is safe to call from many threads at once."""

    def __init__(self, model: Path, tokenizer: Path, info: dict[str, Any], *, threads: int, spin: bool = False) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = configure_tokenizer(Tokenizer.from_file(str(tokenizer)), int(info["max_seq_length"]))
        self.do_lower_case = bool(info["do_lower_case"])
        self.dimension = int(info["dimension"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1  # the graph is one chain of layers: nothing to run side by side
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning keeps idle pool threads busy-waiting for the next run: good for a batch job that owns the
        # cores, bad beside requests that need them. Off unless asked for.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def embed(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Normalised vectors in the order of `texts`, run in batches of similar token length.

        Tokenised once; each batch is cut to its longest text. An article's chunks (~160 word pieces) and its
        sentences (~25) in one batch padded every sentence to a chunk's length: 3x the work of a POST."""
        return self._run_all(texts, None, batch_size, progress).vectors

    def embed_spans(self, texts: list[str], spans: Sequence[Sequence[Span]], *, batch_size: int = 32) -> Pooled:
        """`embed(texts)` and the token sums of each text's `spans`, from the same run of the model."""
        if TOKEN_OUTPUT not in self.output_names:
            raise RuntimeError(f"this ONNX file has no {TOKEN_OUTPUT!r} output: delete its cache folder to rebuild it")
        return self._run_all(texts, spans, batch_size, False)

    def _run_all(
        self, texts: list[str], spans: Sequence[Sequence[Span]] | None, batch_size: int, progress: bool
    ) -> Pooled:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sums: list[np.ndarray] = [np.zeros((0, self.dimension), dtype=np.float32)] * len(texts)
        counts: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(texts)
        if not texts:
            return Pooled(out, sums, counts)
        if self.do_lower_case:  # where lower-casing would move offsets, the tokenizer's own normaliser does it
            texts = [low if spans is None or len(low := text.lower()) == len(text) else text for text in texts]
        encodings = self.tokenizer.encode_batch(texts)  # padded to the longest of all; each batch is cut below
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        lengths = arrays["attention_mask"].sum(axis=1)
        batches: Iterable[list[int]] = length_batches([int(n) for n in lengths], batch_size)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embedding", unit="batch")
        outputs = [OUTPUT_NAME] if spans is None else [OUTPUT_NAME, TOKEN_OUTPUT]
        for rows in batches:
            width = int(lengths[rows[0]])  # the longest of the batch: it comes first
            feed = {name: arrays[name][rows, :width] for name in self.input_names}
            results = self.session.run(outputs, feed)
            out[rows] = _normalised(np.asarray(results[0], dtype=np.float32))
            if spans is not None:
                tokens = np.asarray(results[1], dtype=np.float32)
                for j, row in enumerate(rows):
                    sums[row], counts[row] = sum_spans(tokens[j], encodings[row].offsets, spans[row])
        return Pooled(out, sums, counts)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def length_batches(
    lengths: list[int], batch_size: int, *, max_padding: float = 0.25, slack: int = 8
) -> list[list[int]]:
    """Indices longest first, in batches of at most `batch_size` whose padding stays under `max_padding` of their
    real tokens (or within `slack` tokens of the longest): the model's work is the padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    real = 0
    for i in order:
        if current:
            longest = lengths[current[0]]
            fits = longest * (len(current) + 1) <= (1 + max_padding) * (real + lengths[i])
            if len(current) >= batch_size or not (fits or longest - lengths[i] <= slack):
                batches.append(current)
                current, real = [], 0
        current.append(i)
        real += lengths[i]
    if current:
        batches.append(current)
    return batches


def configure_tokenizer(tokenizer: Tokenizer, max_seq_length: int) -> Tokenizer:
    """Truncate at the model's limit and pad to the longest text of a batch, as sentence-transformers does."""
    tokenizer.enable_truncation(max_seq_length)
    pad_id = tokenizer.token_to_id("[PAD]")
    padding = tokenizer.padding or {}
    tokenizer.enable_padding(
        pad_id=padding.get("pad_id", pad_id if pad_id is not None else 0),
        pad_token=padding.get("pad_token", "[PAD]"),
        pad_type_id=padding.get("pad_type_id", 0),
    )
    return tokenizer
