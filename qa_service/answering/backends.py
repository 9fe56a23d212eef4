"""Optional answer back-ends (a local reader model, an OpenAI-compatible LLM) and how settings pick one."""

from __future__ import annotations

from typing import Protocol

from qa_service.answering.context import AnswerContext, Extraction
from qa_service.config import Settings


class AnswerBackend(Protocol):
    """An optional answerer that refines the extractive one and falls back to it when it cannot help."""

    name: str

    def load(self) -> AnswerBackend: ...

    def answer(self, context: AnswerContext, fallback: Extraction) -> Extraction: ...


def build_backend(settings: Settings) -> AnswerBackend | None:
    """The back-end the settings ask for: an OpenAI-compatible LLM, a local reader model, or none."""
    if settings.llm_base_url:
        from qa_service.answering.generation import LLMAnswerer

        if not settings.llm_model:
            raise ValueError("QA_LLM_BASE_URL is set but QA_LLM_MODEL is not: name the model to use")
        return LLMAnswerer(
            settings.llm_base_url, settings.llm_model, api_key=settings.llm_api_key, timeout_s=settings.llm_timeout_s
        )
    if settings.reader_model:
        from qa_service.answering.reader import ReaderAnswerer

        return ReaderAnswerer(settings.reader_model, max_answer_chars=settings.max_answer_chars)
    return None
