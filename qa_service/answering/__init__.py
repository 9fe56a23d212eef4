"""Answering: from a question and the retrieved chunks to a quoted answer with exact citations, or an abstention.

Every answerer gets the same `AnswerContext` (the question, the retrieved chunks, the sentences around them,
the store) and returns an `Extraction`; none reaches into another.

| module | concern |
| --- | --- |
| `question.py` | what kind of answer the question asks for |
| `context.py` | `AnswerContext` (what an answerer reads) and `Extraction` (what it returns) |
| `spans.py` | short answers: the words in the quote that answer the question |
| `quotes.py` | quotes cut to length and citations with exact offsets |
| `extractive.py` | the default answerer: scores sentences, picks and quotes the best, or abstains |
| `backends.py`, `reader.py`, `generation.py` | optional back-ends: a local QA model, an OpenAI-compatible LLM |
"""

from qa_service.answering.backends import AnswerBackend, build_backend
from qa_service.answering.context import AnswerContext, Extraction
from qa_service.answering.extractive import ExtractiveAnswerer

__all__ = ["AnswerBackend", "AnswerContext", "Extraction", "ExtractiveAnswerer", "build_backend"]
