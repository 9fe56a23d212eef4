"""Adding news through the API (text, a page's URL, batches as a JSON array or JSON Lines) and narrowing
questions, searches and listings by date, outlet and id; on both stores, with the real model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.service import QAService
from tests.ingest.converters.pages import ARTICLE_PAGE, NO_ARTICLE_PAGE
from tests.local_web import serve

ARTICLES = [
    (
        "herald-bridge",
        "Harbour Herald",
        "2025-09-14",
        "The Kestrel Harbour bridge reopened to traffic on Sunday "
        "after two years of repairs that cost the city 84 million euros, the transport department said.",
    ),
    (
        "herald-ferry",
        "Harbour Herald",
        "2025-10-02",
        "Ferry tickets to the Kestrel islands will cost 15 percent "
        "more from March, the ferry operator said on Thursday.",
    ),
    (
        "herald-tram",
        "Harbour Herald",
        "2025-11-20",
        "The city council approved a 12 km tram line that will link the Kestrel port with the university by 2029.",
    ),
    (
        "wire-bridge",
        "Valley Wire",
        "2025-09-15",
        "Engineers replaced all 212 steel cables of the Kestrel Harbour "
        "bridge before it reopened on Sunday, chief engineer Tomas Berg said.",
    ),
    (
        "wire-glacier",
        "Valley Wire",
        "2025-10-05",
        "The Morteratsch glacier lost 3.1 square kilometres of ice "
        "between 2014 and 2024, a survey by the Swiss Glacier Monitoring Network found.",
    ),
    (
        "wire-library",
        "Valley Wire",
        "2025-11-03",
        "The new Kestrel city library opened on Friday with 240,000 books and a rooftop reading garden.",
    ),
]


def _batch() -> list[dict[str, str]]:
    return [{"doc_id": i, "source": s, "date": d, "text": t, "title": t.split(",")[0][:60]} for i, s, d, t in ARTICLES]


def test_a_batch_then_filters_on_ask_search_documents_and_sources(fresh_service: QAService) -> None:
    with TestClient(create_app(fresh_service.settings, fresh_service)) as api:
        report = api.post("/documents/batch", json=_batch()[:4]).json()
        assert report["added"] == [i for i, *_ in ARTICLES[:4]] and not report["errors"]
        lines = "\n".join(json.dumps(item) for item in [*_batch()[3:], {"doc_id": "copy", "text": ARTICLES[0][3]}])
        ndjson = api.post("/documents/batch", content=lines, headers={"content-type": "application/x-ndjson"})
        assert ndjson.status_code == 200, ndjson.text
        body = ndjson.json()
        assert body["added"] == ["wire-glacier", "wire-library"] and body["unchanged"] == ["wire-bridge"]
        assert body["duplicates"] == {"copy": "herald-bridge"}

        assert api.get("/sources").json() == [
            {"source": "Harbour Herald", "documents": 3},
            {"source": "Valley Wire", "documents": 3},
        ]
        assert api.get("/sources", params={"date_from": "2025-10-01"}).json() == [
            {"source": "Harbour Herald", "documents": 2},
            {"source": "Valley Wire", "documents": 2},
        ]
        wire = api.get("/documents", params={"source": "Valley Wire", "date_to": "2025-10-31"}).json()
        assert sorted(d["doc_id"] for d in wire) == ["wire-bridge", "wire-glacier"]

        question = {"question": "How much did the repairs of the Kestrel Harbour bridge cost?", "top_k": 3}
        unfiltered = api.post("/ask", json=question).json()
        assert unfiltered["answerable"] and unfiltered["citations"][0]["doc_id"] == "herald-bridge"
        only_wire = api.post("/ask", json={**question, "filters": {"sources": ["Valley Wire"]}}).json()
        assert len(only_wire["passages"]) == 3  # top_k passages, all from the allowed outlet
        cited = [c["doc_id"] for c in only_wire["citations"]] + [p["doc_id"] for p in only_wire["passages"]]
        assert cited and all(doc_id.startswith("wire-") for doc_id in cited)
        for citation in only_wire["citations"]:
            assert citation["source"] == "Valley Wire"

        params: dict[str, str | int] = {"q": "Kestrel", "top_k": 5, "date_from": "2025-10-01", "date_to": "2025-11-30"}
        found = {p["doc_id"] for p in api.get("/search", params=params).json()["passages"]}
        assert found == {"herald-ferry", "herald-tram", "wire-glacier", "wire-library"}  # all four in range
        by_id = api.post("/search", json={"query": "Kestrel", "filters": {"doc_ids": ["herald-tram"]}}).json()
        assert [p["doc_id"] for p in by_id["passages"]] == ["herald-tram"]
        (tram,) = by_id["passages"]  # a passage says where it is from
        assert (tram["title"], tram["date"], tram["source"]) == (_batch()[2]["title"], "2025-11-20", "Harbour Herald")


def test_an_outlet_typed_in_lower_case_and_a_filter_that_removed_every_match(fresh_service: QAService) -> None:
    with TestClient(create_app(fresh_service.settings, fresh_service)) as api:
        assert not api.post("/documents/batch", json=_batch()).json()["errors"]
        question = {"question": "How much did the repairs of the Kestrel Harbour bridge cost?", "top_k": 3}
        typed = api.post("/ask", json={**question, "filters": {"sources": ["harbour  herald"]}}).json()
        assert typed["answerable"] and typed["citations"][0]["doc_id"] == "herald-bridge"
        assert typed["outside_filter"] == 0 and typed["reason"] is None
        later = {"sources": ["Harbour Herald"], "date_from": "2025-12-01"}  # the bridge story is from September
        removed = api.post("/ask", json={**question, "filters": later}).json()
        assert not removed["answerable"] and removed["outside_filter"] > 0
        assert removed["reason"] == (
            f"Nothing within the filter (outlet Harbour Herald, from 2025-12-01); "
            f"{removed['outside_filter']} passage{'s' if removed['outside_filter'] > 1 else ''} outside it "
            f"match{'' if removed['outside_filter'] > 1 else 'es'}."
        )
        assert removed["passages"] == []


@pytest.mark.parametrize("store_kind", ["embedded"])
def test_bad_filters_and_batches_are_4xx(fresh_service: QAService) -> None:
    with TestClient(create_app(fresh_service.settings, fresh_service)) as api:
        backwards = {"question": "Who?", "filters": {"date_from": "2025-10-01", "date_to": "2025-09-01"}}
        assert api.post("/ask", json=backwards).status_code == 422
        assert api.post("/ask", json={"question": "Who?", "filters": {"outlet": "x"}}).status_code == 422
        bad = api.get("/search", params={"q": "x", "date_from": "2025-02-30"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["query", "date_from"]
        assert api.get("/documents", params={"date_to": "soon"}).status_code == 422
        assert api.post("/documents/batch", content=b"a,b", headers={"content-type": "text/csv"}).status_code == 415
        no_text = api.post("/documents/batch", json=[{"title": "no text"}])
        assert no_text.status_code == 200 and no_text.json()["errors"] == {
            "0": "no `text` (a non-empty string is required)"
        }
        assert api.post("/documents/batch", json={"text": "not an array"}).status_code == 422
        assert (
            api.post("/documents/batch", content=b"[{", headers={"content-type": "application/json"}).status_code == 400
        )


@pytest.mark.parametrize("store_kind", ["embedded"])
def test_a_batch_reads_an_export_as_ingest_does_and_reports_each_row(fresh_service: QAService) -> None:
    rows: list[dict[str, Any]] = [
        {
            "doc_id": "quake",
            "title": "Quake hits western Nepal",
            "date": "Nov. 4, 2023",
            "section": "World",
            "source": "Voice of America",
            "tags": ["nepal"],
            "text": "At least 128 people were killed after a quake.",
        },
        {"doc_id": "empty", "text": ""},
        {"doc_id": "later", "date": "someday", "text": "A row whose date is no date."},
    ]
    lines = [json.dumps(row) for row in rows] + [
        '{"doc_id": "cut", "text": "a line cut sho',
        json.dumps(ARTICLES[0][3]),
    ]
    with TestClient(create_app(fresh_service.settings, fresh_service)) as api:
        response = api.post(
            "/documents/batch", content="\n".join(lines), headers={"content-type": "application/x-ndjson"}
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["added"] == ["quake"]
        assert report["notes"] == {
            "0": "ignored `section`, `tags` (read: text, title, date, source, url, author, doc_id)"
        }
        assert sorted(report["errors"]) == ["1", "2", "3", "4"]
        assert "no `text`" in report["errors"]["1"] and "'someday' is not a date" in report["errors"]["2"]
        assert (
            report["errors"]["3"].startswith("not a JSON object")
            and "not a JSON object but str" in report["errors"]["4"]
        )
        document = api.get("/documents/quake").json()
        assert (document["date"], document["source"], document["title"]) == (
            "2023-11-04",
            "Voice of America",
            rows[0]["title"],
        )


@pytest.mark.parametrize("store_kind", ["embedded"])
def test_a_page_by_url(fresh_service: QAService) -> None:
    routes: dict[str, tuple[int, str, bytes | str]] = {
        "/news/bridge": (200, "text/html; charset=utf-8", ARTICLE_PAGE),
        "/404": (200, "text/html", NO_ARTICLE_PAGE),
        "/gone": (410, "text/html", "gone"),
    }
    allowed = fresh_service.settings.model_copy(update={"fetch_allow_private": True})
    with serve(routes) as site:
        with TestClient(create_app(fresh_service.settings, fresh_service)) as api:
            refused = api.post("/documents", json={"url": f"{site.url}/news/bridge"})
            assert refused.status_code == 422 and "QA_FETCH_ALLOW_PRIVATE" in refused.json()["detail"]
            assert site.hits == {}
        with TestClient(create_app(allowed, fresh_service)) as api:
            added = api.post("/documents", json={"url": f"{site.url}/news/bridge"})
            assert added.status_code == 201, added.text
            summary = added.json()
            assert summary["doc_id"] == "coastalherald.example-harbour-bridge-reopens"  # from the canonical URL
            assert (summary["title"], summary["date"], summary["source"]) == (
                "Harbour bridge reopens after two years of repairs",
                "2025-09-14",
                "The Coastal Herald",
            )
            document = api.get(f"/documents/{summary['doc_id']}").json()
            assert document["url"] == "https://coastalherald.example/news/harbour-bridge-reopens"
            assert "scandal" not in document["text"] and "212 steel cables" in " ".join(document["text"].split())
            assert api.post("/documents", json={"url": f"{site.url}/news/bridge"}).status_code == 409
            no_article = api.post("/documents", json={"url": f"{site.url}/404"})
            assert no_article.status_code == 422 and "no article text" in no_article.json()["detail"]
            assert api.post("/documents", json={"url": f"{site.url}/gone"}).status_code == 502
            assert api.post("/documents", json={"url": "http://169.254.169.254/"}).status_code == 422
            answer = api.post("/ask", json={"question": "How many steel cables were replaced?"}).json()
            assert answer["answerable"] and answer["citations"][0]["source"] == "The Coastal Herald"
