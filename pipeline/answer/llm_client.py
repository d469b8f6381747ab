"""The one HTTP client for OpenAI-compatible chat servers (vLLM, llama.cpp's server, Ollama).

``complete`` returns the whole reply; ``stream`` yields the reply's text as the server sends it
(server-sent events, ``stream: true``) and returns the finished ``ChatReply``. This is the one
place where network calls are retried: connection errors, 429 and 5xx get a few tries with
exponential backoff (``Retry-After`` honoured); other 4xx fail at once. A stream is retried only
before its first token: once text has reached the caller, a retry would repeat it.

>>> client = ChatClient(LLMOptions(base_url="http://localhost:8000/v1"))     # doctest: +SKIP
>>> client.complete([ChatMessage("user", "Bonjour")]).text                  # doctest: +SKIP
'Bonjour ! Comment puis-je vous aider ?'
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, Literal, NamedTuple

import httpx

from pipeline.errors import ConfigError, EngineError
from pipeline.models import LLMOptions

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0
# Failures where the request may never have reached the model: safe and useful to retry.
_RETRY_EXCEPTIONS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


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


class _Retry(NamedTuple):
    """A transient failure: why, and how long the server asked us to wait (``Retry-After``)."""

    reason: str
    wait_s: float | None


class ChatClient:
    """Chat completions from ``{base_url}/chat/completions`` with bounded retries."""

    def __init__(self, opts: LLMOptions, *, backoff_s: float = 1.0) -> None:
        if not opts.base_url:
            raise ConfigError(
                "the openai answer backend needs a server: set ARCHIVIST_LLM_BASE_URL "
                "(e.g. http://localhost:8000/v1 for vLLM) or LLMOptions.base_url"
            )
        self.opts = opts
        self.backoff_s = backoff_s
        self.url = opts.base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {opts.api_key}"} if opts.api_key else {}
        self._timeout = httpx.Timeout(opts.timeout_s, connect=min(10.0, opts.timeout_s))

    def complete(self, messages: Sequence[ChatMessage]) -> ChatReply:
        """The whole reply (read as a stream when ``opts.stream`` is set)."""
        if self.opts.stream:
            return drain(self.stream(messages))
        reply = self._with_retries(lambda client: self._try(client, self._body(messages)))
        return _reply_of(reply, self.url)

    def stream(self, messages: Sequence[ChatMessage]) -> Generator[str, None, ChatReply]:
        """Yield the reply's text piece by piece; return the finished ``ChatReply``."""
        body = self._body(messages, stream=True)
        tries = self.opts.max_retries + 1
        with httpx.Client(timeout=self._timeout, headers=self._headers) as client:
            for attempt in range(1, tries + 1):
                sent: list[str] = []
                try:
                    with client.stream("POST", self.url, json=body) as response:
                        if response.status_code >= 400:
                            response.read()
                            outcome = self._failure(response)
                        else:
                            return (yield from _read_events(response, sent, self.url))
                except _RETRY_EXCEPTIONS as e:
                    if sent:
                        raise EngineError(
                            f"LLM stream from {self.url} broke after {len(sent)} pieces: {e}",
                            retryable=True,
                        ) from e
                    outcome = _Retry(f"{type(e).__name__}: {e}", None)
                except httpx.TimeoutException as e:
                    raise self._timeout_error() from e
                except httpx.HTTPError as e:
                    raise EngineError(f"cannot call LLM server at {self.url}: {e}") from e
                self._wait(outcome, attempt, tries)
        raise self._gave_up(tries, outcome.reason)

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

    def _with_retries(
        self, attempt_fn: Callable[[httpx.Client], dict[str, Any] | _Retry]
    ) -> dict[str, Any]:
        tries = self.opts.max_retries + 1
        # A client per call: nothing to close, and one connection setup is nothing next to a
        # generation; retries of the call reuse its connection.
        reason = ""
        with httpx.Client(timeout=self._timeout, headers=self._headers) as client:
            for attempt in range(1, tries + 1):
                outcome = attempt_fn(client)
                if not isinstance(outcome, _Retry):
                    return outcome
                reason = outcome.reason
                self._wait(outcome, attempt, tries)
        raise self._gave_up(tries, reason)

    def _wait(self, outcome: _Retry, attempt: int, tries: int) -> None:
        if attempt >= tries:
            return
        delay = min(MAX_BACKOFF_S, outcome.wait_s or self.backoff_s * 2 ** (attempt - 1))
        log.warning(
            "LLM call failed (%s); try %d/%d in %.1fs", outcome.reason, attempt + 1, tries, delay
        )
        time.sleep(delay)

    def _gave_up(self, tries: int, reason: str) -> EngineError:
        return EngineError(
            f"LLM server at {self.url} unavailable after {tries} tries: {reason}", retryable=True
        )

    def _timeout_error(self) -> EngineError:
        # The server took the request and is still generating: a retry here would queue a second
        # generation behind the first. Orchestration may retry later.
        return EngineError(
            f"LLM server at {self.url} gave no reply within {self.opts.timeout_s}s", retryable=True
        )

    def _try(self, client: httpx.Client, body: dict[str, Any]) -> dict[str, Any] | _Retry:
        """One POST: the reply's JSON, a ``_Retry`` for a transient failure, or an EngineError."""
        try:
            response = client.post(self.url, json=body)
        except _RETRY_EXCEPTIONS as e:
            return _Retry(f"{type(e).__name__}: {e}", None)
        except httpx.TimeoutException as e:
            raise self._timeout_error() from e
        except httpx.HTTPError as e:
            raise EngineError(f"cannot call LLM server at {self.url}: {e}") from e
        if response.status_code < 400:
            return _json(response, self.url)
        return self._failure(response)

    def _failure(self, response: httpx.Response) -> _Retry:
        """A ``_Retry`` for a transient HTTP status; EngineError for any other."""
        message = _server_message(response)
        if response.status_code not in RETRY_STATUSES:
            raise EngineError(
                f"LLM server at {self.url} refused the request "
                f"(HTTP {response.status_code}): {message}",
                retryable=False,
            )
        return _Retry(f"HTTP {response.status_code}: {message}", _retry_after(response))


