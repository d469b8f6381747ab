"""A press feed: a JSONL manifest, one document a line, with the metadata the agency sends.

Each line is a JSON object with ``uri`` (``https://…``, ``s3://…``, an absolute path) or ``path``
(relative to the manifest's folder), and optionally ``title``, ``date`` (``YYYY``, ``YYYY-MM`` or
``YYYY-MM-DD``), ``language``, ``source``, ``collection`` and ``media_type``::

    {"path": "1987/elections.pdf", "title": "Élections", "date": "1987-03-16", "language": "fr",
     "source": "Le Courrier", "collection": "presse"}

The manifest's metadata wins over what the document says of itself, and reaches every chunk, so
date, language, source and collection filters work on it. A line that cannot be used (bad JSON,
no uri, an unreadable date) is reported with its line number, never skipped in silence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connectors.base import ConnectorSpec, Listing, Problem, SourceRef
from connectors.http import fetch_url
from connectors.objectstore import read_object
from pipeline.dates import parse_date
from pipeline.errors import ConfigError, DocumentLoadError
from pipeline.models import SourceDocument, SourceMetadata

FIELDS = ("uri", "path", "title", "date", "language", "source", "collection", "media_type")


def parse_entry(entry: Any, *, base: Path, collection: str) -> SourceRef:
    """One manifest line as a ``SourceRef``; ``ValueError`` says what is wrong with it."""
    if not isinstance(entry, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    uri = entry.get("uri")
    path = entry.get("path")
    if bool(uri) == bool(path):
        raise ValueError("needs exactly one of 'uri' and 'path'")
    if path:
        uri = str((base / str(path)).resolve())
    uri = str(uri)
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    date = None
    if entry.get("date") not in (None, ""):
        date = parse_date(entry["date"])
        if date is None:
            raise ValueError(f"unreadable date {entry['date']!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    meta = SourceMetadata(
        title=_text(entry.get("title")),
        date=date,
        language=_text(entry.get("language")),
        source=_text(entry.get("source")),
        collection=_text(entry.get("collection")) or collection,
    )
    return SourceRef(uri=uri, media_type=_text(entry.get("media_type")), metadata=meta)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


class PressFeedConnector:
    """The documents a JSONL manifest names (local, HTTP(S) or object storage), with metadata."""

    def __init__(self, spec: ConnectorSpec) -> None:
        self.spec = spec
        self.manifest = Path(spec.source.removeprefix("file://")).expanduser()

    def list(self) -> Listing:
        if not self.manifest.is_file():
            raise ConfigError(f"no such manifest: {self.manifest}")
        refs: dict[str, SourceRef] = {}
        problems: list[Problem] = []
        base = self.manifest.resolve().parent
        lines = self.manifest.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{self.manifest}:{n}"
            try:
                ref = parse_entry(json.loads(line), base=base, collection=self.spec.collection)
            except (json.JSONDecodeError, ValueError) as e:
                problems.append(Problem(where, str(e)))
                continue
            if ref.uri in refs:
                problems.append(Problem(where, f"{ref.uri} is already listed earlier; ignored"))
                continue
            refs[ref.uri] = ref
        return Listing(list(refs.values()), [], problems)

    def fetch(self, ref: SourceRef) -> SourceDocument:
        scheme = ref.uri.split("://", 1)[0].lower() if "://" in ref.uri else ""
        if scheme in ("http", "https"):
            got = fetch_url(
                ref.uri,
                max_bytes=self.spec.max_bytes,
                timeout_s=self.spec.timeout_s,
                allow_private=self.spec.allow_private,
            )
            data = got.data
        elif scheme:
            opts = self.spec.storage_options
            data, _ = read_object(ref.uri, opts, max_bytes=self.spec.max_bytes)
        else:
            path = Path(ref.uri)
            if not path.is_file():
                raise DocumentLoadError(f"{ref.uri}: no such file")
            return SourceDocument(
                uri=ref.uri, path=path, media_type=ref.media_type, metadata=ref.metadata
            )
        return SourceDocument(
            uri=ref.uri, data=data, media_type=ref.media_type, metadata=ref.metadata
        )

    def prune_scope(self) -> str | None:
        return None
