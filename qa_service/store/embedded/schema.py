"""The embedded store's SQLite schema: tables, the `meta` rows, creating, emptying, checking and upgrading.

Columns added since format 2 (`documents.label`, `.url`, `.author`, `sentences.terms`, `sentences.phrases`) are
added to an older database on open (`ALTER TABLE ... ADD COLUMN`, instant at any size) and read NULL for the rows
written before: the indexer fills labels and sentence terms (`unfinished` / `finish`) and the sentence phrases
(`untyped_sentences` / `set_phrases`), since the store itself never analyses text.
"""

from __future__ import annotations

import sqlite3
import uuid

from qa_service.errors import IndexMismatchError
from qa_service.store.base import REBUILD_HINT, IndexConfig

FORMAT_VERSION = 2
DB_NAME = "store.sqlite3"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    title TEXT,
    date TEXT,
    source TEXT,
    origin TEXT,
    content_hash TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    sentence_count INTEGER NOT NULL,
    label TEXT,
    url TEXT,
    author TEXT
);
CREATE INDEX documents_hash ON documents (content_hash);
CREATE INDEX documents_date ON documents (date);
CREATE INDEX documents_source ON documents (source);
CREATE INDEX documents_incomplete ON documents (id) WHERE label IS NULL;
CREATE TABLE chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX chunks_doc ON chunks (doc);
CREATE TABLE sentences (
    doc INTEGER NOT NULL,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    vector BLOB NOT NULL,
    terms TEXT,
    phrases TEXT,
    PRIMARY KEY (doc, ordinal)
);
CREATE INDEX sentences_span ON sentences (doc, start, "end", ordinal);
CREATE INDEX sentences_untyped ON sentences (doc, ordinal) WHERE phrases IS NULL;
CREATE VIRTUAL TABLE chunk_fts USING fts5 (terms, tokenize = 'unicode61 remove_diacritics 0');
CREATE TABLE terms (term TEXT PRIMARY KEY, chunks INTEGER NOT NULL, sentences INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE changes (generation INTEGER NOT NULL, chunk_id INTEGER NOT NULL, added INTEGER NOT NULL);
CREATE INDEX changes_generation ON changes (generation);
"""
TABLES = ("meta", "documents", "chunks", "sentences", "chunk_fts", "terms", "changes")
# (table, column, type) added to format 2 after it shipped: NULL in rows written before
ADDED_COLUMNS = (
    ("documents", "label", "TEXT"),
    ("sentences", "terms", "TEXT"),
    ("sentences", "phrases", "TEXT"),
    ("documents", "url", "TEXT"),
    ("documents", "author", "TEXT"),
)
# partial indexes that find those rows without a scan (a new write always fills the label and the phrases)
ADDED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS documents_incomplete ON documents (id) WHERE label IS NULL",
    "CREATE INDEX IF NOT EXISTS sentences_untyped ON sentences (doc, ordinal) WHERE phrases IS NULL",
    # filters (date range, outlet) and the outlet counts read these
    "CREATE INDEX IF NOT EXISTS documents_date ON documents (date)",
    "CREATE INDEX IF NOT EXISTS documents_source ON documents (source)",
)


def create(db: sqlite3.Connection, config: IndexConfig) -> None:
    """The tables and meta rows of an empty store, inside the open transaction."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)  # not executescript: that would commit the open transaction first
    values = {
        "format_version": FORMAT_VERSION,
        "store_id": uuid.uuid4().hex,
        "generation": 0,
        "reset_generation": 0,
        "changes_from": 0,
        "documents": 0,
        "chunks": 0,
        "sentences": 0,
        **config.meta(),
    }
    db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in values.items()])


def reset(db: sqlite3.Connection, config: IndexConfig) -> None:
    """Empty the store in one transaction (drop and recreate: fast at any size), keep the generation rising."""
    generation = int(meta(db, "generation")) + 1
    for table in TABLES:
        db.execute(f"DROP TABLE IF EXISTS {table}")
    create(db, config)
    for key, value in (("generation", generation), ("reset_generation", generation), ("changes_from", generation)):
        set_meta(db, key, value)


def check(db: sqlite3.Connection, config: IndexConfig, where: str) -> None:
    """Refuse a database of another format or built with other settings."""
    version = meta(db, "format_version")
    if version != str(FORMAT_VERSION):
        raise IndexMismatchError(
            f"index {where} has format version {version}, this service reads {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    config.check(stored_config(db), where)


def upgrade(db: sqlite3.Connection) -> list[str]:
    """Add the columns an older format-2 database lacks; returns those added."""
    added = []
    for table, column, kind in ADDED_COLUMNS:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {kind}')
            added.append(f"{table}.{column}")
    if added:
        for statement in ADDED_INDEXES:
            db.execute(statement)
    return added


def stored_config(db: sqlite3.Connection) -> IndexConfig:
    """The settings a store database was built with (its `meta` rows)."""
    return IndexConfig.from_meta(dict(db.execute("SELECT key, value FROM meta WHERE key LIKE 'config.%'").fetchall()))


def meta(db: sqlite3.Connection, key: str) -> str:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise sqlite3.DatabaseError(f"meta key {key!r} is missing")
    return row[0]


def set_meta(db: sqlite3.Connection, key: str, value: object) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))


def table_exists(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None
