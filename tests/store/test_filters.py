"""Filters (date range, outlets, doc ids) applied inside both stores: a filtered search still returns top-k, from
the allowed articles only, also when the best chunks overall are elsewhere; listings and outlet counts agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.ingest.clean import make_document
from qa_service.schemas import Document, Filters
from qa_service.service import QAService
from qa_service.text.terms import terms

from .conftest import fake_settings, milvus_settings

OUTLETS = ("Harbour Herald", "Valley Wire", "Coast Post")
TOPICS = ("library", "bridge", "tram line", "school")


def _corpus() -> list[Document]:
    """24 dated articles from three outlets (each month twice), and two with neither date nor outlet."""
    documents = []
    for n in range(24):
        topic = TOPICS[n % len(TOPICS)]
        text = (
            f"Riverton {n} council approves a {topic}. The council of Riverton {n} approved a budget of {n + 3} "
            f"million euros for a new {topic} on Monday, and building starts in spring."
        )
        documents.append(make_document(text, f"riverton-{n}", date=f"2025-{n % 12 + 1:02d}-15", source=OUTLETS[n % 3]))
    documents += [
        make_document(f"Undated note {n}: the council of Riverton {n} discussed a library budget.", f"note-{n}")
        for n in range(2)
    ]
    return documents


@pytest.fixture(params=["embedded", "milvus"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QAService]:
    make = fake_settings if request.param == "embedded" else milvus_settings
    service = QAService(make(tmp_path / "index")).load()
    service.add_documents(_corpus())
    yield service
    service.close()


def _ids(service: QAService, query: str, filters: Filters | None, top_k: int = 5) -> list[str]:
    return [p.doc_id for p in service.search(query, top_k, filters=filters).passages]


def _date(service: QAService, doc_id: str) -> str | None:
    return service.get_document(doc_id).date


def test_a_date_range_keeps_top_k_from_that_range(service: QAService) -> None:
    query = "Riverton 0 council library budget"  # riverton-0 (January) and -12 (January) are the best overall
    assert {"riverton-0", "riverton-12"} & set(_ids(service, query, None))
    found = _ids(service, query, Filters(date_from="2025-03-01", date_to="2025-06-30"))
    assert len(found) == 5  # eight articles are in range: the top five of them, not what was left of five
    assert all("2025-03-01" <= (_date(service, d) or "") <= "2025-06-30" for d in found)


def test_outlets_and_doc_ids(service: QAService) -> None:
    found = _ids(service, "council budget for a new bridge", Filters(sources=["Valley Wire"]))
    assert len(found) == 5 and {service.get_document(d).source for d in found} == {"Valley Wire"}
    found = _ids(service, "council budget", Filters(doc_ids=["riverton-5", "note-1"]), top_k=5)
    assert sorted(found) == ["note-1", "riverton-5"]
    both = Filters(sources=["Coast Post", "Harbour Herald"], date_from="2025-11-01")
    assert set(_ids(service, "council", both, top_k=10)) == {"riverton-11", "riverton-23"}
    assert _ids(service, "council", Filters(sources=["Nobody's Gazette"])) == []
    assert "note-0" not in _ids(service, "Undated note library", Filters(date_to="2030-01-01"), top_k=20)


def test_each_ranking_is_filtered_inside_the_store(service: QAService) -> None:
    vector = service.embedder.embed(["Riverton 0 council library budget"])[0]
    query_terms = terms("Riverton 0 council library budget")
    wire = Filters(sources=["Valley Wire"])
    allowed = {f"riverton-{n}" for n in range(1, 24, 3)}
    with service.store.read() as reader:
        dense = reader.dense_search(vector, 6, wire)
        keyword = reader.keyword_search(query_terms, 6, wire)
        chunks = reader.chunks([c for c, _ in dense + keyword])
    assert len(dense) == 6 and len(keyword) == 6
    assert {chunks[c].doc_id for c, _ in dense + keyword} <= allowed


def test_listing_and_outlet_counts(service: QAService) -> None:
    assert [s.model_dump() for s in service.sources()] == [
        {"source": "Coast Post", "documents": 8},
        {"source": "Harbour Herald", "documents": 8},
        {"source": "Valley Wire", "documents": 8},
        {"source": None, "documents": 2},
    ]
    spring = Filters(date_from="2025-03-01", date_to="2025-05-31", sources=["Coast Post"])
    listed = [d.doc_id for d in service.list_documents(filters=spring)]  # Milvus lists in id order
    assert sorted(listed) == ["riverton-14", "riverton-2"]
    assert [s.model_dump() for s in service.sources(spring)] == [{"source": "Coast Post", "documents": 2}]
    assert [d.doc_id for d in service.list_documents(offset=1, limit=1, filters=spring)] == listed[1:]


def test_a_small_share_of_an_inverted_file_is_still_found(tmp_path: Path) -> None:
    """IVF probes a few lists per question; a filter allowing 3 of 26 articles probes enough lists to find them."""
    service = QAService(fake_settings(tmp_path / "index", faiss_index="IVF4,Flat", faiss_nprobe=1)).load()
    try:
        service.add_documents(_corpus())
        service.store.flush()
        wanted = ["riverton-2", "riverton-9", "riverton-19"]
        vector = service.embedder.embed(["a question about nothing in particular"])[0]
        with service.store.read() as reader:
            hits = reader.dense_search(vector, 10, Filters(doc_ids=wanted))
            assert sorted(c.doc_id for c in reader.chunks([c for c, _ in hits]).values()) == sorted(wanted)
    finally:
        service.close()
