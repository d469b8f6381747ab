"""One error body for every endpoint, readable by people and by OpenAI clients alike.

``{"error": {"message", "type", "code", "param", "details"}, "request_id"}``: OpenAI's client
reads ``error.message``; a person reads the same line; ``code`` is a short name a program can test
(``invalid_value``, ``missing_required_parameter``, ``model_not_found``...); ``details`` lists every
invalid field. Core exceptions map to statuses here, so routes raise and never format errors.

An invalid request is a 422 on archivist's own routes (``/v1/ask``, ``/v1/documents``...) and a
400 on the OpenAI-compatible ones (``OPENAI_PATHS``), as OpenAI's clients expect: the body is the
same.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.context import current_request_id
from pipeline.errors import ArchivistError, ConfigError, EngineError, IndexSchemaError

log = logging.getLogger(__name__)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "internal_error",
    502: "backend_error",
    503: "unavailable",
}


# The short names ``error.code`` takes when a route gives none, by status.
STATUS_CODES = {
    400: "invalid_request",
    401: "invalid_api_key",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "backend_error",
    503: "unavailable",
}

# Routes that follow OpenAI's API: an invalid request there is a 400, as OpenAI answers.
OPENAI_PATHS = ("/v1/chat/", "/v1/models")

_LOCATIONS = ("body", "query", "path", "header", "cookie", "form")


class ErrorDetail(BaseModel):
    field: str | None
    message: str
    code: str | None = None


class ErrorInfo(BaseModel):
    message: str
    type: str
    code: str
    param: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorInfo
    request_id: str | None


class ApiError(Exception):
    """An error a route raises on purpose: status, message, optional headers and param."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.code = code


def error_body(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message,
        "type": ERROR_TYPES.get(status, "error"),
        "code": code or STATUS_CODES.get(status, "error"),
        "param": param,
    }
    if details:
        error["details"] = details
    return {"error": error, "request_id": current_request_id()}


def error_response(
    status: int, message: str, *, headers: dict[str, str] | None = None, **kw: Any
) -> JSONResponse:
    return JSONResponse(error_body(status, message, **kw), status_code=status, headers=headers)


def validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Each invalid field as ``{"field": "filters.date_to", "message": ..., "code": ...}``."""
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in _LOCATIONS:
            loc = loc[1:]
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            message = f"malformed JSON: {ctx.get('error', message)}"
            loc = []
        field = ".".join(loc) or None
        details.append({"field": field, "message": message, "code": _code(str(err.get("type")))})
    return details


def _code(pydantic_type: str) -> str:
    """OpenAI's names for what is wrong with a field, from pydantic's error type."""
    if pydantic_type == "missing":
        return "missing_required_parameter"
    if pydantic_type == "extra_forbidden":
        return "unknown_parameter"
    if pydantic_type == "json_invalid":
        return "invalid_json"
    if pydantic_type.endswith(("_type", "_parsing")):
        return "invalid_type"
    return "invalid_value"


def invalid_status(path: str) -> int:
    """The status of an invalid request on ``path``: 400 on the OpenAI routes, else 422."""
    return 400 if path.startswith(OPENAI_PATHS) else 422


def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc)
    summary = "; ".join(
        f"{d['field']}: {d['message']}" if d["field"] else d["message"] for d in details
    )
    first = details[0] if details else {"field": None, "code": None}
    return error_response(
        invalid_status(request.url.path),
        summary or "invalid request",
        param=first["field"],
        code=first["code"],
        details=details,
    )


def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status, exc.message, headers=exc.headers, param=exc.param, code=exc.code
    )


def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, str(exc.detail), headers=headers)


def _on_archivist(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ArchivistError)
    if isinstance(exc, EngineError):
        status = 503 if exc.retryable else 502
        log.warning("backend failed: %s", exc)
        headers = {"Retry-After": "5"} if exc.retryable else None
        return error_response(status, f"answer backend failed: {exc}", headers=headers)
    if isinstance(exc, IndexSchemaError):
        return error_response(503, f"index unavailable: {exc}")
    if isinstance(exc, ConfigError):
        log.error("server configuration error: %s", exc)
        return error_response(500, f"server configuration error: {exc}")
    log.error("request failed: %s", exc)
    return error_response(500, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ArchivistError, _on_archivist)
