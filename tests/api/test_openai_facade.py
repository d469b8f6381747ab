"""The OpenAI-compatible facade driven by the official ``openai`` client, plain and streaming."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

from tests.api.conftest import ADMIN_KEY, FLOOD, HEAT, Api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FLOOD_QUESTION = "How high did the River Brennach rise at the Mill Lane gauge in April 2011?"


@pytest.fixture
def client(api: Api) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.url + "/v1", api_key=ADMIN_KEY, max_retries=0)


def _conversation(question: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a helpful archivist."},
        {"role": "user", "content": "Tell me about the heatwave."},
        {"role": "assistant", "content": "It hit Lorvennes in 2003 [1]."},
        {"role": "user", "content": question},
    ]


def test_models_list_the_backends(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == ["archivist", "archivist-offline", "archivist-openai"]


def test_chat_answers_the_last_user_message_with_citations(api: Api, client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="archivist", messages=_conversation(FLOOD_QUESTION), temperature=0.2
    )
    content = reply.choices[0].message.content or ""
    assert "6.82 metres" in content and reply.choices[0].finish_reason == "stop"
    citations = (reply.model_extra or {})["citations"]
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", content)}
    assert marks and marks <= {c["n"] for c in citations}
    assert {c["doc_id"] for c in citations} == {api.doc_ids[FLOOD]}
    assert reply.id.startswith("chatcmpl-") and reply.model == "archivist"


def test_chat_stream_matches_the_plain_reply(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(
        model="archivist-offline", messages=_conversation(FLOOD_QUESTION)
    )
    stream = client.chat.completions.create(
        model="archivist-offline",
        messages=_conversation(FLOOD_QUESTION),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 1
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finals) == 1
    assert (finals[0].model_extra or {})["citations"] == (plain.model_extra or {})["citations"]
    assert chunks[-1].choices == []  # the usage chunk closes the stream when asked for
    assert chunks[0].choices[0].delta.role == "assistant"


def test_chat_with_the_llm_backend_and_archivist_options(api: Api, client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="archivist-openai",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Record à Lorvennes ?"}]}],
        extra_body={"k": 2, "filters": {"collection": "press"}},
    )
    assert "[1]" in (reply.choices[0].message.content or "")
    assert reply.usage is not None and reply.usage.prompt_tokens > 0
    citations = (reply.model_extra or {})["citations"]
    assert citations and citations[0]["doc_id"] == api.doc_ids[HEAT]


def test_facade_errors_reach_the_client_as_openai_errors(api: Api, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="gpt-4o"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.UnprocessableEntityError, match="no user message"):
        client.chat.completions.create(
            model="archivist", messages=[{"role": "system", "content": "hi"}]
        )
    wrong = openai.OpenAI(base_url=api.url + "/v1", api_key="not-a-key-000000", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()


def test_plain_http_stream_ends_with_done(api: Api) -> None:
    body = {
        "model": "archivist",
        "messages": [{"role": "user", "content": FLOOD_QUESTION}],
        "stream": True,
    }
    with (
        httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c,
        c.stream("POST", "/v1/chat/completions", json=body, timeout=60) as r,
    ):
        lines = [ln for ln in r.iter_lines() if ln]
    assert r.headers["content-type"].startswith("text/event-stream")
    assert lines[-1] == "data: [DONE]"
    assert all(ln.startswith("data: ") for ln in lines)
