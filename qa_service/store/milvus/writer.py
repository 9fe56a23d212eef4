"""The rows of a Milvus write or delete, in the order that makes them whole (see `journal`), and the phrases of
sentences typed after they were stored."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from qa_service.store.base import Phrases, PreparedDocument, batched, encode_phrases
from qa_service.store.milvus import journal
from qa_service.store.milvus.expressions import MAX_VARCHAR, fit, is_in, quote
from qa_service.store.milvus.schema import PAD

if TYPE_CHECKING:
    from qa_service.store.milvus.store import MilvusStore

TEXT_PIECE = 16_000  # characters per text row: at most 64,000 bytes of UTF-8
FILTER_ITEMS = 500  # ids in one `in [...]` filter
UPSERT_ROWS = 1_000  # sentences whose phrases one request sets


def write(store: MilvusStore, documents: Sequence[PreparedDocument]) -> int:
    """Rows first under a new write id, then the document rows (the commit), then the old version's rows."""
    if not documents:
        return store.generation()
    write_id = journal.new_write_id()
    doc_ids = [p.document.doc_id for p in documents]
    old = store.heads(doc_ids)
    journal.begin(store, write_id, doc_ids)
    texts, chunks, sentences, heads = [], [], [], []
    chunk_ids = new_chunk_ids(store, sum(len(p.chunks) for p in documents))
    for prepared in documents:
        d = prepared.document
        pieces = [d.text[i : i + TEXT_PIECE] for i in range(0, len(d.text), TEXT_PIECE)] or [""]
        texts.extend(
            {"doc_id": d.doc_id, "write_id": write_id, "part": i, "text": piece, "pad": PAD}
            for i, piece in enumerate(pieces)
        )
        vectors = np.ascontiguousarray(prepared.chunk_vectors, dtype=np.float32)
        for (start, end), vector, words in zip(prepared.chunks, vectors, prepared.chunk_terms, strict=True):
            chunks.append(
                {
                    "chunk_id": chunk_ids.pop(),
                    "doc_id": d.doc_id,
                    "write_id": write_id,
                    "start": start,
                    "end": end,
                    "terms": fit(words),
                    "vector": vector.tolist(),
                }
            )
        # float16 precision, as the embedded store keeps them: both stores score answers on the same values
        sentence_vectors = np.asarray(prepared.sentence_vectors, dtype=np.float16).astype(np.float32)
        for ordinal, ((start, end), vector, words) in enumerate(
            zip(prepared.sentences, sentence_vectors, prepared.sentence_terms, strict=True)
        ):
            sentences.append(
                {
                    "doc_id": d.doc_id,
                    "write_id": write_id,
                    "ordinal": ordinal,
                    "start": start,
                    "end": end,
                    "terms": fit(sorted(set(words))),  # presence is what a document frequency counts
                    "vector": vector.tolist(),
                    "phrases": fit_phrases(prepared.phrases_of(ordinal), start),
                }
            )
        heads.append(
            {
                "doc_id": d.doc_id,
                "write_id": write_id,
                "content_hash": d.content_hash,
                "meta": {
                    "title": d.title,
                    "date": d.date,
                    "source": d.source,
                    "url": d.url,
                    "author": d.author,
                    "origin": prepared.origin,
                    "label": prepared.label,
                },
                "chunk_count": len(prepared.chunks),
                "sentence_count": len(prepared.sentences),
                "parts": len(pieces),
                "pad": PAD,
            }
        )
    store.insert("texts", texts)
    store.insert("chunks", chunks)
    store.insert("sentences", sentences)
    store.client.upsert(store.name("documents"), heads)  # the commit: one request for the whole batch
    store.frequencies.clear()
    store.set_generation(write_id)
    store.remove_versions({doc_id: head.write_id for doc_id, head in old.items()})
    journal.end(store, write_id)
    return write_id


