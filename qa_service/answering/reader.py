"""Optional extractive reader: any local Hugging Face question-answering model, run on the top passages.

Off by default (`QA_READER_MODEL` unset). Its span is mapped back to document offsets, so citations
stay exact; if it finds nothing or fails, the offline extractive answer stands.
"""

from __future__ import annotations

import logging

from qa_service.answering.context import AnswerContext, Extraction
from qa_service.answering.quotes import fit_quote, make_citation, sentence_around, shown
from qa_service.schemas import AnswerSpan

log = logging.getLogger(__name__)


class ReaderAnswerer:
    """Cheap to construct; `load()` reads the model from a local folder (nothing is downloaded).

    transformers 5 dropped the question-answering pipeline, so the span search is done here: the best
    start/end pair inside the passage, compared with the model's "no answer" score at [CLS].
    """

    def __init__(
        self,
        model_path: str,
        *,
        min_score: float = 0.5,
        passages: int = 3,
        max_answer_tokens: int = 30,
        max_answer_chars: int = 300,
    ) -> None:
        self.name = f"reader:{model_path}"
        self.max_answer_chars = max_answer_chars
        self.model_path = model_path
        self.min_score = min_score
        self.passages = passages
        self.max_answer_tokens = max_answer_tokens
        self._model = None
        self._tokenizer = None

    def load(self) -> ReaderAnswerer:
        if self._model is None:
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer

            try:
                self._tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
                self._model = AutoModelForQuestionAnswering.from_pretrained(self.model_path, local_files_only=True)
            except Exception as exc:  # many error types; the user needs one clear message
                raise RuntimeError(f"cannot load QA_READER_MODEL {self.model_path!r}: {exc}") from exc
            self._model.eval()
        return self

    def best_span(self, question: str, context: str) -> tuple[int, int, float] | None:
        """(start, end, confidence) in `context` characters, or None when "no answer" wins."""
        import torch

        encoded = self._tokenizer(
            question,
            context,
            truncation="only_second",
            max_length=384,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = encoded.pop("offset_mapping")[0].tolist()
        sequence_ids = encoded.sequence_ids(0)
        with torch.no_grad():
            output = self._model(**encoded)
        start_logits, end_logits = output.start_logits[0], output.end_logits[0]
        null_score = float(start_logits[0] + end_logits[0])
        in_context = [i for i, sid in enumerate(sequence_ids) if sid == 1]
        best: tuple[float, int, int] | None = None
        top_starts = sorted(in_context, key=lambda i: -float(start_logits[i]))[:20]
        top_ends = sorted(in_context, key=lambda i: -float(end_logits[i]))[:20]
        for i in top_starts:
            for j in top_ends:
                if i <= j < i + self.max_answer_tokens:
                    score = float(start_logits[i] + end_logits[j])
                    if best is None or score > best[0]:
                        best = (score, i, j)
        if best is None or best[0] <= null_score:
            return None
        confidence = float(torch.sigmoid(torch.tensor(best[0] - null_score)))
        return offsets[best[1]][0], offsets[best[2]][1], confidence

    def answer(self, context: AnswerContext, fallback: Extraction) -> Extraction:
        hits = context.hits
        if not hits:
            return fallback
        self.load()
        found = []
        try:
            for hit in hits[: self.passages]:
                chunk = hit.chunk
                span = self.best_span(context.question.text, context.chunk_text(hit))
                if span is not None:
                    found.append((span, chunk))
        except Exception:  # a broken model must not break /ask
            log.exception("reader failed; using the extractive answer")
            return fallback
        if not found:
            return Extraction(answerable=False, confidence=0.0, answer=None, citations=[])
        (start, end, confidence), chunk = max(found, key=lambda sc: sc[0][2])
        if confidence < self.min_score or end <= start:
            return Extraction(answerable=False, confidence=confidence, answer=None, citations=[])
        span = (chunk.start + start, chunk.start + end)
        document = context.documents[chunk.doc_id]
        quote_start, quote_end = sentence_around(context, chunk.doc_id, *span)
        answer_start, answer_end = fit_quote(context, chunk.doc_id, quote_start, quote_end, span, self.max_answer_chars)
        return Extraction(
            answerable=True,
            confidence=confidence,
            answer=shown(document.text, answer_start, answer_end, quote_start, quote_end),
            citations=[make_citation(1, document, quote_start, quote_end, confidence)],
            answer_span=AnswerSpan(start=span[0], end=span[1], text=document.text[span[0] : span[1]]),
        )
