"""Store tests run with the deterministic fake embedder: what they check does not depend on the model."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from qa_service.analysis import sentence_spans, terms
from qa_service.config import Settings
from qa_service.ingest import make_document
from qa_service.schemas import Document
from qa_service.service import QAService

from ..conftest import SEEDS


def fake_settings(index_dir: Path, **overrides: object) -> Settings:
    values = {"index_dir": index_dir, "seeds_dir": SEEDS, "embedding_model": "hashing-fake", **overrides}
    return Settings(_env_file=None, **values)


@pytest.fixture
def fake_service(tmp_path: Path) -> QAService:
    return QAService(fake_settings(tmp_path / "index")).load()


def article(n: int, topic: str = "library") -> Document:
    text = (
        f"Riverton {n} opens a {topic}\n\n"
        f"The town council of Riverton {n} approved a budget for a new public {topic} on Monday. "
        f"Construction will start in spring {2030 + n} and the {topic} will hold {n + 1}0,000 books. "
        f"Mayor Ada Quill{n} said the {topic} would open in {2032 + n}."
    )
    return make_document(text, f"riverton-{n}")


def database_rows(index_dir: Path) -> dict[str, object]:
    """Everything the store holds, read straight from SQLite, to compare a store with a clean build of it."""
    db = sqlite3.connect(index_dir / "store.sqlite3")
    try:
        documents = {
            r[0]: r[1:]
            for r in db.execute("SELECT doc_id, text, title, date, content_hash, chunk_count FROM documents")
        }
        chunks = sorted(
            (doc_id, s, e, bytes(v))
            for doc_id, s, e, v in db.execute(
                'SELECT d.doc_id, c.start, c."end", c.vector FROM chunks c JOIN documents d ON d.id = c.doc'
            )
        )
        sentences = sorted(
            db.execute(
                'SELECT d.doc_id, s.ordinal, s.start, s."end", s.vector '
                "FROM sentences s JOIN documents d ON d.id = s.doc"
            )
        )
        keyword_rows = [set(r[0].split()) for r in db.execute("SELECT terms FROM chunk_fts")]
        term_counts = dict((t, (c, s)) for t, c, s in db.execute("SELECT term, chunks, sentences FROM terms"))
        meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('documents', 'chunks', 'sentences')"))
    finally:
        db.close()
    return {
        "documents": documents,
        "chunks": chunks,
        "sentences": sentences,
        "keyword_rows": keyword_rows,
        "term_counts": term_counts,
        "meta": meta,
    }


def assert_store_consistent(index_dir: Path) -> dict[str, object]:
    """Every document whole: its chunk and sentence rows, keyword rows and term counts all agree with its text."""
    rows = database_rows(index_dir)
    documents = rows["documents"]
    assert {c[0] for c in rows["chunks"]} == set(documents)
    for doc_id, (text, *_rest, chunk_count) in documents.items():
        mine = [c for c in rows["chunks"] if c[0] == doc_id]
        assert len(mine) == chunk_count
        assert [(s[2], s[3]) for s in rows["sentences"] if s[0] == doc_id] == sentence_spans(text)
    assert len(rows["keyword_rows"]) == len(rows["chunks"])
    expected: dict[str, list[int]] = {}
    for words in rows["keyword_rows"]:
        for term in words:
            expected.setdefault(term, [0, 0])[0] += 1
    for doc_id, (text, *_rest) in documents.items():
        for _, start, end in ((s[0], s[2], s[3]) for s in rows["sentences"] if s[0] == doc_id):
            for term in set(terms(text[start:end])):
                expected.setdefault(term, [0, 0])[1] += 1
    assert rows["term_counts"] == {t: tuple(v) for t, v in expected.items()}
    assert rows["meta"] == {
        "documents": str(len(documents)),
        "chunks": str(len(rows["chunks"])),
        "sentences": str(len(rows["sentences"])),
    }
    return rows
