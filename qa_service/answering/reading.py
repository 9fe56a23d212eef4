"""The reading answerer (the default): a cheap first pass ranks sentences, the trained reader reads the best few.

The first pass (`CandidateScorer`: meaning, shared words, retrieval, answer type) is good at finding the
answer's neighbourhood (the answer is in its top 4 for most news-dev questions) and poor at choosing within
it. The reader (`qa_service.reader`, MiniLM-L6 trained here on question-sentence pairs) reads the question and
each of those few sentences together, in one batched call, and decides: which sentence answers (its logit
plus the first-pass score as a prior), whether any does (abstain below `min_probability`), and the short
answer (its span, widened to the whole typed phrase it falls in: "$3.2bn", not "3.2"; `short_answer.short_answer`).
The quote, citations, "he said" and sources are the extractive answerer's (`ExtractiveAnswerer.compose`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from qa_service.answering.candidates import Candidate
from qa_service.answering.context import AnswerContext, Extraction
from qa_service.answering.explain import explained
from qa_service.answering.extractive import ExtractiveAnswerer
from qa_service.reader.runtime import ReaderSession, Reading
from qa_service.schemas import Explanation

FEATURES = ("reader", "score", "dense", "overlap", "context", "chunk", "typed", "rank")


@dataclass(frozen=True)
class ReaderPolicy:
    """How the reader's readings become a decision (chosen on news-dev; see README and devtools/tune_reader.py).

    A small logistic combiner weighs the reader's logit with the first pass's signals (`FEATURES`); its
    weights are fitted by `devtools.tune_reader` and kept beside the reader's (`weights/combiner.json`)."""

    candidates: int = 6  # sentences the reader reads per question
    min_probability: float = 0.5  # below this for the chosen sentence: abstain
    weights: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # per FEATURES: the reader alone
    bias: float = 0.0

    @classmethod
    def fitted(cls, candidates: int | None = None, min_probability: float | None = None) -> ReaderPolicy:
        """The combiner in `weights/combiner.json` (the reader alone when there is none); the arguments, when
        given, override the number of sentences read and the minimum probability fitted with it."""
        found = load_combiner()
        if found is None:
            return cls(candidates or cls.candidates, 0.5 if min_probability is None else min_probability)
        weights, bias, floor, fitted_candidates = found
        return cls(
            candidates or fitted_candidates, floor if min_probability is None else min_probability, weights, bias
        )

    def logit(self, candidate: Candidate, reading: Reading, rank: int) -> float:
        values = features(candidate, reading, rank)
        return self.bias + sum(w * v for w, v in zip(self.weights, values, strict=True))


def features(candidate: Candidate, reading: Reading, rank: int) -> tuple[float, ...]:
    """The combiner's inputs, in `FEATURES` order."""
    c = candidate
    return (reading.logit, c.score, c.dense, c.overlap, c.context, c.chunk, c.typed, float(rank))


def load_combiner() -> tuple[tuple[float, ...], float, float, int] | None:
    import json

    from qa_service.reader.package import weights_dir

    path = weights_dir() / "combiner.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path} was fitted on other features: refit it (python -m devtools.tune_reader)")
    weights = tuple(float(w) for w in data["weights"])
    return weights, float(data["bias"]), float(data["min_probability"]), int(data["candidates"])


class ReadingAnswerer:
    """Cheap to construct; `warm_up()` loads spaCy and the reader's ONNX session."""

    name = "reader"
    below_threshold_reason: str | None = "No sentence of the articles answers this."

    def __init__(self, session: ReaderSession, rules: ExtractiveAnswerer, policy: ReaderPolicy | None = None) -> None:
        self.session = session
        self.rules = rules
        self.policy = policy or ReaderPolicy()

    @property
    def threshold(self) -> float:
        return self.policy.min_probability

    def warm_up(self) -> ReadingAnswerer:
        self.rules.warm_up()
        self.session.load()
        return self

    def answer(self, context: AnswerContext, *, min_score: float | None = None, explain: bool = False) -> Extraction:
        """`min_score` overrides the reader's minimum probability (the evaluation's threshold sweep)."""
        ranked = self.rules.candidates(context)
        if not ranked:
            return Extraction(answerable=False, confidence=0.0, answer=None, citations=[])
        pool = ranked[: self.policy.candidates]
        readings = self.session.read(
            context.question.text, [(context.sentence_text(c.sentence), before(context, c)) for c in pool]
        )
        combined = [self.policy.logit(c, r, i) for i, (c, r) in enumerate(zip(pool, readings, strict=True))]
        best = max(range(len(pool)), key=lambda i: combined[i])
        chosen, reading = pool[best], readings[best]
        probability = 1.0 / (1.0 + math.exp(-combined[best]))
        floor = self.policy.min_probability if min_score is None else min_score

        def why(decision: str, bold: str | None = None) -> Explanation | None:
            if not explain:
                return None
            return explained(
                context,
                ranked,
                decision,
                answerer=self.name,
                readings=readings,
                combined=combined,
                chosen=chosen,
                short_answer=bold,
            )

        if probability < floor:
            decision = f"the best sentence answers with probability {probability:.2f} < {floor:.2f}"
            return Extraction(
                answerable=False,
                confidence=probability,
                answer=None,
                citations=[],
                reason=self.below_threshold_reason,
                explanation=why(decision),
            )
        order = [chosen] + [c for c in ranked if c is not chosen]
        offset = chosen.sentence.start
        marked = None if reading.span is None else (offset + reading.span[0], offset + reading.span[1])
        extraction = self.rules.compose(context, order, probability, marked)
        decision = f"the reader's choice among the first {len(pool)} (probability {probability:.2f})"
        return replace(extraction, explanation=why(decision, extraction.short_answer_rule))


def before(context: AnswerContext, candidate: Candidate) -> str:
    """The sentence before the candidate's in its article ("" for a first sentence): the reader's context."""
    previous = context.neighbour(candidate.sentence, -1)
    return context.sentence_text(previous) if previous is not None else ""
