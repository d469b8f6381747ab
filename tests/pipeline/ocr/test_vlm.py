"""The VLM engine against a real OpenAI-compatible HTTP server on 127.0.0.1 (a scripted model)."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import numpy as np
import pytest

from pipeline.convert import convert_document
from pipeline.errors import ConfigError, EngineError
from pipeline.models import ConvertOptions, SourceDocument, VlmOptions
from pipeline.ocr.base import PageImage
from pipeline.ocr.vlm import VlmOcrEngine, parse_reply
from tests.llm_server import LLMServer
from tests.pipeline.ocr.conftest import ENGLISH, text_page_pdf

pytestmark = pytest.mark.integration


def image(page: int = 1, hint: str = "") -> PageImage:
    pixels = np.full((400, 300, 3), 255, np.uint8)
    return PageImage(pixels=pixels, dpi=72, page=page, hint=hint)


def parts(request: dict[str, Any]) -> tuple[str, str]:
    content = request["messages"][0]["content"]
    text = next(p["text"] for p in content if p["type"] == "text")
    url = next(p["image_url"]["url"] for p in content if p["type"] == "image_url")
    return text, url


def test_page_goes_as_png_with_its_text_layer_as_hints() -> None:
    with LLMServer(reply=lambda req: "# Page\n\nBody text.") as server:
        engine = VlmOcrEngine(VlmOptions(base_url=server.url, model="olmocr", api_key="k"))
        result = engine.predict_batch([image(hint="raw layer words")])[0]
    assert result.markdown == "# Page\n\nBody text." and result.engine == "vlm"
    request = server.requests[0]
    assert request["model"] == "olmocr" and request["temperature"] == 0.0
    text, url = parts(request)
    assert "RAW_TEXT_START\nraw layer words\nRAW_TEXT_END" in text
    assert base64.b64decode(url.removeprefix("data:image/png;base64,"))[:8] == b"\x89PNG\r\n\x1a\n"
    assert server.headers[0].get("Authorization") == "Bearer k"


def test_no_hint_section_without_a_text_layer() -> None:
    with LLMServer(reply=lambda req: "text") as server:
        VlmOcrEngine(VlmOptions(base_url=server.url)).predict_batch([image()])
    assert "RAW_TEXT_START" not in parts(server.requests[0])[0]


def test_olmocr_front_matter_is_read_and_dropped() -> None:
    reply = "```markdown\n---\nprimary_language: fr\nrotation_correction: 180\n---\nBonjour.\n```"
    assert parse_reply(reply) == ("Bonjour.", 180)
    assert parse_reply("Plain text.") == ("Plain text.", 0)


def test_overloaded_server_is_retried_then_answers() -> None:
    with LLMServer(reply=lambda req: "ok", fail_times=2) as server:
        engine = VlmOcrEngine(VlmOptions(base_url=server.url, max_retries=2))
        assert engine.predict_batch([image()])[0].markdown == "ok"
    assert server.attempts == 3


def test_retries_are_bounded_and_the_error_is_retryable() -> None:
    with LLMServer(reply=lambda req: "never", fail_times=10) as server:
        engine = VlmOcrEngine(VlmOptions(base_url=server.url, max_retries=1))
        with pytest.raises(EngineError) as info:
            engine.predict_batch([image(page=7)])
    assert server.attempts == 2 and info.value.retryable and "page 7" in str(info.value)


def test_refusal_is_not_retried() -> None:
    with LLMServer(status=401) as server:
        engine = VlmOcrEngine(VlmOptions(base_url=server.url, max_retries=3))
        with pytest.raises(EngineError, match="HTTP 401"):
            engine.predict_batch([image()])
    assert server.attempts == 1


def test_timeout_gives_up_after_the_retries() -> None:
    def slow(req: dict[str, Any]) -> str:
        time.sleep(1.5)
        return "late"

    with LLMServer(reply=slow) as server:
        engine = VlmOcrEngine(VlmOptions(base_url=server.url, timeout_s=0.3, max_retries=1))
        with pytest.raises(EngineError, match="ReadTimeout"):
            engine.predict_batch([image()])


def test_cut_reply_is_an_error() -> None:
    with LLMServer(reply=lambda req: "half a pa", finish_reason="length") as server:
        engine = VlmOcrEngine(VlmOptions(base_url=server.url))
        with pytest.raises(EngineError, match="max_tokens"):
            engine.predict_batch([image()])


def test_concurrency_is_bounded_and_order_kept() -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def reply(req: dict[str, Any]) -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.2)
        with lock:
            state["now"] -= 1
        return parts(req)[0].rsplit("RAW_TEXT_START\n", 1)[-1].split("\n", 1)[0]

    with LLMServer(reply=reply) as server:
        engine = VlmOcrEngine(VlmOptions(base_url=server.url, concurrency=2))
        pages = [image(page=n, hint=f"page-{n}") for n in range(1, 7)]
        results = engine.predict_batch(pages)
    assert [r.markdown for r in results] == [f"page-{n}" for n in range(1, 7)]
    assert state["peak"] == 2


def test_vlm_without_a_server_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs a server"):
        VlmOcrEngine(VlmOptions())


def test_converter_takes_the_models_markdown_for_vlm_pages() -> None:
    data = text_page_pdf(ENGLISH).tobytes()
    with LLMServer(reply=lambda req: "# From the model\n\nRead from the image.") as server:
        opts = ConvertOptions(ocr="always", engine="vlm", vlm=VlmOptions(base_url=server.url))
        doc = convert_document(SourceDocument(uri="file:///a.pdf", data=data), opts)
    page = doc.pages[0]
    assert (page.method, page.markdown) == ("vlm", "# From the model\n\nRead from the image.")
    assert ENGLISH[0] in parts(server.requests[0])[0]  # the text layer went along as hints


def test_concurrency_holds_across_converter_workers() -> None:
    """Eight OCR workers share one engine: still at most ``concurrency`` requests in flight."""
    from concurrent.futures import ThreadPoolExecutor

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def reply(req: dict[str, Any]) -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return "ok"

    with LLMServer(reply=reply) as server:
        engine = VlmOcrEngine(VlmOptions(base_url=server.url, concurrency=3))
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda n: engine.predict_batch([image(page=n)]), range(8)))
    assert state["peak"] == 3
