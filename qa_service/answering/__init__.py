"""Answering: from a question and the retrieved chunks to a quoted answer with exact citations, or an abstention.

Every answerer gets the same `AnswerContext` (the question, the retrieved chunks, the sentences around them,
the store) and returns an `Extraction`; none reaches into another.

| module | concern |
| --- | --- |
| `question.py` | `QuestionAnalysis`, built once per question: terms, names, years, the kind of answer, its target |
| `context.py` | `AnswerContext` (what an answerer reads) and `Extraction` (what it returns) |
| `candidates.py` | candidate sentences scored by meaning, shared words, retrieval and typed phrases |
| `fit.py` | does a phrase answer the kind of thing asked (one function for the first pass and the short answer) |
| `reading.py` | the default answerer: the trained reader (`qa_service.reader`) reads the first pass's best sentences |
| `extractive.py` | the rules answerer (`QA_ANSWERER=rules`): type gate, best sentence; `compose` quotes for both |
| `explain.py` | `"explain": true`: the candidates weighed, their signals and the rule that decided |
| `short_answer.py`, `pronouns.py` | the words in the quote that answer (one picker, both answerers); "he said" |
| `quotes.py` | quotes cut to length and citations with exact offsets |
| `sources.py` | other articles that agree with the answer's value or give another |
| `backends.py`, `generation.py` | which answerer the settings pick; the optional OpenAI-compatible LLM back-end |
"""

from qa_service.answering.backends import AnswerBackend, Answerer, build_answerer, build_backend
from qa_service.answering.context import AnswerContext, Extraction
from qa_service.answering.extractive import ExtractiveAnswerer

__all__ = [
    "AnswerBackend",
    "AnswerContext",
    "Answerer",
    "Extraction",
    "ExtractiveAnswerer",
    "build_answerer",
    "build_backend",
]
