"""Request ids, authentication, body-size limits, the access log and the last-resort 500, as one
ASGI middleware.

Pure ASGI rather than ``BaseHTTPMiddleware`` so streamed answers (SSE) pass through untouched.
The API key is checked (``api.auth.Gate``) before anything of the body is read. The body limit is
enforced twice: on ``Content-Length`` before anything is read, and on the bytes
actually received (a chunked upload has no length), so an oversized body is refused with 413
without being spooled to disk.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Gate
from api.context import new_request_id, request_id_var
from api.errors import ApiError, error_body

access_log = logging.getLogger("api.access")
log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: a decoded path
# holding one (``%0a``) must not start a forged line in the log. The backslash is escaped too, so
# an escape in the log always means an escaped character.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")


class RequestContextMiddleware:
    """Tags each request with an id, lets in only callers ``gate`` admits, bounds the body, logs
    one line per request and never leaks a traceback.

    ``body_limit(path)`` gives the most bytes a request to ``path`` may send.
    """

    def __init__(self, app: ASGIApp, *, gate: Gate, body_limit: Callable[[str], int]) -> None:
        self.app = app
        self.gate = gate
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = new_request_id(headers.get(REQUEST_ID_HEADER))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        state: dict[str, Any] = {"status": None}
        path = _app_path(scope)
        limit = self.body_limit(path)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                raw = list(message.get("headers", []))
                raw.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": raw}
            await send(message)

        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, _too_large(limit))
            return message

        try:
            self._admit(scope, headers)
            length = headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                await _send_error(send_with_id, 413, _too_large(limit))
            else:
                await self.app(scope, bounded_receive, send_with_id)
        except ApiError as e:  # refused at the gate
            if state["status"] is None:
                await _send_error(send_with_id, e.status, e.message, e.headers)
        except HTTPException as e:  # raised by bounded_receive outside a route
            if state["status"] is None:
                await _send_error(send_with_id, e.status_code, str(e.detail))
        except Exception:
            log.exception("unhandled error on %s %s", loggable(scope["method"]), loggable(path))
            if state["status"] is None:
                await _send_error(send_with_id, 500, "internal error (see the server log)")
        finally:
            _log_access(scope, state["status"], started)
            request_id_var.reset(token)

    def _admit(self, scope: Scope, headers: Headers) -> None:
        """Identify the caller (``ApiError`` if refused) and leave it in the request state."""
        client = scope.get("client") or (None, 0)
        principal = self.gate.admit(_app_path(scope), headers.get("authorization"), client[0])
        if principal is not None:
            shared = scope.setdefault("state", {})
            shared["principal"], shared["key_name"] = principal, principal.name


def _too_large(limit: int) -> str:
    return f"request body over the limit of {limit} bytes"


def _app_path(scope: Scope) -> str:
    """The path within the app (without the ``root_path`` a proxy mounts it under)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] or "/" if root and path.startswith(root) else path


async def _send_error(
    send: Send, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(error_body(status, message)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def loggable(text: object) -> str:
    """``text`` on one line, its control characters written as escapes (``\\x0a``).

    >>> loggable("/v1/x\\n127.0.0.1 GET /forged 200")
    '/v1/x\\\\x0a127.0.0.1 GET /forged 200'
    """
    return _UNPRINTABLE.sub(_escape, str(text))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _log_access(scope: Scope, status: int | None, started: float) -> None:
    client = scope.get("client") or ("-", 0)
    key = (scope.get("state") or {}).get("key_name", "-")
    access_log.info(
        "%s %s %s %s %.1fms key=%s",
        loggable(client[0]),
        loggable(scope["method"]),
        loggable(scope["path"]),
        status if status is not None else "-",
        (time.perf_counter() - started) * 1000,
        loggable(key),
    )
