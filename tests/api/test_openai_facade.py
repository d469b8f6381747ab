"""The OpenAI-compatible facade driven by the official ``openai`` client, plain and streaming:
answers, usage, citations as ``url_citation`` annotations, OpenAI-shaped errors.
(LangChain's client: ``test_langchain_facade``.)"""

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
    assert [client.models.retrieve(name).id for name in ids] == ids
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4o")
    assert (missing.value.code, missing.value.param) == ("model_not_found", "model")


def _check_annotations(api: Api, content: str, annotations: list[dict], citations: list[dict]):  # type: ignore[type-arg, no-untyped-def]
    """Each ``[n]`` mark of ``content`` is one annotation, pointing at its citation's page,
    whose URL answers (with the key: the same checks as the document)."""
    marks = [m.span() for m in re.finditer(r"\[\d+\]", content)]
    assert (
        marks
        and [
            (a["url_citation"]["start_index"], a["url_citation"]["end_index"]) for a in annotations
        ]
        == marks
    )
    by_n = {c["n"]: c for c in citations}
    for a in annotations:
        assert a["type"] == "url_citation"
        note = a["url_citation"]
        cited = by_n[int(content[note["start_index"] + 1 : note["end_index"] - 1])]
        page = f"/v1/documents/{cited['doc_id']}/pages/{cited['page_start']}.png"
        assert note["url"] == cited["page_image"] == api.url + page
        assert (
            note["title"].startswith(cited["title"] or "")
            and f"p. {cited['page_start']}" in note["title"]
        )
    with api.client() as http:
        image = http.get(annotations[0]["url_citation"]["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    with api.client(key=None) as anonymous:
        assert anonymous.get(annotations[0]["url_citation"]["url"]).status_code == 401


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
    annotations = [a.model_dump() for a in reply.choices[0].message.annotations or []]
    _check_annotations(api, content, annotations, citations)


def test_usage_counts_with_the_packers_tokenizer(api: Api, client: openai.OpenAI) -> None:
    """The offline answerer reports no tokens of its own: the facade counts the answer and the
    question with its passages with the LLM tokenizer the context packer uses."""
    reply = client.chat.completions.create(
        model="archivist-offline", messages=[{"role": "user", "content": FLOOD_QUESTION}]
    )
    usage, content = reply.usage, reply.choices[0].message.content or ""
    assert usage is not None
    counter = api.archive.llm_counter
    assert api.archive.answerer("openai").counter is counter  # the one packing prompts
    assert usage.completion_tokens == counter.count(content)
    assert usage.prompt_tokens > counter.count(FLOOD_QUESTION) + usage.completion_tokens
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


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
    streamed_notes = (finals[0].choices[0].delta.model_extra or {})["annotations"]
    plain_notes = [a.model_dump() for a in plain.choices[0].message.annotations or []]
    assert streamed_notes == plain_notes and plain_notes
    assert chunks[-1].choices == []  # the usage chunk closes the stream when asked for
    assert chunks[-1].usage == plain.usage and plain.usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[0].choices[0].delta.role == "assistant"


def test_chat_with_the_llm_backend_and_archivist_options(api: Api, client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="archivist-openai",
        messages=[{"role": "user", "content": [{"type": "text", "text": "Record à Lorvennes ?"}]}],
        extra_body={"k": 2, "filters": {"collection": "press"}},
    )
    assert "[1]" in (reply.choices[0].message.content or "")
    assert reply.usage is not None and reply.usage.prompt_tokens > 0
    assert reply.usage.completion_tokens > 0  # the server's own count
    citations = (reply.model_extra or {})["citations"]
    assert citations and citations[0]["doc_id"] == api.doc_ids[HEAT]
    content = reply.choices[0].message.content or ""
    annotations = [a.model_dump() for a in reply.choices[0].message.annotations or []]
    _check_annotations(api, content, annotations, citations)


def test_facade_errors_reach_the_client_as_openai_errors(api: Api, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="gpt-4o") as missing:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError, match="no user message") as no_user:
        client.chat.completions.create(
            model="archivist", messages=[{"role": "system", "content": "hi"}]
        )
    assert (no_user.value.type, no_user.value.code) == ("invalid_request_error", "invalid_value")
    assert no_user.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as two:
        client.chat.completions.create(model="archivist", messages=_conversation("?"), n=2)
    assert (two.value.code, two.value.param) == ("invalid_value", "n")
    wrong = openai.OpenAI(base_url=api.url + "/v1", api_key="not-a-key-000000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as denied:
        wrong.models.list()
    assert denied.value.code == "invalid_api_key"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tools", [{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        ("tool_choice", "required"),
        ("response_format", {"type": "json_object"}),
        ("logprobs", True),
        ("modalities", ["text", "audio"]),
    ],
)
def test_what_cannot_be_honoured_is_refused(
    client: openai.OpenAI, field: str, value: object
) -> None:
    with pytest.raises(openai.BadRequestError, match="not supported") as refused:
        client.chat.completions.create(
            model="archivist",
            messages=_conversation(FLOOD_QUESTION),
            **{field: value},  # type: ignore[call-overload]
        )
    assert (refused.value.code, refused.value.param) == ("unsupported_parameter", field)
    assert refused.value.type == "invalid_request_error"


def test_defaults_clients_send_are_accepted(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="archivist",
        messages=_conversation(FLOOD_QUESTION),
        response_format={"type": "text"},
        tool_choice="none",
        logprobs=False,
        temperature=0.0,
        max_tokens=200,
    )
    assert "6.82 metres" in (reply.choices[0].message.content or "")


def test_invalid_bodies_are_400_on_openai_routes_and_422_on_archivists(api: Api) -> None:
    """The same error body everywhere; the status each kind of client expects."""
    with api.client() as http:
        chat = http.post("/v1/chat/completions", json={"model": "archivist"})
        ask = http.post("/v1/ask", json={"k": 3})
        broken = http.post(
            "/v1/chat/completions",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
    assert chat.status_code == 400 and ask.status_code == 422
    for response, param in ((chat, "messages"), (ask, "question")):
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert (error["code"], error["param"]) == ("missing_required_parameter", param)
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"


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