def delete(store: MilvusStore, doc_ids: Sequence[str]) -> list[str]:
    """The document rows first (the commit; only if still the version read), then the rows under them."""
    old = store.heads(doc_ids)
    if not old:
        return []
    write_id = journal.new_write_id()
    journal.begin(store, write_id, list(old))
    for part in batched(list(old), FILTER_ITEMS):
        expr = " or ".join(f"(doc_id == {quote(d)} and write_id == {old[d].write_id})" for d in part)
        store.client.delete(store.name("documents"), filter=expr)
    store.frequencies.clear()
    store.set_generation(write_id)
    store.remove_versions({doc_id: head.write_id for doc_id, head in old.items()})
    journal.end(store, write_id)
    return [doc_id for doc_id in dict.fromkeys(doc_ids) if doc_id in old]


def new_chunk_ids(store: MilvusStore, count: int) -> list[int]:
    """Random ids below 2**53 (exact in JSON), redrawn where one is taken."""
    ids: set[int] = set()
    while len(ids) < count:
        fresh = {secrets.randbits(53) for _ in range(count - len(ids))} - ids
        for part in batched(sorted(fresh), FILTER_ITEMS):
            taken = store.client.query(
                store.name("chunks"), ids=part, output_fields=["chunk_id"], consistency_level=store.consistency
            )
            fresh -= {r["chunk_id"] for r in taken}
        ids |= fresh
    return list(ids)


def remove_versions(store: MilvusStore, versions: dict[str, int]) -> None:
    """Delete the rows of these (document, write id) versions."""
    items = list(versions.items())
    for part in batched(items, FILTER_ITEMS):
        expr = f"{is_in('doc_id', [d for d, _ in part])} and {is_in('write_id', sorted({w for _, w in part}))}"
        for collection in ("chunks", "sentences", "texts"):
            store.client.delete(store.name(collection), filter=expr)


def fit_phrases(phrases: Phrases | None, sentence_start: int) -> str | None:
    """The phrases' JSON, the last ones left out if a VARCHAR cannot hold them all (a sentence of many pages)."""
    encoded = encode_phrases(phrases, sentence_start)
    while encoded is not None and len(encoded.encode()) > MAX_VARCHAR and phrases:
        phrases = phrases[: len(phrases) // 2]
        encoded = encode_phrases(phrases, sentence_start)
    return encoded


def untyped_sentences(store: MilvusStore, limit: int) -> list[tuple[str, int, int, int]]:
    """Committed sentences whose phrases are null (rows of unfinished writes are passed over)."""
    out: list[tuple[str, int, int, int]] = []
    fields = ["doc_id", "write_id", "ordinal", "start", "end"]
    for page in _pages(store, "phrases is null", fields):
        heads = store.heads(list({r["doc_id"] for r in page}))
        for row in page:
            head = heads.get(row["doc_id"])
            if head is not None and head.write_id == int(row["write_id"]):
                out.append((row["doc_id"], int(row["ordinal"]), int(row["start"]), int(row["end"])))
                if len(out) >= limit:
                    return out
    return out


def _pages(store: MilvusStore, expr: str, fields: list[str], batch: int = 1_000) -> Iterator[list[dict]]:
    page: list[dict] = []
    for row in store.iterate("sentences", expr, fields, batch):
        page.append(row)
        if len(page) >= batch:
            yield page
            page = []
    if page:
        yield page


def set_phrases(store: MilvusStore, items: Sequence[tuple[str, int, Phrases]]) -> int:
    """A partial upsert of the committed version's sentence rows, one request per UPSERT_ROWS sentences (a
    request is applied whole); the generation rises, as answers may change with the phrases."""
    wanted: dict[tuple[str, int], Phrases] = {(d, o): p for d, o, p in items}
    if not wanted:
        return 0
    heads = store.heads(list({d for d, _ in wanted}))
    rows = []
    for part in batched(sorted(heads), FILTER_ITEMS):
        expr = is_in("doc_id", part)
        for row in store.iterate("sentences", expr, ["id", "doc_id", "write_id", "ordinal", "start"]):
            key = (row["doc_id"], int(row["ordinal"]))
            if key in wanted and heads[row["doc_id"]].write_id == int(row["write_id"]):
                rows.append({"id": int(row["id"]), "phrases": fit_phrases(wanted[key], int(row["start"]))})
    for first in range(0, len(rows), UPSERT_ROWS):
        store.client.upsert(store.name("sentences"), rows[first : first + UPSERT_ROWS], partial_update=True)
    if rows:
        store.set_generation(journal.new_write_id())
    return len(rows)
