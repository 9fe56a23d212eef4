"""Filters (`schemas.Filters`) in the embedded store: one SQL condition over `documents`, used as it is by the
listing and the keyword search, and turned into the chunk ids FAISS may return (an id selector) for the dense
search, so a filtered question still gets its top k."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from qa_service.schemas import Filters, outlet_key

SQL_OUTLET_KEY = "outlet_key"  # `schemas.outlet_key` in SQL (registered on every connection: `register`)


def register(db: sqlite3.Connection) -> None:
    """Make `outlet_key(source)` callable in this connection's SQL (NULL for a NULL outlet)."""
    db.create_function(SQL_OUTLET_KEY, 1, lambda v: None if v is None else outlet_key(str(v)), deterministic=True)


@dataclass(frozen=True)
class ChunkSelection:
    """The chunks a filter allows, as the shorter list: those allowed (`include`) or those left out."""

    ids: np.ndarray  # int64 chunk ids
    include: bool
    fraction: float  # of all chunks, the share allowed (IVF indexes probe more lists for a small share)


def condition(filters: Filters, alias: str = "d") -> tuple[str, list[object]]:
    """A SQL condition on the documents table (as `alias`) and its parameters; "1" when nothing is filtered."""
    clauses: list[str] = []
    params: list[object] = []
    if filters.date_from is not None:
        clauses.append(f"{alias}.date >= ?")
        params.append(filters.date_from)
    if filters.date_to is not None:
        clauses.append(f"{alias}.date <= ?")
        params.append(filters.date_to)
    if filters.sources is not None:
        keys = sorted({outlet_key(source) for source in filters.sources})
        clauses.append(f"{SQL_OUTLET_KEY}({alias}.source) IN ({','.join('?' * len(keys))})")
        params.extend(keys)
    if filters.doc_ids is not None:
        clauses.append(f"{alias}.doc_id IN ({','.join('?' * len(filters.doc_ids))})")
        params.extend(filters.doc_ids)
    return (" AND ".join(clauses) or "1"), params


def chunk_selection(db: sqlite3.Connection, filters: Filters, total_chunks: int) -> ChunkSelection:
    """The chunk ids of the documents the filters allow, or of those they do not when that list is shorter."""
    where, params = condition(filters)
    (allowed,) = db.execute(f"SELECT coalesce(sum(d.chunk_count), 0) FROM documents d WHERE {where}", params).fetchone()
    include = allowed * 2 <= total_chunks
    test = where if include else f"NOT coalesce(({where}), 0)"  # an undated article fails a date bound
    rows = db.execute(f"SELECT c.chunk_id FROM chunks c JOIN documents d ON d.id = c.doc WHERE {test}", params)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64)
    return ChunkSelection(ids=ids, include=include, fraction=allowed / total_chunks if total_chunks else 0.0)
