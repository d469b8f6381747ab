"""Questions to answers for both front doors (``/v1/ask`` and the chat facade), and streaming.

Which backends a client may name is decided by the answerer registry: a registered backend that
this server's settings can make (``offline`` always, ``openai`` only with an LLM configured,
``ARCHIVIST_LLM_BASE_URL``, plus any a plugin declares).

Streaming passes the backend's pieces on as they come (the LLM backend streams tokens from the
server); the offline answerer is extractive and makes its answer whole, which is then sent in
small pieces, so clients use one streaming code path for both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from api.annotations import file_name, pages_text
from api.auth import Principal
from api.deps import scoped
from api.errors import ApiError
from pipeline.answer import ANSWERERS
from pipeline.answer.stream import AnswerStream
from pipeline.archive import Archive
from pipeline.errors import ConfigError
from pipeline.models import Answer, Citation, SearchFilters

_PIECE = re.compile(r"\S+\s*|\s+")


def available_backends(archive: Archive) -> list[str]:
    """The answer backends this server can run, default first: the registered kinds that its
    settings can make (``openai`` needs ``ARCHIVIST_LLM_BASE_URL``), plugins' included."""
    default = archive.options.answer.backend
    others = [kind for kind in ANSWERERS.kinds() if kind != default]
    return [default, *(kind for kind in others if _reason_not(archive, kind) is None)]


def check_backend(archive: Archive, backend: str | None) -> str:
    """``backend`` (or the server's default) if this server can run it, else a 422."""
    name = backend or archive.options.answer.backend
    if name not in ANSWERERS:
        valid = ", ".join(available_backends(archive))
        raise ApiError(422, f"unknown backend {name!r}; valid: {valid}", param="backend")
    reason = _reason_not(archive, name)
    if reason is not None:
        raise ApiError(
            422, f"backend {name!r} is not configured on this server: {reason}", param="backend"
        )
    return name


def _reason_not(archive: Archive, backend: str) -> str | None:
    """Why ``backend`` cannot run with this server's settings (the registry's factory says),
    or None when it can."""
    try:
        archive.answerer(backend)
    except ConfigError as e:
        return str(e)
    return None


def answer_question(
    archive: Archive,
    principal: Principal,
    question: str,
    *,
    k: int | None = None,
    filters: SearchFilters | None = None,
    backend: str | None = None,
) -> Answer:
    """Retrieve within what ``principal`` may see, and answer with citations."""
    name = check_backend(archive, backend)
    return archive.ask(question, backend=name, k=k, filters=scoped(principal, filters))


def stream_question(
    archive: Archive,
    principal: Principal,
    question: str,
    *,
    k: int | None = None,
    filters: SearchFilters | None = None,
    backend: str | None = None,
) -> tuple[AnswerStream, list[str]]:
    """Start answering; returns the stream and its first pieces.

    The first piece is read here, before any response byte is sent, so that a failure to
    retrieve or to reach the LLM still becomes a proper HTTP error rather than a broken stream.
    """
    name = check_backend(archive, backend)
    stream = archive.ask_stream(question, backend=name, k=k, filters=scoped(principal, filters))
    first = next(stream, None)
    return stream, list(text_pieces(first)) if first else []


def stream_pieces(stream: AnswerStream, first: list[str]) -> Iterator[str]:
    """``first``, then the rest of ``stream``, each piece cut to a readable size."""
    yield from first
    for piece in stream:
        yield from text_pieces(piece)


def text_pieces(text: str, *, size: int = 24) -> Iterator[str]:
    """``text`` in pieces of about ``size`` characters, cut after whitespace, never mid-word.

    >>> list(text_pieces("A bridge opened [1]. It spans 460 m [2].", size=12))
    ['A bridge opened ', '[1]. It spans ', '460 m [2].']
    """
    piece = ""
    for token in _PIECE.findall(text):
        piece += token
        if len(piece) >= size:
            yield piece
            piece = ""
    if piece:
        yield piece


def sources_footer(citations: list[Citation]) -> str:
    """A plain-text list of what each ``[n]`` points to, for chat UIs without citation support."""
    if not citations:
        return ""
    lines = ["", "", "Sources:"]
    for c in citations:
        title = f"{c.title} — " if c.title else ""
        lines.append(f"[{c.n}] {title}{file_name(c)}{pages_text(c)}")
    return "\n".join(lines)


def sse(data: Any, *, event: str | None = None) -> str:
    """One server-sent event; ``data`` is JSON-encoded (a str is sent as it is)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    head = f"event: {event}\n" if event else ""
    return head + "".join(f"data: {line}\n" for line in payload.split("\n")) + "\n"
