"""One client, one retry policy, for every caller of an OpenAI-compatible server: the answer
LLM, the vision model that reads pages, and the server tokenizer; against a real HTTP server."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from pipeline.answer.llm_client import ChatClient, ChatMessage
from pipeline.errors import EngineError
from pipeline.models import LLMOptions, VlmOptions
from pipeline.ocr.base import PageImage
from pipeline.ocr.vlm import VlmOcrEngine
from pipeline.openai_http import OpenAIHttp, ServerUnreachable
from tests.llm_server import LLMServer

pytestmark = pytest.mark.integration


def _page() -> PageImage:
    return PageImage(pixels=np.full((60, 40, 3), 255, np.uint8), dpi=72, page=3)


def test_llm_and_vlm_share_one_client_and_retry_a_busy_server_alike() -> None:
    for fail_status in (429, 503):
        with LLMServer(reply=lambda req: "ok", fail_times=1, fail_status=fail_status) as server:
            llm = ChatClient(LLMOptions(base_url=server.url, max_retries=1), backoff_s=0.01)
            vlm = VlmOcrEngine(VlmOptions(base_url=server.url, max_retries=1))
            vlm.http.backoff_s = 0.01
            assert isinstance(llm.http, OpenAIHttp) and isinstance(vlm.http, OpenAIHttp)
            assert llm.complete([ChatMessage("user", "hi")]).text == "ok"
            assert server.attempts == 2  # one busy answer, one retry
            assert vlm.predict_batch([_page()])[0].markdown == "ok"  # fail_times spent


def test_a_read_timeout_is_never_repeated_by_any_caller() -> None:
    def slow(request: dict[str, Any]) -> str:
        time.sleep(0.8)
        return "late"

    with LLMServer(reply=slow) as server:
        llm = ChatClient(LLMOptions(base_url=server.url, timeout_s=0.2, max_retries=3))
        vlm = VlmOcrEngine(VlmOptions(base_url=server.url, timeout_s=0.2, max_retries=3))
        for call in (lambda: llm.complete([ChatMessage("user", "hi")]),
                     lambda: vlm.predict_batch([_page()])):  # fmt: skip
            with pytest.raises(EngineError, match=r"no reply within 0\.2s") as err:
                call()
            assert err.value.retryable
        time.sleep(0.8)  # let the server finish the two slow requests
    assert server.attempts == 2  # one each: the server had the request already


def test_an_unreachable_server_is_told_apart_from_a_refusal() -> None:
    with LLMServer() as server:
        url = server.url
    http = OpenAIHttp(url, max_retries=1, backoff_s=0.01, label="LLM server")
    with pytest.raises(ServerUnreachable, match="after 2 tries: ConnectError") as err:
        http.post("/chat/completions", {"model": "m", "messages": []})
    assert err.value.retryable
    with LLMServer(status=401) as server:
        refused = OpenAIHttp(server.url, max_retries=3)
        with pytest.raises(EngineError, match="HTTP 401") as err:
            refused.post("/chat/completions", {"model": "m", "messages": []})
    assert not isinstance(err.value, ServerUnreachable) and not err.value.retryable
    assert server.attempts == 1
