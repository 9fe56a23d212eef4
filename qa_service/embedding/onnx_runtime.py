"""ONNX Runtime back-end: the exported model run with the fast tokenizer, no torch in the serving process."""

from __future__ import annotations

import functools
import logging
import platform
import threading
from pathlib import Path
from typing import Any

import numpy as np

from qa_service.config import DEFAULT_EMBEDDING_MODEL, default_cache_dir
from qa_service.embedding.onnx_export import (
    BACKENDS,
    OUTPUT_NAME,
    OnnxModelFiles,
    Precision,
    configure_tokenizer,
    ensure_onnx_model,
)

logger = logging.getLogger(__name__)


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

    def embed(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Normalised vectors in the order of `texts`, run in batches of similar token length.

        Tokenised once; each batch is cut to its longest text. An article's chunks (~160 word pieces) and its
        sentences (~25) in one batch padded every sentence to a chunk's length: 3x the work of a POST."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        if self.do_lower_case:
            texts = [text.lower() for text in texts]
        encodings = self.tokenizer.encode_batch(texts)  # padded to the longest of all; each batch is cut below
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        lengths = arrays["attention_mask"].sum(axis=1)
        batches = length_batches([int(n) for n in lengths], batch_size)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embedding", unit="batch")
        for rows in batches:
            width = int(lengths[rows[0]])  # the longest of the batch: it comes first
            feed = {name: arrays[name][rows, :width] for name in self.input_names}
            out[rows] = self._run(feed)
        return out

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        (vectors,) = self.session.run([OUTPUT_NAME], feed)
        vectors = np.asarray(vectors, dtype=np.float32)
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


class OnnxEmbedder:
    """The default back-end (fp32). Cheap to construct; `load()` builds or verifies the cached ONNX file once."""

    def __init__(
        self,
        name: str = DEFAULT_EMBEDDING_MODEL,
        *,
        precision: Precision = "fp32",
        cache_dir: Path | None = None,
        threads: int = 1,
        bulk_threads: int | None = None,
        batch_size: int = 32,
    ) -> None:
        if precision not in BACKENDS:
            raise ValueError(f"precision must be one of {sorted(BACKENDS)}, got {precision!r}")
        self.name = name
        self.precision: Precision = precision
        self.backend = BACKENDS[precision]
        self.cache_dir = cache_dir or default_cache_dir() / "onnx"
        self.threads = threads
        self.bulk_threads = bulk_threads or threads
        self.batch_size = batch_size
        self._files: OnnxModelFiles | None = None
        self._serving: OnnxSession | None = None
        self._bulk: OnnxSession | None = None
        self._counter: Any = None
        self._lock = threading.Lock()

    def load(self) -> OnnxEmbedder:
        with self._lock:
            if self._serving is None:
                from tokenizers import Tokenizer

                files = ensure_onnx_model(self.name, self.precision, self.cache_dir)
                if self.precision == "int8" and not cpu_has_vnni():
                    logger.warning(
                        "this CPU has no VNNI instructions: the int8 embedding model may be slower or less exact "
                        "here; QA_EMBEDDING_BACKEND=onnx-fp32 avoids that (and needs an index rebuild)"
                    )
                # Serving: `threads` (1) per request, so concurrent requests use the cores side by side instead
                # of each splitting its small matrices across all of them and waiting on each other.
                self._serving = self._session(files, self.threads)
                counter = Tokenizer.from_file(str(files.tokenizer))
                counter.no_truncation()
                counter.no_padding()
                self._counter = counter
                self._files = files
        return self

    def _session(self, files: OnnxModelFiles, threads: int, *, spin: bool = False) -> OnnxSession:
        info = {
            "dimension": files.dimension,
            "max_seq_length": files.max_seq_length,
            "do_lower_case": files.do_lower_case,
        }
        try:
            return OnnxSession(files.model, files.tokenizer, info, threads=threads, spin=spin)
        except Exception as exc:  # onnxruntime raises its own types; say which file and what to do
            raise RuntimeError(
                f"ONNX Runtime cannot load {files.model}: {exc}. Delete {files.model.parent} to rebuild it, "
                "or set QA_EMBEDDING_BACKEND=torch."
            ) from exc

    @property
    def files(self) -> OnnxModelFiles:
        if self._files is None:
            self.load()
        assert self._files is not None
        return self._files

    @property
    def dimension(self) -> int:
        return self.files.dimension

    @property
    def max_tokens(self) -> int:
        return self.files.max_seq_length

    def count_tokens(self, text: str) -> int:
        if self._counter is None:  # the chunker calls this for every candidate piece: no lock on the hot path
            self.load()
        if self.files.do_lower_case:
            text = text.lower()
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session = self._bulk_session() if bulk else self._serving_session()
        return session.embed(texts, batch_size=self.batch_size, progress=show_progress)

    def _serving_session(self) -> OnnxSession:
        if self._serving is None:
            self.load()
        assert self._serving is not None
        return self._serving

    def _bulk_session(self) -> OnnxSession:
        """Ingest: a second session whose intra-op pool spans every ingest thread (the int8 graph is 23 MB)."""
        if self.bulk_threads <= self.threads:
            return self._serving_session()
        files = self.files
        with self._lock:
            if self._bulk is None:
                # No spinning even here: on a machine where anything else runs (a laptop, the server's own
                # requests) spinning threads measured 15-35% fewer texts/s than sleeping ones.
                self._bulk = self._session(files, self.bulk_threads)
        return self._bulk


@functools.cache
def cpu_has_vnni() -> bool:
    """Whether int8 dot products run on VNNI (x86 AVX512-VNNI or AVX-VNNI); ARM's dot-product units count too."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86"):
        return True
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = fh.read()
    except OSError:
        return True  # cannot tell (not Linux): do not warn
    return "avx512_vnni" in flags or "avx_vnni" in flags
