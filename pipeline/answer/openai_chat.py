"""Answers from an OpenAI-compatible chat server (vLLM with Mistral Small 3.1, llama.cpp, Ollama).

The hits are packed into the model's window (``context.pack_context``), sent to
``{base_url}/chat/completions``, and the reply's ``[n]`` marks are mapped back to the packed
chunks. This is the one place where network calls are retried: connection errors, 429 and 5xx get
a few tries with exponential backoff (``Retry-After`` honoured); other 4xx fail at once.

>>> answerer = OpenAIChatAnswerer(LLMOptions(base_url="http://localhost:8000/v1"))  # doctest: +SKIP
>>> answerer.answer("Qui a gagné ?", hits).citations[0].page_start                  # doctest: +SKIP
3
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import httpx

from pipeline.answer.citations import not_found_answer, resolve_citations
from pipeline.answer.context import PackedContext, pack_context
from pipeline.errors import ConfigError, EngineError
from pipeline.models import Answer, Hit, LLMOptions
from pipeline.tokens import TokenCounter, default_token_counter

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


class _Retry(NamedTuple):
    """A transient failure: why, and how long the server asked us to wait (``Retry-After``)."""

    reason: str
    wait_s: float | None


class OpenAIChatAnswerer:
    """Cited answers from a chat model behind an OpenAI-compatible API (backend ``"openai"``)."""

    name = "openai"

    def __init__(
        self,
        opts: LLMOptions,
        token_counter: TokenCounter | None = None,
        *,
        backoff_s: float = 1.0,
    ) -> None:
        if not opts.base_url:
            raise ConfigError(
                "the openai answer backend needs a server: set ARCHIVIST_LLM_BASE_URL "
                "(e.g. http://localhost:8000/v1 for vLLM) or LLMOptions.base_url"
            )
        self.opts = opts
        self.counter = token_counter or default_token_counter()
        self.backoff_s = backoff_s
        self.url = opts.base_url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {opts.api_key}"} if opts.api_key else {}
        self._headers = headers
        self._timeout = httpx.Timeout(opts.timeout_s, connect=min(10.0, opts.timeout_s))

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        """Ask the model about ``question`` with ``hits`` as numbered sources.

        With no hits the model is not called: there is nothing it could cite.
        """
        if not hits:
            return not_found_answer(question, self.name)
        packed = pack_context(question, hits, opts=self.opts, counter=self.counter)
        if not packed.sources:
            raise ConfigError(f"context window {self.opts.context_window} holds no source")
        reply = self._post(packed)
        return self._to_answer(question, reply, packed)

    def _post(self, packed: PackedContext) -> dict[str, Any]:
        body = {
            "model": self.opts.model,
            "messages": [m._asdict() for m in packed.messages],
            "max_tokens": self.opts.max_tokens,
            "temperature": self.opts.temperature,
        }
        tries = self.opts.max_retries + 1
        reason = ""
        # A client per question: nothing to close, and one connection setup is nothing next to
        # a generation; retries of the question reuse its connection.
        with httpx.Client(timeout=self._timeout, headers=self._headers) as client:
            for attempt in range(1, tries + 1):
                outcome = self._try(client, body)
                if not isinstance(outcome, _Retry):
                    return outcome
                reason = outcome.reason
                if attempt < tries:
                    delay = min(MAX_BACKOFF_S, outcome.wait_s or self._backoff(attempt))
                    log.warning(
                        "LLM call failed (%s); try %d/%d in %.1fs",
                        reason,
                        attempt + 1,
                        tries,
                        delay,
                    )
                    time.sleep(delay)
        raise EngineError(
            f"LLM server at {self.url} unavailable after {tries} tries: {reason}", retryable=True
        )

    def _try(self, client: httpx.Client, body: dict[str, Any]) -> dict[str, Any] | _Retry:
        """One POST: the reply's JSON, a ``_Retry`` for a transient failure, or an EngineError."""
        try:
            response = client.post(self.url, json=body)
        except _RETRY_EXCEPTIONS as e:
            return _Retry(f"{type(e).__name__}: {e}", None)
        except httpx.TimeoutException as e:
            # The server took the request and is still generating: a retry here would queue a
            # second generation behind the first. Orchestration may retry later.
            raise EngineError(
                f"LLM server at {self.url} gave no reply within {self.opts.timeout_s}s",
                retryable=True,
            ) from e
        except httpx.HTTPError as e:
            raise EngineError(f"cannot call LLM server at {self.url}: {e}") from e
        if response.status_code < 400:
            return _json(response, self.url)
        message = _server_message(response)
        if response.status_code not in RETRY_STATUSES:
            raise EngineError(
                f"LLM server at {self.url} refused the request "
                f"(HTTP {response.status_code}): {message}",
                retryable=False,
            )
        return _Retry(f"HTTP {response.status_code}: {message}", _retry_after(response))

    def _backoff(self, attempt: int) -> float:
        return self.backoff_s * 2 ** (attempt - 1)

    def _to_answer(self, question: str, reply: dict[str, Any], packed: PackedContext) -> Answer:
        try:
            choice = reply["choices"][0]
            text = str(choice["message"]["content"] or "").strip()
        except (KeyError, IndexError, TypeError) as e:
            raise EngineError(f"unexpected reply from {self.url}: {str(reply)[:200]}") from e
        usage = reply.get("usage") or {}
        resolved = resolve_citations(text, packed.numbered())
        flagged = list(resolved.flagged)
        if choice.get("finish_reason") == "length":
            flagged.append(f"answer cut at max_tokens={self.opts.max_tokens}")
        if not text:
            return not_found_answer(question, self.name, flagged=[*flagged, "empty reply"])
        if not resolved.citations:
            flagged.append("answer cites no source")
        return Answer(
            text=text,
            backend=self.name,
            citations=resolved.citations,
            found=bool(resolved.citations),
            prompt_tokens=usage.get("prompt_tokens", packed.prompt_tokens),
            completion_tokens=usage.get("completion_tokens"),
            flagged=flagged,
        )


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
