"""A small OpenAI-compatible chat server for tests: the real HTTP protocol, a scripted model.

It stands in for vLLM where a 24B model cannot run: ``POST /v1/chat/completions`` and
``GET /v1/models`` over real sockets, every request body and header recorded, the reply text
chosen by a callable, and failures on demand (``fail_times`` 503s first, or always ``status``).

A chat request with ``"stream": true`` gets server-sent events, one per word of the reply (and a
usage event when ``stream_options.include_usage`` asks for it), as vLLM sends them;
``stream_break_after`` drops the connection after that many events. Given a ``tokenize``
function (text → token strings), the server also answers ``POST /tokenize`` and
``POST /detokenize`` in vLLM's dialect (``{"model", "prompt"}`` or ``{"model", "messages"}``) or,
with ``tokenize_dialect="llamacpp"``, in llama.cpp's (``{"content"}``); those requests are
recorded in ``tokenize_requests``. Without one, those routes answer 404 like a server that lacks
them.

>>> with LLMServer(reply=lambda req: "Paris [1].") as server:      # doctest: +SKIP
...     httpx.post(server.url + "/chat/completions", json={...}).json()["choices"][0]
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ReplyFn = Callable[[dict[str, Any]], str]

_SOURCE_HEADER = re.compile(r"^\[(\d+)\]", re.MULTILINE)


def prompt_text(request: dict[str, Any]) -> str:
    """All message contents of a chat request, joined (what the model would read)."""
    return "\n".join(str(m.get("content", "")) for m in request.get("messages", []))


def cite_first_sources(request: dict[str, Any]) -> str:
    """Default reply: cite the first two ``[n]`` sources of the prompt, or say "I don't know"."""
    numbers = list(dict.fromkeys(_SOURCE_HEADER.findall(prompt_text(request))))[:2]
    if not numbers:
        return "I don't know: the sources do not say."
    parts = [f"The first source gives the answer [{numbers[0]}]."]
    if len(numbers) > 1:
        parts.append(f"The second source adds detail [{numbers[1]}].")
    return " ".join(parts)


class LLMServer:
    """An OpenAI-compatible server on 127.0.0.1 (free port), run in a thread; a context manager.

    ``url`` is the base URL clients take (``http://127.0.0.1:PORT/v1``). ``requests`` holds every
    chat request body in order, ``headers`` their headers.
    """

    def __init__(
        self,
        reply: ReplyFn | None = None,
        *,
        fail_times: int = 0,
        fail_status: int = 503,
        status: int | None = None,
        model: str = "test-model",
        finish_reason: str = "stop",
        tokenize: Callable[[str], list[str]] | None = None,
        tokenize_dialect: str = "vllm",
        chat_overhead: int = 3,
        stream_break_after: int | None = None,
    ) -> None:
        self.reply = reply or cite_first_sources
        self.fail_times = fail_times
        self.fail_status = fail_status
        self.status = status
        self.model = model
        self.finish_reason = finish_reason
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.attempts = 0
        self.tokenize = tokenize
        self.tokenize_dialect = tokenize_dialect
        self.chat_overhead = chat_overhead
        self.stream_break_after = stream_break_after
        self.tokenize_requests: list[dict[str, Any]] = []
        self._vocab: dict[str, int] = {}
        self._pieces: list[str] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> LLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def handle_chat(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict]:
        """The status and JSON for one chat request (failures first, then the reply)."""
        with self._lock:
            self.attempts += 1
            self.requests.append(body)
            self.headers.append(headers)
            failing = self.attempts <= self.fail_times
        if self.status is not None and self.status >= 400:
            return self.status, _error(self.status, "Invalid API key provided")
        if failing:
            return self.fail_status, _error(self.fail_status, "model is overloaded, retry later")
        text = self.reply(body)
        prompt_tokens = len(prompt_text(body).split())
        completion_tokens = len(text.split())
        return 200, {
            "id": f"chatcmpl-{self.attempts}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", self.model),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def stream_events(self, body: dict[str, Any], payload: dict[str, Any]) -> list[dict[str, Any]]:
        """The events of a streamed reply: a role, one per word, the finish, maybe the usage."""
        text = payload["choices"][0]["message"]["content"]
        base = {"id": payload["id"], "object": "chat.completion.chunk", "created": 0}
        base["model"] = payload["model"]

        def event(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return {**base, "choices": [choice]}

        events = [event({"role": "assistant", "content": ""})]
        events += [event({"content": piece}) for piece in re.findall(r"\S+\s*|\s+", text)]
        events.append(event({}, payload["choices"][0]["finish_reason"]))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": payload["usage"]})
        return events

    def handle_tokenize(self, path: str, body: dict[str, Any]) -> tuple[int, dict]:
        """``/tokenize`` and ``/detokenize`` in the configured dialect, or 404 without one."""
        if self.tokenize is None:
            return 404, _error(404, f"no route {path}")
        with self._lock:
            self.tokenize_requests.append({"path": path, **body})
        vllm = self.tokenize_dialect == "vllm"
        if path == "/detokenize":
            text = "".join(self._pieces[i] for i in body.get("tokens", []))
            return 200, {"prompt": text} if vllm else {"content": text}
        if vllm and "messages" in body:
            n = sum(len(self.tokenize(str(m.get("content", "")))) for m in body["messages"])
            count = n + self.chat_overhead * len(body["messages"]) + 1
            return 200, {"count": count, "max_model_len": 131072, "tokens": [0] * count}
        text = body.get("prompt") if vllm else body.get("content")
        if not isinstance(text, str):
            return 400, _error(400, "nothing to tokenize")
        ids = [self._id(piece) for piece in self.tokenize(text)]
        return 200, {"count": len(ids), "max_model_len": 131072, "tokens": ids} if vllm else {
            "tokens": ids
        }

    def _id(self, piece: str) -> int:
        with self._lock:
            if piece not in self._vocab:
                self._vocab[piece] = len(self._pieces)
                self._pieces.append(piece)
            return self._vocab[piece]

    def models(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "tests"}],
        }


def _error(status: int, message: str) -> dict[str, Any]:
    kind = "authentication_error" if status == 401 else "server_error"
    return {"error": {"message": message, "type": kind, "code": status}}


def _handler_for(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: without this, Nagle's algorithm holds the
            # body for the client's delayed ACK (40 ms a request on Linux loopback).
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, server.models())
            else:
                self._send(404, _error(404, f"no route {self.path}"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") in ("/tokenize", "/detokenize"):
                self._send(*server.handle_tokenize(self.path.rstrip("/"), json.loads(raw or b"{}")))
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, _error(404, f"no route {self.path}"))
                return
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, _error(400, "body is not JSON"))
                return
            status, payload = server.handle_chat(body, dict(self.headers.items()))
            if body.get("stream") and status == 200:
                self._send_events(server.stream_events(body, payload))
                return
            self._send(status, payload)

        def _send_events(self, events: list[dict[str, Any]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for i, event in enumerate(events):
                if server.stream_break_after is not None and i >= server.stream_break_after:
                    return  # the connection drops mid-stream
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Handler
