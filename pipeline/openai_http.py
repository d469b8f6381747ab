"""The one HTTP client for OpenAI-compatible servers (vLLM, llama.cpp's server, Ollama), with the
one retry policy every caller shares: the answer LLM (``pipeline.answer.llm_client``), the
vision model that reads pages (``pipeline.ocr.vlm``) and the server tokenizer
(``pipeline.tokens``).

The policy: a request is tried again only when the server never started on it, or said to come
back later: connection errors and 408, 429, 500, 502, 503, 504, at most ``max_retries`` times,
waiting ``Retry-After`` when the server gives one, else ``backoff_s`` doubling each time (at most
30 s). A read timeout is not retried here: the server has the request and may still be working on
it, and a second one would queue behind the first; it raises a retryable ``EngineError`` so that
orchestration may try the whole stage later. Other 4xx fail at once. A stream is retried only
before its first event: once data has reached the caller, a retry would repeat it.

>>> client = OpenAIHttp("http://localhost:8000/v1", timeout_s=60)          # doctest: +SKIP
>>> client.post("/chat/completions", {"model": "m", "messages": []})["choices"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, TypeVar

import httpx

from pipeline.errors import EngineError

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0
# Failures where the request may never have reached the model: safe and useful to retry.
RETRY_EXCEPTIONS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


class ServerUnreachable(EngineError):
    """Every try failed before the server answered (refused, reset, no route)."""


class StreamBroken(EngineError):
    """A stream stopped after some of its events had been handed on (never retried here)."""


class _Retry(NamedTuple):
    """A transient failure: why, how long the server asked us to wait, and whether it answered."""

    reason: str
    wait_s: float | None
    answered: bool


class OpenAIHttp:
    """Requests to ``{base_url}{path}`` with bearer auth, timeouts and the retry policy above.

    ``label`` names the server in errors ("LLM server", "VLM server"); ``max_connections``
    bounds the connections kept (a VLM reading pages in parallel). One client is shared by the
    threads of its caller.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 10.0,
        max_retries: int = 2,
        backoff_s: float = 1.0,
        max_connections: int | None = None,
        label: str = "server",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.label = label
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=max_connections)
        timeout = httpx.Timeout(timeout_s, connect=min(connect_timeout_s, timeout_s))
        self._client = httpx.Client(
            timeout=timeout, headers=headers, limits=limits, transport=transport
        )

    def url(self, path: str) -> str:
        return self.base_url + path

    def close(self) -> None:
        self._client.close()

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` as JSON; the reply's JSON object (retried under the policy)."""
        url = self.url(path)
        return self._retrying(url, lambda: self._post_once(url, body))

    def stream(self, path: str, body: dict[str, Any]) -> Iterator[str]:
        """POST ``body`` and yield the ``data:`` payloads of the server-sent events as they come.

        Opening the stream is retried under the policy; a failure after the first payload
        raises ``StreamBroken`` (retryable by orchestration, never repeated here).
        """
        url = self.url(path)
        tries = self.max_retries + 1
        outcome = _Retry("", None, False)
        for attempt in range(1, tries + 1):
            sent = 0
            try:
                with self._client.stream("POST", url, json=body) as response:
                    if response.status_code >= 400:
                        response.read()
                        outcome = self._failure(url, response)
                    else:
                        for line in response.iter_lines():
                            if line.startswith("data:"):
                                sent += 1
                                yield line[5:].strip()
                        return
            except RETRY_EXCEPTIONS as e:
                if sent:
                    raise StreamBroken(f"{type(e).__name__}: {e}", retryable=True) from e
                outcome = _Retry(f"{type(e).__name__}: {e}", None, False)
            except httpx.TimeoutException as e:
                raise self._timeout_error(url, e) from e
            except httpx.HTTPError as e:
                raise EngineError(f"cannot call {self.label} at {url}: {e}") from e
            self._wait(outcome, attempt, tries)
        raise self._gave_up(url, tries, outcome)

    # --- the policy ---

    def _retrying(self, url: str, once: Callable[[], T | _Retry]) -> T:
        tries = self.max_retries + 1
        outcome = _Retry("", None, False)
        for attempt in range(1, tries + 1):
            result = once()
            if not isinstance(result, _Retry):
                return result
            outcome = result
            self._wait(outcome, attempt, tries)
        raise self._gave_up(url, tries, outcome)

    def _post_once(self, url: str, body: dict[str, Any]) -> dict[str, Any] | _Retry:
        try:
            response = self._client.post(url, json=body)
        except RETRY_EXCEPTIONS as e:
            return _Retry(f"{type(e).__name__}: {e}", None, False)
        except httpx.TimeoutException as e:
            raise self._timeout_error(url, e) from e
        except httpx.HTTPError as e:
            raise EngineError(f"cannot call {self.label} at {url}: {e}") from e
        if response.status_code < 400:
            return _json(response, url, self.label)
        return self._failure(url, response)

    def _failure(self, url: str, response: httpx.Response) -> _Retry:
        """A ``_Retry`` for a transient HTTP status; ``EngineError`` for any other."""
        message = server_message(response)
        if response.status_code not in RETRY_STATUSES:
            raise EngineError(
                f"{self.label} at {url} refused the request "
                f"(HTTP {response.status_code}): {message}",
                retryable=False,
            )
        reason = f"HTTP {response.status_code}: {message}"
        return _Retry(reason, _retry_after(response), True)

    def _wait(self, outcome: _Retry, attempt: int, tries: int) -> None:
        if attempt >= tries:
            return
        delay = min(MAX_BACKOFF_S, outcome.wait_s or self.backoff_s * 2 ** (attempt - 1))
        log.warning(
            "%s call failed (%s); try %d/%d in %.1fs",
            self.label,
            outcome.reason,
            attempt + 1,
            tries,
            delay,
        )
        time.sleep(delay)

    def _gave_up(self, url: str, tries: int, outcome: _Retry) -> EngineError:
        error = EngineError if outcome.answered else ServerUnreachable
        return error(
            f"{self.label} at {url} unavailable after {tries} tries: {outcome.reason}",
            retryable=True,
        )

    def _timeout_error(self, url: str, e: httpx.TimeoutException) -> EngineError:
        return EngineError(
            f"{self.label} at {url} gave no reply within {self.timeout_s}s ({type(e).__name__})",
            retryable=True,
        )


def server_message(response: httpx.Response) -> str:
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


def _json(response: httpx.Response, url: str, label: str) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError) as e:
        raise EngineError(f"{label} at {url} sent non-JSON: {response.text[:200]}") from e
    if not isinstance(data, dict):
        raise EngineError(f"{label} at {url} sent an unexpected reply: {str(data)[:200]}")
    return data


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
