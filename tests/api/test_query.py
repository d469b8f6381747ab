"""``/v1/search`` and ``/v1/ask`` over HTTP: results, streaming, validation, request ids."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
import pytest

from api.context import RequestIdFilter
from api.schemas import MAX_QUESTION_CHARS
from tests.api.conftest import FLOOD, HEAT, STRIKE, Api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEAT_QUESTION = "Quelle température record a été relevée à Lorvennes en 2003 ?"


def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    """(event, decoded data) pairs of a server-sent-events body."""
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        name = next((ln[7:] for ln in lines if ln.startswith("event: ")), "message")
        data = "\n".join(ln[6:] for ln in lines if ln.startswith("data: "))
        events.append((name, json.loads(data)))
    return events


def test_search_returns_ranked_passages_with_provenance(api: Api) -> None:
    with api.client() as c:
        r = c.post("/v1/search", json={"query": "record de chaleur canicule", "k": 3})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert 1 <= len(hits) <= 3
    top = hits[0]
    assert top["doc_id"] == api.doc_ids[HEAT] and "41,7" in top["text"]
    assert top["page_start"] == 1 and top["collection"] == "press" and top["date"] == "2003-08-11"
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_filters_and_modes(api: Api) -> None:
    with api.client() as c:
        english = c.post(
            "/v1/search", json={"query": "port strike flood heat", "filters": {"language": "en"}}
        ).json()["hits"]
        assert english and {h["doc_id"] for h in english} == {api.doc_ids[FLOOD]}
        dated = c.post(
            "/v1/search",
            json={
                "query": "grève chaleur crue",
                "filters": {"date_from": "2010-01-01", "date_to": "2012-12-31"},
            },
        ).json()["hits"]
        assert dated and {h["date"][:4] for h in dated} == {"2011"}
        fts = c.post("/v1/search", json={"query": "Daubigné", "mode": "fts"}).json()["hits"]
        assert fts and all(h["vector_rank"] is None for h in fts)
        assert fts[0]["doc_id"] == api.doc_ids[STRIKE]


def test_ask_answers_with_citations(api: Api) -> None:
    with api.client() as c:
        r = c.post("/v1/ask", json={"question": HEAT_QUESTION})
    assert r.status_code == 200
    body = r.json()
    assert body["backend"] == "offline" and body["found"] is True
    assert "41,7" in body["answer"]
    assert body["short"] and "41,7" in body["short"]  # the short answer opens the text
    assert body["answer"].startswith(body["short"])
    cited = {c["n"]: c for c in body["citations"]}
    marks = {int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])}
    assert marks and marks <= set(cited)
    assert any(c["doc_id"] == api.doc_ids[HEAT] and c["page_start"] == 1 for c in cited.values())
    # "en 2003" in the question limited the evidence to that year, and the response says so
    assert body["date_filter"]["origin"] == "question"
    assert body["date_filter"]["start"].startswith("2003")


def test_ask_stream_sends_the_same_answer_as_events(api: Api) -> None:
    with api.client() as c:
        plain = c.post("/v1/ask", json={"question": HEAT_QUESTION}).json()
        r = c.post("/v1/ask", json={"question": HEAT_QUESTION, "stream": True})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r)
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 1  # in pieces, not one blob
    assert events[-1][0] == "done" and [n for n, _ in events].count("done") == 1
    assert "".join(deltas) == plain["answer"] == events[-1][1]["answer"]
    assert events[-1][1]["citations"] == plain["citations"]


def test_ask_with_the_llm_backend(api: Api) -> None:
    before = len(api.llm.requests)
    with api.client() as c:
        r = c.post("/v1/ask", json={"question": HEAT_QUESTION, "backend": "openai", "k": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["backend"] == "openai" and "[1]" in body["answer"]
    assert body["citations"][0]["n"] == 1 and body["prompt_tokens"]
    assert len(api.llm.requests) == before + 1
    assert "41,7" in json.dumps(api.llm.requests[-1], ensure_ascii=False)  # evidence was sent


def test_ask_stream_passes_llm_tokens_through(api: Api) -> None:
    """With the LLM backend the server's stream is relayed as it comes, then the cited answer."""
    before = len(api.llm.requests)
    question = {"question": HEAT_QUESTION, "backend": "openai", "k": 2, "stream": True}
    with api.client() as c:
        r = c.post("/v1/ask", json=question)
    assert r.status_code == 200, r.text
    assert api.llm.requests[before].get("stream") is True  # the LLM was asked to stream
    events = sse_events(r)
    deltas = [data["text"] for name, data in events if name == "delta"]
    done = events[-1]
    assert done[0] == "done" and len(deltas) > 3
    assert "".join(deltas) == done[1]["answer"] and "[1]" in done[1]["answer"]
    assert done[1]["backend"] == "openai" and done[1]["citations"][0]["n"] == 1


