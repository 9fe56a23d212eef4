"""The read side of the Milvus store: each document pinned to one version for the whole question.

A reader pins the version of each document it touches (its document row, read once) and reads text, chunks and
sentences of that version only: a question never mixes two versions of a document, even while it is replaced.
Different documents may be read at different instants: Milvus has no snapshot across requests (unlike SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_service.schemas import Document, DocumentSummary, Filters, SourceCount
from qa_service.store.base import (
    DocumentState,
    PreparedDocument,
    StoredChunk,
    StoredSentence,
    StoreStats,
    batched,
    decode_phrases,
)
from qa_service.store.milvus.expressions import fit, is_in, quote, stored_terms
from qa_service.store.milvus.filters import chunks_expression, documents_expression
from qa_service.store.milvus.frequencies import sentence_frequency
from qa_service.store.milvus.schema import HEAD_FIELDS, QUERY_WINDOW, SEARCH_PARAMS, Head, Row
from qa_service.store.typos import variants

if TYPE_CHECKING:
    from qa_service.store.milvus.store import MilvusStore

FILTER_ITEMS = 500  # ids in one `in [...]` filter


class MilvusReader:
    """Reads of one question; each document is pinned to the version its document row named when first seen."""

    native_fusion = True  # hybrid_search: Milvus' own RRF over the dense and BM25 requests

    def __init__(self, store: MilvusStore) -> None:
        self._store = store
        self._heads: dict[str, Head | None] = {}
        self._documents: dict[str, Document | None] = {}
        self.generation = -1

    def _pin(self, doc_ids: Sequence[str]) -> dict[str, Head]:
        unseen = [d for d in dict.fromkeys(doc_ids) if d not in self._heads]
        if unseen:
            found = self._store.heads(unseen)
            for doc_id in unseen:
                self._heads[doc_id] = found.get(doc_id)
        return {d: head for d in doc_ids if (head := self._heads.get(d)) is not None}

    def stats(self) -> StoreStats:
        store = self._store
        return StoreStats(
            documents=store.count("documents"),
            chunks=store.count("chunks"),
            sentences=store.count("sentences"),
            generation=store.generation(),
        )

    def documents(self, doc_ids: Sequence[str]) -> dict[str, Document]:
        heads = self._pin(doc_ids)
        wanted = [h for d, h in heads.items() if d not in self._documents]
        for part in batched(wanted, 100):
            expr = " or ".join(f"(doc_id == {quote(h.doc_id)} and write_id == {h.write_id})" for h in part)
            pieces: dict[str, dict[int, str]] = {}
            for row in self._store.query("texts", expr, ["doc_id", "part", "text"], limit=QUERY_WINDOW):
                pieces.setdefault(row["doc_id"], {})[int(row["part"])] = row["text"]
            for head in part:
                got = pieces.get(head.doc_id, {})
                if len(got) != head.parts:  # the version was replaced and removed since it was pinned
                    self._documents[head.doc_id] = None
                    continue
                self._documents[head.doc_id] = Document(
                    doc_id=head.doc_id,
                    text="".join(got[i] for i in range(head.parts)),
                    title=head.title,
                    date=head.date,
                    source=head.source,
                    url=head.url,
                    author=head.author,
                    content_hash=head.content_hash,
                    label=head.label,
                )
        return {d: doc for d in doc_ids if (doc := self._documents.get(d)) is not None}

    def summaries(
        self,
        *,
        offset: int = 0,
        limit: int | None = None,
        doc_ids: Sequence[str] | None = None,
        filters: Filters | None = None,
    ) -> list[DocumentSummary]:
        out: list[DocumentSummary] = []
        if limit == 0:
            return out
        if doc_ids is not None:
            heads = self._store.heads(doc_ids)
            rows: Iterable[Row] = []
            chosen = [heads[d] for d in dict.fromkeys(doc_ids) if d in heads]
        else:
            rows = self._store.iterate(
                "documents", documents_expression(self._store, filters or Filters()), HEAD_FIELDS
            )
            chosen = None
        for i, head in enumerate(chosen if chosen is not None else (Head.from_row(r) for r in rows)):
            if i < offset:
                continue
            out.append(
                DocumentSummary(
                    doc_id=head.doc_id,
                    title=head.title,
                    label=head.label,
                    date=head.date,
                    source=head.source,
                    chunks=head.chunk_count,
                )
            )
            if limit is not None and len(out) >= limit:
                break
        return out

    def sources(self, filters: Filters | None = None) -> list[SourceCount]:
        """Outlets with their number of articles, most first: counted over the document rows (Milvus has no
        GROUP BY), one pass over them."""
        counts: dict[str | None, int] = {}
        for row in self._store.iterate("documents", documents_expression(self._store, filters or Filters()), ["meta"]):
            source = (row["meta"] or {}).get("source")
            counts[source] = counts.get(source, 0) + 1
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
        return [SourceCount(source=source, documents=count) for source, count in ordered]

    def states(self, doc_ids: Sequence[str]) -> dict[str, DocumentState]:
        found = self._store.heads(doc_ids)  # not pinned: ingest decides on what is committed now
        return {d: DocumentState(d, h.content_hash, h.origin) for d, h in found.items()}

    def ids_with_hashes(self, hashes: Sequence[str]) -> dict[str, str]:
        best: dict[str, tuple[int, str]] = {}
        for part in batched(list(dict.fromkeys(hashes)), FILTER_ITEMS):
            rows = self._store.query("documents", is_in("content_hash", part), ["doc_id", "write_id", "content_hash"])
            for row in rows:
                key = (int(row["write_id"]), row["doc_id"])
                if row["content_hash"] not in best or key < best[row["content_hash"]]:
                    best[row["content_hash"]] = key
        return {h: doc_id for h, (_, doc_id) in best.items()}

    def _search(
        self, data: list[Any], field: str, params: dict[str, Any], k: int, expr: str = ""
    ) -> list[tuple[int, float]]:
        store = self._store
        hits = store.client.search(
            store.name("chunks"),
            data=data,
            anns_field=field,
            limit=k,
            filter=expr,
            search_params=params,
            output_fields=[],
            consistency_level=store.consistency,
        )
        return [(int(h.id), float(h.distance)) for h in hits[0]] if hits else []

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        expr = chunks_expression(self._store, filters)
        if expr is None:
            return []
        params = {"metric_type": "IP", "params": SEARCH_PARAMS[self._store.index_type]}
        return self._search([np.asarray(vector, dtype=np.float32).tolist()], "vector", params, k, expr)

    def keyword_search(self, terms: Sequence[str], k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        expr = chunks_expression(self._store, filters) if terms else None
        if expr is None:
            return []
        hits = self._search([fit(terms)], "sparse", {"metric_type": "BM25"}, k, expr)
        return [(chunk_id, abs(score)) for chunk_id, score in hits]  # Milvus Lite reports BM25 negated

    def hybrid_search(
        self,
        vector: np.ndarray,
        terms: Sequence[str],
        k: int,
        *,
        depth: int,
        rrf_k: int,
        filters: Filters | None = None,
    ) -> list[tuple[int, float]]:
        if not terms:
            raise ValueError("hybrid_search needs terms: a dense ranking alone is the retriever's to fuse")
        from pymilvus import AnnSearchRequest, RRFRanker

        store = self._store
        expr = chunks_expression(store, filters)
        if expr is None:
            return []
        requests = [
            AnnSearchRequest(
                data=[np.asarray(vector, dtype=np.float32).tolist()],
                anns_field="vector",
                param={"metric_type": "IP", "params": SEARCH_PARAMS[store.index_type]},
                limit=depth,
                expr=expr or None,
            ),
            AnnSearchRequest(
                data=[fit(terms)], anns_field="sparse", param={"metric_type": "BM25"}, limit=depth, expr=expr or None
            ),
        ]
        hits = store.client.hybrid_search(
            store.name("chunks"),
            requests,
            RRFRanker(rrf_k),
            limit=k,
            output_fields=[],
            consistency_level=store.consistency,
        )
        return [(int(h.id), float(h.distance)) for h in hits[0]] if hits else []

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, StoredChunk]:
        rows: list[Row] = []
        for part in batched(list(dict.fromkeys(chunk_ids)), FILTER_ITEMS):
            rows.extend(
                self._store.client.query(
                    self._store.name("chunks"),
                    ids=part,
                    output_fields=["chunk_id", "doc_id", "write_id", "start", "end"],
                    consistency_level=self._store.consistency,
                )
            )
        heads = self._pin([r["doc_id"] for r in rows])
        committed = [r for r in rows if r["doc_id"] in heads and heads[r["doc_id"]].write_id == r["write_id"]]
        whole = self.documents([r["doc_id"] for r in committed])  # read now, so quotes come from this version
        return {
            int(r["chunk_id"]): StoredChunk(int(r["chunk_id"]), r["doc_id"], int(r["start"]), int(r["end"]))
            for r in committed
            if r["doc_id"] in whole
        }

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for part in batched(list(chunk_ids), FILTER_ITEMS):
            rows = self._store.client.query(
                self._store.name("chunks"),
                ids=part,
                output_fields=["chunk_id", "vector"],
                consistency_level=self._store.consistency,
            )
            for row in rows:
                out[int(row["chunk_id"])] = np.asarray(row["vector"], dtype=np.float32)
        return out

    def sentences(
        self, spans: Sequence[tuple[str, int, int]], *, margin: int = 1, vectors: bool = True
    ) -> dict[str, list[StoredSentence]]:
        heads = self._pin([doc_id for doc_id, _, _ in spans])
        spans = [s for s in spans if s[0] in heads]
        if not spans:
            return {}
        store = self._store
        # One filter on doc_id alone (an index lookup on a server; Milvus Lite scans every row, and a compound
        # filter scans slower: 1.9 s against 1.0 s at 450k sentences), this version's rows picked here, and the
        # vectors fetched by primary key.
        expr, fields = (
            is_in("doc_id", sorted({d for d, _, _ in spans})),
            ["id", "doc_id", "write_id", "ordinal", "start", "end", "phrases", "terms"],
        )
        rows = store.query("sentences", expr, fields, limit=QUERY_WINDOW)
        if len(rows) == QUERY_WINDOW:  # very long articles: more than one query answers, page through them
            rows = list(store.iterate("sentences", expr, fields))
        rows = [row for row in rows if row["write_id"] == heads[row["doc_id"]].write_id]
        wanted: dict[str, set[int]] = {}
        for doc_id, start, end in spans:
            ordinals = [
                int(r["ordinal"]) for r in rows if r["doc_id"] == doc_id and r["start"] < end and r["end"] > start
            ]
            if ordinals:
                wanted.setdefault(doc_id, set()).update(range(min(ordinals) - margin, max(ordinals) + margin + 1))
        chosen = sorted(
            (r for r in rows if int(r["ordinal"]) in wanted.get(r["doc_id"], ())), key=lambda r: int(r["ordinal"])
        )
        found: dict[int, np.ndarray] = {}
        for part in batched([int(r["id"]) for r in chosen] if vectors else [], FILTER_ITEMS):
            for row in store.client.query(
                store.name("sentences"), ids=part, output_fields=["id", "vector"], consistency_level=store.consistency
            ):
                found[int(row["id"])] = np.asarray(row["vector"], dtype=np.float32)
        out: dict[str, list[StoredSentence]] = {}
        for row in chosen:
            if vectors and int(row["id"]) not in found:  # removed since (its version was replaced): as if unseen
                continue
            out.setdefault(row["doc_id"], []).append(
                StoredSentence(
                    row["doc_id"],
                    int(row["ordinal"]),
                    int(row["start"]),
                    int(row["end"]),
                    found.get(int(row["id"])),
                    decode_phrases(row.get("phrases"), int(row["start"])),
                    stored_terms(row.get("terms")),
                )
            )
        return out

    def mentions(self, term: str) -> bool:
        """Whether a chunk holds `term` or one of its typos (`typos.variants`): one keyword search for all of
        them (any hit scores above 0), as Milvus does not list its vocabulary."""
        if not term.strip():
            return False
        words = [term, *sorted(variants(term))]
        return bool(self._search([" ".join(words)], "sparse", {"metric_type": "BM25"}, 1))

    def sentence_frequencies(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """Milvus keeps document frequencies but does not tell them, and counters that several replicas update
        would need locks it does not have. So each question word is counted among the sentences' terms: on a
        Milvus server with `count(*)` and TEXT_MATCH, which the terms' match index answers; on Milvus Lite,
        which scans rows for TEXT_MATCH, as the length of the word's posting list in the sentences' BM25 index
        (a search with the word alone: every sentence holding it scores above 0), up to FREQUENCY_CAP. All words
        in one round trip, and remembered for FREQUENCY_TTL_S, as is the number of sentences (under the key "",
        never a term)."""
        store = self._store
        unique = [t for t in dict.fromkeys(terms) if t.strip()]
        counts = store.frequencies.get(["", *unique])
        missing = [t for t in unique if t not in counts]
        total_future = None if "" in counts else store.pool.submit(store.count, "sentences")
        for term, count in zip(missing, store.pool.map(partial(sentence_frequency, store), missing), strict=True):
            counts[term] = count
        if total_future is not None:
            counts[""] = total_future.result()
            missing.append("")
        store.frequencies.put({t: counts[t] for t in missing})
        total = counts.pop("")
        return total, {t: c for t, c in counts.items() if c}

    def export(self, batch: int = 100) -> Iterator[list[PreparedDocument]]:
        """Every document as `write` takes it, `batch` at a time, in the listing's order (see `StoreReader`)."""
        store = self._store
        heads: list[Head] = []
        for row in store.iterate("documents", "", HEAD_FIELDS):
            heads.append(Head.from_row(row))
            if len(heads) >= batch:
                yield self._export(heads)
                heads = []
        if heads:
            yield self._export(heads)

    def _export(self, heads: list[Head]) -> list[PreparedDocument]:
        store = self._store
        for head in heads:
            self._heads.setdefault(head.doc_id, head)
        texts = self.documents([h.doc_id for h in heads])
        expr = is_in("doc_id", [h.doc_id for h in heads])
        chunks: dict[str, list[Row]] = {}
        for row in store.iterate("chunks", expr, ["doc_id", "write_id", "start", "end", "terms", "vector"]):
            chunks.setdefault(row["doc_id"], []).append(row)
        sentences: dict[str, list[Row]] = {}
        fields = ["doc_id", "write_id", "ordinal", "start", "end", "terms", "vector", "phrases"]
        for row in store.iterate("sentences", expr, fields):
            sentences.setdefault(row["doc_id"], []).append(row)
        out = []
        dimension = store.config.dimension
        for head in heads:
            document = texts.get(head.doc_id)
            if document is None or self._heads[head.doc_id] != head:  # replaced or deleted while exported
                continue
            mine = sorted(
                (r for r in chunks.get(head.doc_id, []) if int(r["write_id"]) == head.write_id),
                key=lambda r: (int(r["start"]), int(r["end"])),
            )
            said = sorted(
                (r for r in sentences.get(head.doc_id, []) if int(r["write_id"]) == head.write_id),
                key=lambda r: int(r["ordinal"]),
            )
            out.append(
                PreparedDocument(
                    document=document,
                    origin=head.origin,
                    label=head.label,
                    chunks=[(int(r["start"]), int(r["end"])) for r in mine],
                    chunk_terms=[r["terms"].split() for r in mine],
                    chunk_vectors=np.asarray([r["vector"] for r in mine], dtype=np.float32).reshape(-1, dimension),
                    sentences=[(int(r["start"]), int(r["end"])) for r in said],
                    sentence_terms=[r["terms"].split() for r in said],
                    sentence_vectors=np.asarray([r["vector"] for r in said], dtype=np.float32).reshape(-1, dimension),
                    sentence_phrases=[decode_phrases(r.get("phrases"), int(r["start"])) for r in said],
                )
            )
        return out
