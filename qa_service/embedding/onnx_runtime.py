"""ONNX Runtime back-end: the exported model run with the fast tokenizer, no torch in the serving process."""

from __future__ import annotations

import functools
import logging
import platform
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa_service.config import DEFAULT_EMBEDDING_MODEL, default_cache_dir
from qa_service.embedding.onnx_export import BACKENDS, OnnxModelFiles, Precision, ensure_onnx_model
from qa_service.embedding.onnx_session import OnnxSession
from qa_service.embedding.pooling import Pooled, Span

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)


class OnnxEmbedder:
    """The default back-end (fp32). Cheap to construct; `load()` builds or verifies the cached ONNX file once.

    `document_precision` (QA_DOCUMENT_PRECISION) runs documents (`embed_spans`: chunks and their sentences) on
    another file than questions (`embed`): int8 documents with fp32 questions halve the model's CPU at ingest.
    The backend name then says both, so an index is never read with vectors of another mix.
    """

    def __init__(
        self,
        name: str = DEFAULT_EMBEDDING_MODEL,
        *,
        precision: Precision = "fp32",
        cache_dir: Path | None = None,
        threads: int = 1,
        bulk_threads: int | None = None,
        batch_size: int = 32,
        document_precision: Precision | None = None,
    ) -> None:
        for given in (precision, document_precision or precision):
            if given not in BACKENDS:
                raise ValueError(f"precision must be one of {sorted(BACKENDS)}, got {given!r}")
        self.name = name
        self.precision: Precision = precision
        self.document_precision: Precision = document_precision or precision
        self.backend = BACKENDS[precision]
        if self.document_precision != precision:
            self.backend += f"+documents-{BACKENDS[self.document_precision]}"
        self.cache_dir = cache_dir or default_cache_dir() / "onnx"
        self.threads = threads
        self.bulk_threads = bulk_threads or threads
        self.batch_size = batch_size
        self._files: OnnxModelFiles | None = None
        self._serving: OnnxSession | None = None
        self._bulk: OnnxSession | None = None
        self._document_files: OnnxModelFiles | None = None
        self._documents: dict[bool, OnnxSession] = {}  # by bulk: sessions of the document file, when it differs
        self._counter: Tokenizer | None = None
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
                if self.document_precision != self.precision:
                    self._document_files = ensure_onnx_model(self.name, self.document_precision, self.cache_dir)
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
        assert self._counter is not None  # load() sets it
        if self.files.do_lower_case:
            text = text.lower()
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str], *, show_progress: bool = False, bulk: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session = self._bulk_session() if bulk else self._serving_session()
        return session.embed(texts, batch_size=self.batch_size, progress=show_progress)

    def embed_spans(self, texts: list[str], spans: Sequence[Sequence[Span]], *, bulk: bool = False) -> Pooled:
        if self.document_precision != self.precision:
            session = self._document_session(bulk)
        else:
            session = self._bulk_session() if bulk else self._serving_session()
        return session.embed_spans(texts, spans, batch_size=self.batch_size)

    def _document_session(self, bulk: bool) -> OnnxSession:
        """A session of the document file: every ingest thread when `bulk`, else the serving threads."""
        if self._document_files is None:
            self.load()
        assert self._document_files is not None  # load() sets it when the precisions differ
        with self._lock:
            if bulk not in self._documents:
                threads = max(self.bulk_threads, self.threads) if bulk else self.threads
                self._documents[bulk] = self._session(self._document_files, threads)
            return self._documents[bulk]

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
