"""Chat completions from OpenAI-compatible servers (vLLM, llama.cpp's server, Ollama).

``complete`` returns the whole reply; ``stream`` yields the reply's text as the server sends it
(server-sent events, ``stream: true``) and returns the finished ``ChatReply``. The requests go
through ``pipeline.openai_http``, the one client with the one retry policy (connection errors,
429 and 5xx retried with backoff, ``Retry-After`` honoured; other 4xx and read timeouts not);
a stream is retried only before its first event.

>>> client = ChatClient(LLMOptions(base_url="http://localhost:8000/v1"))     # doctest: +SKIP
>>> client.complete([ChatMessage("user", "Bonjour")]).text                  # doctest: +SKIP
'Bonjour ! Comment puis-je vous aider ?'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator, Sequence
from typing import Any, Literal, NamedTuple

from pipeline.errors import ConfigError, EngineError
from pipeline.models import LLMOptions
from pipeline.openai_http import OpenAIHttp, StreamBroken

log = logging.getLogger(__name__)


class ChatMessage(NamedTuple):
    """One chat message as OpenAI-compatible servers take it."""

    role: Literal["system", "user", "assistant"]
    content: str


class ChatReply(NamedTuple):
    """A finished reply: its text, why it stopped, and the server's token counts."""

    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


class ChatClient:
    """Chat completions from ``{base_url}/chat/completions``."""

    def __init__(self, opts: LLMOptions, *, backoff_s: float = 1.0) -> None:
        if not opts.base_url:
            raise ConfigError(
                "the openai answer backend needs a server: set ARCHIVIST_LLM_BASE_URL "
                "(e.g. http://localhost:8000/v1 for vLLM) or LLMOptions.base_url"
            )
        self.opts = opts
        self.http = OpenAIHttp(
            opts.base_url,
            api_key=opts.api_key,
            timeout_s=opts.timeout_s,
            max_retries=opts.max_retries,
            backoff_s=backoff_s,
            label="LLM server",
        )
        self.url = self.http.url("/chat/completions")

    def complete(self, messages: Sequence[ChatMessage]) -> ChatReply:
        """The whole reply (read as a stream when ``opts.stream`` is set)."""
        if self.opts.stream:
            return drain(self.stream(messages))
        return _reply_of(self.http.post("/chat/completions", self._body(messages)), self.url)

    def stream(self, messages: Sequence[ChatMessage]) -> Generator[str, None, ChatReply]:
        """Yield the reply's text piece by piece; return the finished ``ChatReply``."""
        sent: list[str] = []
        events = self.http.stream("/chat/completions", self._body(messages, stream=True))
        try:
            return (yield from _read_events(events, sent, self.url))
        except StreamBroken as e:
            raise EngineError(
                f"LLM stream from {self.url} broke after {len(sent)} pieces: {e}", retryable=True
            ) from e

    def _body(self, messages: Sequence[ChatMessage], *, stream: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.opts.model,
            "messages": [m._asdict() for m in messages],
            "max_tokens": self.opts.max_tokens,
            "temperature": self.opts.temperature,
        }
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body


def drain(stream: Generator[str, None, ChatReply]) -> ChatReply:
    """Run a reply stream to its end and return what it returns."""
    while True:
        try:
            next(stream)
        except StopIteration as stop:
            return stop.value


def _read_events(
    events: Iterator[str], sent: list[str], url: str
) -> Generator[str, None, ChatReply]:
    """Parse server-sent events (``{...}`` payloads, then ``[DONE]``) into text pieces."""
    finish: str | None = None
    usage: dict[str, Any] = {}
    done = False
    for data in events:
        if data == "[DONE]":
            done = True
            break
        try:
            event = json.loads(data)
        except ValueError as e:
            raise EngineError(f"LLM server at {url} sent a bad stream event: {data[:200]}") from e
        if event.get("error"):
            raise EngineError(f"LLM server at {url} failed mid-stream: {event['error']}")
        usage = event.get("usage") or usage
        for choice in event.get("choices") or []:
            finish = choice.get("finish_reason") or finish
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                sent.append(piece)
                yield piece
    if not done and finish is None:  # the connection closed before the reply ended
        raise EngineError(
            f"LLM stream from {url} broke after {len(sent)} pieces: no end of stream",
            retryable=True,
        )
    return ChatReply(
        "".join(sent).strip(), finish, usage.get("prompt_tokens"), usage.get("completion_tokens")
    )


def _reply_of(data: dict[str, Any], url: str) -> ChatReply:
    try:
        choice = data["choices"][0]
        text = str(choice["message"]["content"] or "").strip()
    except (KeyError, IndexError, TypeError) as e:
        raise EngineError(f"unexpected reply from {url}: {str(data)[:200]}") from e
    usage = data.get("usage") or {}
    finish = choice.get("finish_reason")
    return ChatReply(text, finish, usage.get("prompt_tokens"), usage.get("completion_tokens"))
