"""Markdown and plain text pass through, with optional YAML front matter as metadata.

A ``.md`` file is already what the pipeline wants; a ``.txt`` file's paragraphs are Markdown
paragraphs as they stand. Either may start with front matter::

    ---
    title: Le procès
    date: 1987-03-02
    language: fr
    source: Le Monde
    ---
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from pipeline.convert.common import (
    CONVERTER_VERSION,
    document_status,
    finish_metadata,
    join_pages,
    normalize_text,
    parse_date,
)
from pipeline.errors import DocumentLoadError
from pipeline.models import (
    ConvertOptions,
    PageResult,
    ParsedDocument,
    SourceDocument,
    SourceMetadata,
    StageError,
)

MARKDOWN = "text/markdown"
PLAIN = "text/plain"

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_BLANK_RUNS = re.compile(r"\n{3,}")


def decode_text(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else Windows-1252, the usual encoding of older Western files.

    >>> decode_text("caf\\u00e9".encode("cp1252"))
    'café'
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The front matter mapping (empty if none) and the body after it.

    >>> split_front_matter("---\\ntitle: A\\n---\\nBody")
    ({'title': 'A'}, 'Body')
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as e:
        raise DocumentLoadError(f"invalid YAML front matter: {e}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocumentLoadError("invalid YAML front matter: expected a mapping of keys to values")
    return data, text[match.end() :]


def _front_matter_metadata(front: dict[str, Any], errors: list[StageError]) -> SourceMetadata:
    """Metadata from front matter keys; an unreadable date is reported, not guessed."""
    fields: dict[str, Any] = {}
    for key in ("title", "language", "source", "collection"):
        value = front.get(key)
        if value is not None and str(value).strip():
            fields[key] = str(value).strip()
    if front.get("date") is not None:
        date = parse_date(front["date"])
        if date is None:
            message = f"front matter: unreadable date {front['date']!r}"
            errors.append(StageError(stage="convert", message=message))
        fields["date"] = date
    return SourceMetadata(**fields)


def _clean_body(body: str) -> str:
    lines = [normalize_text(line).rstrip() for line in body.replace("\r\n", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


def convert_text(src: SourceDocument, opts: ConvertOptions | None = None) -> ParsedDocument:
    """A Markdown or plain-text document as a one-page ``ParsedDocument``.

    >>> doc = convert_text(SourceDocument(uri="mem://note.md", data=b"# Hello\\n\\nWorld."))
    >>> doc.metadata.title, doc.markdown
    ('Hello', '<!-- page 1 -->\\n# Hello\\n\\nWorld.\\n')
    """
    text = decode_text(src.read_bytes()).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentLoadError(f"{src.name}: empty document")
    front, body = split_front_matter(text)
    body = _clean_body(body)
    if not body.strip():
        raise DocumentLoadError(f"{src.name}: empty document (front matter only)")
    errors: list[StageError] = []
    found = _front_matter_metadata(front, errors)
    pages = [PageResult(page=1, markdown=body, method="text")]
    markdown = join_pages(pages)
    media_type = PLAIN if src.name.lower().endswith(".txt") else MARKDOWN
    return ParsedDocument(
        doc_id=src.doc_id,
        uri=src.uri,
        metadata=finish_metadata(src, found, body),
        media_type=src.media_type or media_type,
        pages=pages,
        markdown=markdown,
        status=document_status(pages),
        errors=errors,
        converter=CONVERTER_VERSION,
    )
