"""Split documents into token-bounded chunks that remember where they came from."""

from __future__ import annotations

from collections.abc import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from qa_service.budget import checkpoint
from qa_service.schemas import Chunk, Document

SPECIAL_TOKENS = 2  # [CLS] and [SEP] count against the model's max_seq_length


class Chunker:
    """Chunks are measured in the embedding model's word pieces, so none is silently truncated."""

    def __init__(self, chunk_size: int, chunk_overlap: int, count_tokens: Callable[[str], int], max_tokens: int):
        if chunk_size + SPECIAL_TOKENS > max_tokens:
            raise ValueError(
                f"QA_CHUNK_SIZE={chunk_size} does not fit the embedding model's limit of {max_tokens} tokens "
                f"(at most {max_tokens - SPECIAL_TOKENS})"
            )

        def measure(text: str) -> int:  # the splitter's inner loop: where a document's CPU budget is checked
            checkpoint("chunking")
            return count_tokens(text)

        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            length_function=measure,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
            keep_separator="end",
            strip_whitespace=True,
        )

    def split(self, document: Document, first_chunk_id: int) -> list[Chunk]:
        chunks: list[Chunk] = []
        search_from = 0
        for offset, piece in enumerate(self._splitter.split_text(document.text)):
            start = document.text.find(piece, search_from)
            if start < 0:  # cannot happen with strip-only splitting; fail loudly rather than cite wrong text
                raise RuntimeError(f"chunk of {document.doc_id!r} not found in its text")
            chunks.append(
                Chunk(
                    chunk_id=first_chunk_id + offset,
                    doc_id=document.doc_id,
                    start=start,
                    end=start + len(piece),
                    text=piece,
                )
            )
            search_from = start + 1
        return chunks
