"""A vision-language model behind an OpenAI-compatible chat endpoint reads whole pages.

One request per page: the rendered page as a PNG data URL and, when the page has a text layer,
that text as hints (olmOCR's "anchor text" idea: the model copies exact spellings and numbers from
it and reads the layout from the image). The reply is the page's Markdown; a YAML front matter
block, as olmOCR writes it, is read for its rotation and dropped.

Requests go through ``pipeline.openai_http`` (the one client and retry policy shared with the
answer LLM: timeouts, bounded retries where the server never started on the page), at most
``concurrency`` pages in flight. Serve for example with vLLM (see docs/convert.md)::

    vllm serve allenai/olmOCR-2-7B-1025-FP8 --max-model-len 16384
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from pipeline.errors import ConfigError, EngineError
from pipeline.models import ConvertOptions, VlmOptions
from pipeline.ocr.base import OcrResult, PageImage
from pipeline.openai_http import OpenAIHttp

log = logging.getLogger(__name__)

PROMPT = (
    "Attached is one page of a document. Return its content as Markdown, reading it as a person "
    "would: columns in order, headings with #, tables as Markdown tables (HTML when cells span "
    "rows or columns), equations in LaTeX. Leave out running headers, footers and page numbers. "
    "Do not describe images, and do not invent text: a blank page gives an empty answer."
)
HINTS = (
    "\n\nThe page's own text layer follows, in no reliable order; use it for exact spellings "
    "and numbers where it agrees with the image:\nRAW_TEXT_START\n{hints}\nRAW_TEXT_END"
)
_FRONT = re.compile(r"\A\s*---\s*\n(.*?)\n---\s*\n?", re.DOTALL)
_FENCE = re.compile(r"\A\s*```(?:markdown|md)?\s*\n(.*?)\n```\s*\Z", re.DOTALL)
_ROTATION = re.compile(r"rotation_correction:\s*(\d+)")
_MAX_HINT_CHARS = 6000


class VlmOcrEngine:
    """Pages to Markdown through ``POST {base_url}/chat/completions`` with an image part."""

    kind = "vlm"

    def __init__(self, opts: VlmOptions, *, transport: httpx.BaseTransport | None = None) -> None:
        if not opts.base_url:
            raise ConfigError(
                "engine 'vlm' needs a server: set ARCHIVIST_VLM_BASE_URL or --vlm-url"
            )
        self.opts = opts
        self.http = OpenAIHttp(
            opts.base_url,
            api_key=opts.api_key,
            timeout_s=opts.timeout_s,
            max_retries=opts.max_retries,
            max_connections=opts.concurrency,
            label="VLM server",
            transport=transport,
        )
        self.url = self.http.url("/chat/completions")
        # Bounds requests in flight across every caller (the converter's OCR workers included).
        self._slots = threading.BoundedSemaphore(opts.concurrency)

    def predict_batch(self, images: Sequence[PageImage]) -> list[OcrResult]:
        """Send the pages, ``concurrency`` at a time; results in the order of ``images``."""
        if len(images) <= 1 or self.opts.concurrency == 1:
            return [self._predict(image) for image in images]
        with ThreadPoolExecutor(max_workers=min(self.opts.concurrency, len(images))) as pool:
            return list(pool.map(self._predict, images))

    def _predict(self, image: PageImage) -> OcrResult:
        request = self._request(image)
        with self._slots:
            reply = self._post(request, image.page)
        markdown, rotation = parse_reply(reply)
        return OcrResult(
            [], image.width, image.height, rotation, markdown=markdown, engine=self.kind
        )

    def _request(self, image: PageImage) -> dict[str, Any]:
        text = PROMPT
        if image.hint.strip():
            text += HINTS.format(hints=image.hint.strip()[:_MAX_HINT_CHARS])
        url = "data:image/png;base64," + base64.b64encode(_png(image, self.opts.image_px)).decode()
        content = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": url}}]
        return {
            "model": self.opts.model,
            "messages": [{"role": "user", "content": content}],
            "temperature": self.opts.temperature,
            "max_tokens": self.opts.max_tokens,
        }

    def _post(self, body: dict[str, Any], page: int) -> str:
        try:
            reply = self.http.post("/chat/completions", body)
        except EngineError as e:
            raise EngineError(f"page {page}: {e}", retryable=e.retryable) from e
        return _content(reply, page)


def _content(reply: dict[str, Any], page: int) -> str:
    try:
        choice = reply["choices"][0]
        content = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as e:
        raise EngineError(f"VLM server sent an unreadable reply for page {page}") from e
    if choice.get("finish_reason") == "length":
        raise EngineError(f"VLM reply for page {page} was cut at max_tokens")
    return str(content)


def parse_reply(reply: str) -> tuple[str, int]:
    """The Markdown of a model's reply and the rotation it reported (olmOCR front matter).

    >>> parse_reply("---\\nrotation_correction: 90\\n---\\n# Title")
    ('# Title', 90)
    """
    text = reply.strip()
    fence = _FENCE.match(text)
    if fence:
        text = fence.group(1)
    rotation = 0
    front = _FRONT.match(text)
    if front:
        match = _ROTATION.search(front.group(1))
        rotation = int(match.group(1)) % 360 if match else 0
        text = text[front.end() :]
    return text.strip(), rotation


def _png(image: PageImage, longest: int) -> bytes:
    import cv2
    import numpy as np

    pixels = np.ascontiguousarray(image.pixels[:, :, :3])
    scale = longest / max(image.width, image.height)
    if scale < 1:
        size = (round(image.width * scale), round(image.height * scale))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    if not ok:
        raise EngineError("could not encode the page image as PNG")
    return data.tobytes()


def make_vlm(opts: ConvertOptions) -> VlmOcrEngine:
    return VlmOcrEngine(opts.vlm or VlmOptions())
