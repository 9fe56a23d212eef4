"""`"explain": true`: the candidates an answerer weighed, each with its signals, and the rule that decided."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa_service.schemas import ExplainedCandidate, Explanation

if TYPE_CHECKING:
    from qa_service.answering.candidates import Candidate
    from qa_service.answering.context import AnswerContext
    from qa_service.reader.runtime import Reading

SHOWN = 8  # candidates listed: the reader reads fewer, the rest show what the first pass ranked below them


def explained(
    context: AnswerContext,
    ranked: Sequence[Candidate],
    decision: str,
    *,
    answerer: str = "rules",
    readings: Sequence[Reading] = (),
    combined: Sequence[float] = (),
    chosen: Candidate | None = None,
    short_answer: str | None = None,
) -> Explanation:
    """`ranked` in the answerer's order; `readings`/`combined` for its first candidates when the reader read them."""
    out = []
    for i, candidate in enumerate(ranked[:SHOWN]):
        sentence = candidate.sentence
        text = context.sentence_text(sentence)
        phrase = candidate.phrase
        reading = readings[i] if i < len(readings) else None
        out.append(
            ExplainedCandidate(
                doc_id=sentence.doc_id,
                start=sentence.start,
                end=sentence.end,
                sentence=text,
                score=round(candidate.score, 4),
                features={
                    "dense": round(candidate.dense, 4),
                    "overlap": round(candidate.overlap, 4),
                    "context": round(candidate.context, 4),
                    "chunk": round(candidate.chunk, 4),
                    "typed": round(candidate.typed, 4),
                },
                phrase=context.text(sentence.doc_id, phrase.start, phrase.end) if phrase else None,
                reader=round(reading.probability, 4) if reading else None,
                reader_answer=text[reading.span[0] : reading.span[1]] if reading and reading.span else None,
                combined=round(combined[i], 4) if i < len(combined) else None,
                chosen=candidate is chosen,
            )
        )
    return Explanation(answerer=answerer, decision=decision, short_answer=short_answer, candidates=out)
