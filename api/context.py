"""The request id of the request being served, for logs and error bodies.

A context variable set by the middleware: it follows the request into the thread pool (sync
routes), so a line logged by the core while answering carries the id the client got back in
``X-Request-ID``. ``RequestIdFilter`` puts it on every log record as ``%(request_id)s``.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("archivist_request_id", default=None)

# A caller-supplied id is kept only when it is short and plain: it ends up in log lines.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current_request_id() -> str | None:
    return request_id_var.get()


def new_request_id(offered: str | None = None) -> str:
    """The caller's ``X-Request-ID`` when it is safe to log, else a fresh random one."""
    if offered and _CLIENT_ID.match(offered):
        return offered
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` ("-" outside a request) so formats can always use it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True
