"""Filters (`schemas.Filters`) in the Milvus store: a filter expression over the document rows (date and outlet
live in their `meta` JSON), and for searches the chunks of the documents it allows (`doc_id in [...]`, an
indexed field of the chunks), so a filtered question still gets its top k from the engine itself. Outlets are
compared by `schemas.outlet_key`, which Milvus expressions cannot compute: the outlets asked for are first
resolved to the names stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa_service.schemas import Filters, outlet_key
from qa_service.store.milvus.expressions import is_in, quote

if TYPE_CHECKING:
    from qa_service.store.milvus.store import MilvusStore


def stored_outlets(store: MilvusStore, wanted: list[str]) -> list[str]:
    """The outlet names stored that match `wanted` by key ("daily ledger" finds "Daily Ledger"); `wanted` itself
    when none does (so the expression still matches nothing)."""
    keys = {outlet_key(name) for name in wanted}
    found = {
        source
        for row in store.iterate("documents", "", ["meta"])
        if isinstance(source := (row["meta"] or {}).get("source"), str) and outlet_key(source) in keys
    }
    return sorted(found) or wanted


def documents_expression(store: MilvusStore, filters: Filters) -> str:
    """The expression over the documents collection ("" when nothing is filtered; a missing date fails a bound)."""
    parts: list[str] = []
    if filters.date_from is not None:
        parts.append(f'meta["date"] >= {quote(filters.date_from)}')
    if filters.date_to is not None:
        parts.append(f'meta["date"] <= {quote(filters.date_to)}')
    if filters.sources is not None:  # `in [...]` takes a field, not a JSON path (Milvus Lite): equalities
        outlets = stored_outlets(store, filters.sources)
        parts.append(" or ".join(f'meta["source"] == {quote(source)}' for source in outlets))
    if filters.doc_ids is not None:
        parts.append(is_in("doc_id", filters.doc_ids))
    return " and ".join(f"({p})" for p in parts)


def chunks_expression(store: MilvusStore, filters: Filters | None) -> str | None:
    """The expression over the chunks collection for these filters: "" for none, None when no document matches."""
    if filters is None or not filters.active:
        return ""
    if filters.doc_ids is not None and not (filters.date_from or filters.date_to or filters.sources):
        return is_in("doc_id", filters.doc_ids)
    doc_ids = sorted(
        {row["doc_id"] for row in store.iterate("documents", documents_expression(store, filters), ["doc_id"])}
    )
    return is_in("doc_id", doc_ids) if doc_ids else None