def drain(stream: Generator[str, None, ChatReply]) -> ChatReply:
    """Run a reply stream to its end and return what it returns."""
    while True:
        try:
            next(stream)
        except StopIteration as stop:
            return stop.value


def _read_events(
    response: httpx.Response, sent: list[str], url: str
) -> Generator[str, None, ChatReply]:
    """Parse server-sent events (``data: {...}`` lines, ``data: [DONE]``) into text pieces."""
    finish: str | None = None
    usage: dict[str, Any] = {}
    done = False
    for data in _data_lines(response.iter_lines()):
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


def _data_lines(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.startswith("data:"):
            yield line[5:].strip()


def _reply_of(data: dict[str, Any], url: str) -> ChatReply:
    try:
        choice = data["choices"][0]
        text = str(choice["message"]["content"] or "").strip()
    except (KeyError, IndexError, TypeError) as e:
        raise EngineError(f"unexpected reply from {url}: {str(data)[:200]}") from e
    usage = data.get("usage") or {}
    finish = choice.get("finish_reason")
    return ChatReply(text, finish, usage.get("prompt_tokens"), usage.get("completion_tokens"))


def _json(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as e:
        raise EngineError(f"LLM server at {url} sent non-JSON: {response.text[:200]}") from e
    if not isinstance(data, dict):
        raise EngineError(f"LLM server at {url} sent an unexpected reply: {str(data)[:200]}")
    return data


def _server_message(response: httpx.Response) -> str:
    """The error message the server gave (OpenAI's ``{"error": {"message"}}`` or FastAPI's)."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        for key in ("message", "detail", "error"):
            if data.get(key):
                return str(data[key])
    return str(data)[:300]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