def test_ask_stream_failing_llm_is_an_http_error(api: Api) -> None:
    """A failure before the first byte is a proper status, not a broken event stream."""
    api.llm.status = 401
    try:
        with api.client() as c:
            r = c.post(
                "/v1/ask", json={"question": HEAT_QUESTION, "backend": "openai", "stream": True}
            )
    finally:
        api.llm.status = None
    assert r.status_code >= 400 and "401" in r.text


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"question": ""}, "question", "at least 1 character"),
        ({"question": "   \n "}, "question", "must not be blank"),
        ({"question": "x" * (MAX_QUESTION_CHARS + 1)}, "question", "at most 2000"),
        ({"question": "ok?", "k": 0}, "k", "greater than or equal to 1"),
        ({"question": "ok?", "k": 101}, "k", "less than or equal to 100"),
        ({"question": "ok?", "filters": {"date_from": "2003-02-30"}}, "filters.date_from", "day"),
        ({"question": "ok?", "filters": {"date_to": "yesterday"}}, "filters.date_to", "date"),
        (
            {"question": "ok?", "filters": {"date_from": "2004-01-01", "date_to": "2003-01-01"}},
            "filters",
            "date_from (2004-01-01) is after date_to (2003-01-01)",
        ),
        ({"question": "ok?", "filters": {"colection": "x"}}, "filters.colection", "not permitted"),
        ({"qestion": "ok?"}, "question", "Field required"),
        ({"question": "ok?", "backend": "gpt"}, "backend", "unknown backend 'gpt'; valid: offline"),
    ],
)
def test_ask_validation_is_422_naming_the_field(
    api: Api, body: dict[str, Any], field: str, message: str
) -> None:
    with api.client() as c:
        r = c.post("/v1/ask", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    fields = [d["field"] for d in error.get("details") or [{"field": error["param"]}]]
    assert field in fields, error
    assert message in error["message"]
    assert r.json()["request_id"] == r.headers["x-request-id"]


def test_malformed_json_is_422(api: Api) -> None:
    with api.client() as c:
        r = c.post(
            "/v1/search", content=b'{"query": "x",', headers={"Content-Type": "application/json"}
        )
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("malformed JSON")


def test_oversized_json_body_is_413(api: Api) -> None:
    with api.client() as c:
        r = c.post("/v1/search", json={"query": "x", "pad": "y" * 300_000})
    assert r.status_code == 413 and "limit" in r.json()["error"]["message"]


def test_request_ids_reach_responses_and_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO, logger="api.access")
    with api.client() as c:
        mine = c.post("/v1/search", json={"query": "pont"}, headers={"X-Request-ID": "trace-42"})
        fresh = c.post("/v1/search", json={"query": "pont"})
        unsafe = c.post("/v1/search", json={"query": "pont"}, headers={"X-Request-ID": "a b\tc"})
    assert mine.headers["x-request-id"] == "trace-42"
    assert len(fresh.headers["x-request-id"]) == 32
    assert unsafe.headers["x-request-id"] not in ("a b\tc", "")
    records = [r for r in caplog.records if r.name == "api.access"]
    tagged = {getattr(r, "request_id", None): r.getMessage() for r in records}
    assert "/v1/search 200" in tagged["trace-42"] and "key=key-" in tagged["trace-42"]
    assert fresh.headers["x-request-id"] in tagged
