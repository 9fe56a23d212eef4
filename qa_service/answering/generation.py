"""Optional generator: an OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, ...).

Off by default (`QA_LLM_BASE_URL` unset). The model sees numbered passages and must cite them as [n];
every citation is checked against the passages and invented ones are dropped. When the endpoint is
down, slow, or its reply is unusable, the offline extractive answer stands.
"""

from __future__ import annotations

import logging
import re

import httpx

from qa_service.answering.context import AnswerContext, Extraction
from qa_service.answering.quotes import make_citation
from qa_service.text.terms import terms

log = logging.getLogger(__name__)

NOT_FOUND = "NOT IN THE ARTICLES"
SYSTEM_PROMPT = (
    "You answer questions using only the numbered news passages given. Answer in one or two short "
    "sentences and cite the passages you used as [1], [2], ... right after the claim. If the passages "
    f"do not answer the question, reply exactly: {NOT_FOUND}"
)
_MARKER = re.compile(r"\[(\d{1,2})\]")


class LLMAnswerer:
    """Talks to `{base_url}/chat/completions`; one short request per question, with a hard timeout."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 20.0) -> None:
        self.name = f"llm:{model}"
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def load(self) -> LLMAnswerer:
        return self

    def prompt(self, question: str, passages: list[str]) -> list[dict[str, str]]:
        numbered = "\n\n".join(f"[{i}] {text}" for i, text in enumerate(passages, 1))
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Passages:\n\n{numbered}\n\nQuestion: {question}"},
        ]

    def answer(self, context: AnswerContext, fallback: Extraction) -> Extraction:
        hits = context.hits
        if not hits:
            return fallback
        chunks = [h.chunk for h in hits]
        try:
            response = httpx.post(
                self.url,
                json={
                    "model": self.model,
                    "messages": self.prompt(context.question.text, [context.chunk_text(h) for h in hits]),
                    "temperature": 0,
                },
                headers=self._headers,
                timeout=self.timeout_s,
            )
            response.raise_for_status()
            reply = str(response.json()["choices"][0]["message"]["content"]).strip()
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            log.warning("LLM endpoint unusable (%s); using the extractive answer", exc)
            return fallback
        if NOT_FOUND.lower() in reply.lower():
            return Extraction(answerable=False, confidence=fallback.confidence, answer=None, citations=[])
        cited = [int(n) for n in _MARKER.findall(reply)]
        valid = list(dict.fromkeys(n for n in cited if 1 <= n <= len(chunks)))  # drop invented passage numbers
        if not valid or not reply:
            return fallback
        claim_terms = set(terms(_MARKER.sub("", reply)))
        citations = []
        for number, n in enumerate(valid, 1):
            chunk = chunks[n - 1]
            start, end = self._best_sentence(context, chunk.doc_id, chunk.start, chunk.end, claim_terms)
            document = context.documents[chunk.doc_id]
            citations.append(make_citation(number, document, start, end, hits[n - 1].score))
        renumber = {old: new for new, old in enumerate(valid, 1)}
        answer = _MARKER.sub(lambda m: f"[{renumber[int(m.group(1))]}]" if int(m.group(1)) in renumber else "", reply)
        return Extraction(answerable=True, confidence=fallback.confidence, answer=answer.strip(), citations=citations)

    @staticmethod
    def _best_sentence(
        context: AnswerContext, doc_id: str, start: int, end: int, claim_terms: set[str]
    ) -> tuple[int, int]:
        """Cite the sentence of the passage that shares most words with the generated claim."""
        sentences = [s for s in context.sentences.get(doc_id, []) if start <= s.start < end]
        if not sentences:
            return start, end
        best = max(sentences, key=lambda s: len(claim_terms & set(terms(context.sentence_text(s)))))
        return best.start, best.end
