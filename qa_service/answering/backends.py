"""The answerer the settings ask for (the reader or the rules), and the optional LLM back-end that refines it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from qa_service.answering.context import AnswerContext, Extraction
from qa_service.answering.extractive import ExtractiveAnswerer
from qa_service.config import Settings

if TYPE_CHECKING:
    from qa_service.answering.reading import ReadingAnswerer


class Answerer(Protocol):
    """Decides the answer from an `AnswerContext`: the reader (default) or the rules alone."""

    name: str
    below_threshold_reason: str | None  # the reason an abstention below `threshold` gives (the sweep applies it)

    @property
    def threshold(self) -> float:
        """Below this confidence it abstains (what `min_score` overrides)."""
        ...

    def warm_up(self) -> Answerer: ...

    def answer(
        self, context: AnswerContext, *, min_score: float | None = None, explain: bool = False
    ) -> Extraction: ...


def build_answerer(settings: Settings) -> ExtractiveAnswerer | ReadingAnswerer:
    """`QA_ANSWERER`: "reader" (the trained model reads the first pass's best sentences) or "rules"."""
    rules = ExtractiveAnswerer(min_score=settings.min_score, max_answer_chars=settings.max_answer_chars)
    if settings.answerer == "rules":
        return rules
    from qa_service.answering.reading import ReaderPolicy, ReadingAnswerer
    from qa_service.reader.runtime import ReaderSession

    policy = ReaderPolicy.fitted(settings.reader_candidates, settings.reader_min_probability)
    session = ReaderSession(settings.resolved_onnx_cache_dir, precision=settings.reader_precision)
    return ReadingAnswerer(session, rules, policy)


class AnswerBackend(Protocol):
    """An optional answerer that refines the chosen one and falls back to it when it cannot help."""

    name: str

    def load(self) -> AnswerBackend: ...

    def answer(self, context: AnswerContext, fallback: Extraction) -> Extraction: ...


def build_backend(settings: Settings) -> AnswerBackend | None:
    """The back-end the settings ask for: an OpenAI-compatible LLM, or none."""
    if settings.llm_base_url:
        from qa_service.answering.generation import LLMAnswerer

        if not settings.llm_model:
            raise ValueError("QA_LLM_BASE_URL is set but QA_LLM_MODEL is not: name the model to use")
        return LLMAnswerer(
            settings.llm_base_url, settings.llm_model, api_key=settings.llm_api_key, timeout_s=settings.llm_timeout_s
        )
    return None
