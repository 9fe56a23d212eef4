"""Markdown articles reduced to their words (markdown-it-py): no `#`, `**`, `- ` or `[text](url)` in titles,
quotes and answers. Headings, paragraphs and list items become paragraphs; links and images keep their text."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qa_service.ingest.converters.article import Article
from qa_service.ingest.converters.text import decode, with_date_line

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

_BLOCK_ENDS = {"paragraph_close", "heading_close", "th_close", "td_close", "tr_close"}
_CELL_SEPARATOR = "; "


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").enable("strikethrough")


def to_text(markdown: str) -> str:
    """Plain text, one block per paragraph (blank line between); inline markup dropped, its words kept."""
    blocks: list[str] = []
    row: list[str] = []
    current: list[str] = []
    for token in _parser().parse(markdown):
        if token.type == "inline":
            current.append(_inline_text(token.children or []))
        elif token.type in ("fence", "code_block"):
            blocks.extend(line for line in token.content.split("\n") if line.strip())
        elif token.type in _BLOCK_ENDS:
            text = " ".join(part for part in current if part).strip()
            current = []
            if token.type in ("th_close", "td_close"):
                row.append(text)
            elif token.type == "tr_close":
                blocks.append(_CELL_SEPARATOR.join(cell for cell in row if cell))
                row = []
            elif text:
                blocks.append(text)
    return "\n\n".join(block for block in blocks if block)


def _inline_text(children: list[Any]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "image":  # its alt text is in its children
            parts.append(_inline_text(child.children or []))
        elif child.type == "softbreak":
            parts.append(" ")  # a wrapped line continues its paragraph
        elif child.type == "hardbreak":
            parts.append("\n")
    return "".join(parts)


def convert(data: bytes, name: str) -> Article:
    return with_date_line(to_text(decode(data)), name)
