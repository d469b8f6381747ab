"""The OpenAI-compatible facade driven by LangChain's ``ChatOpenAI``, plain and streaming.

LangChain's chat-completions client keeps the content (with its ``[n]`` marks), the usage and
the errors; it drops ``message.annotations`` and the ``citations`` extra (langchain-openai 1.8
reads neither from a chat completion), which the last test pins down so the docs stay true.
"""

from __future__ import annotations

import re

import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from tests.api.conftest import ADMIN_KEY, Api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION = "How high did the River Brennach rise at the Mill Lane gauge in April 2011?"


def _chat(api: Api, model: str = "archivist-offline", **kw: object) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=api.url + "/v1",
        api_key=SecretStr(ADMIN_KEY),
        model=model,
        max_retries=0,
        **kw,  # type: ignore[arg-type]
    )


def test_invoke_answers_with_marks_and_usage(api: Api) -> None:
    reply = _chat(api).invoke([SystemMessage("You are an archivist."), HumanMessage(QUESTION)])
    assert isinstance(reply, AIMessage)
    text = reply.text
    assert "6.82 metres" in text and re.search(r"\[\d+\]", text)
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["output_tokens"] == api.archive.llm_counter.count(text)
    assert usage["input_tokens"] > usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert reply.response_metadata["finish_reason"] == "stop"


def test_stream_gives_the_same_text_and_usage(api: Api) -> None:
    chat = _chat(api, stream_usage=True)
    plain = chat.invoke(QUESTION)
    pieces = list(chat.stream(QUESTION))
    assert sum(1 for p in pieces if p.text) > 1
    whole = pieces[0]
    for piece in pieces[1:]:
        whole = whole + piece
    assert isinstance(whole, AIMessageChunk)
    assert whole.text == plain.text
    assert whole.usage_metadata == plain.usage_metadata and whole.usage_metadata is not None


def test_errors_reach_langchain_as_openai_errors(api: Api) -> None:
    with pytest.raises(openai.NotFoundError, match="gpt-4o"):
        _chat(api, model="gpt-4o").invoke(QUESTION)
    with pytest.raises(openai.BadRequestError, match="tools is not supported") as refused:
        _chat(api).bind_tools([{"type": "function", "function": {"name": "f"}}]).invoke(QUESTION)
    assert refused.value.code == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError, match="no user message"):
        _chat(api).invoke([SystemMessage("only instructions")])


def test_langchain_drops_the_annotations_the_response_carries(api: Api) -> None:
    """What LangChain users do not get (docs/api.md says how to get the sources)."""
    reply = _chat(api).invoke(QUESTION)
    kept = repr(reply.model_dump())
    assert "url_citation" not in kept and "citations" not in kept
