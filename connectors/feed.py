"""A press feed: a JSONL manifest, one document a line, with the metadata the agency sends.

Each line is a JSON object with ``path`` (relative to the manifest's folder) or ``uri`` (an
``https://…`` URL, or an object in a prefix the sync allows), and optionally ``title``, ``date``
(``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``), ``language``, ``source``, ``collection`` and
``media_type``::

    {"path": "1987/elections.pdf", "title": "Élections", "date": "1987-03-16", "language": "fr",
     "source": "Le Courrier", "collection": "presse"}

The manifest's metadata wins over what the document says of itself, and reaches every chunk, so
date, language, source and collection filters work on it. A line that cannot be used (bad JSON,
no uri, an unreadable date) is reported with its line number, never skipped in silence.

A manifest is written by someone else (an agency), so a line may reach only what the sync's
operator allowed (``ConnectorSpec``), and is refused with its reason otherwise:

- ``path``: a relative path that stays inside the manifest's folder once resolved (no absolute
  path, no ``..`` out of it, no symbolic link out of it; checked again when the file is read);
- ``uri``: an ``http(s)://`` URL, fetched through the URL connector's guard (public addresses
  only unless ``allow_private``, resolved once and pinned); or an object under one of
  ``allow_prefixes`` (read with the sync's storage options). ``file://``, absolute paths, other
  schemes and chained fsspec URLs (``simplecache::http://…``) are refused;
- ``collection``: the sync's own collection or one of ``allow_collections``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from connectors.base import ConnectorSpec, Listing, Problem, SourceRef
from connectors.http import ALLOWED_SCHEMES, check_url, fetch_url
from connectors.objectstore import read_object
from pipeline.dates import parse_date
from pipeline.errors import ConfigError, DocumentLoadError
from pipeline.models import SourceDocument, SourceMetadata

FIELDS = ("uri", "path", "title", "date", "language", "source", "collection", "media_type")


def parse_entry(entry: Any, *, base: Path, spec: ConnectorSpec) -> SourceRef:
    """One manifest line as a ``SourceRef``; ``ValueError`` says what is wrong with it
    (``base``: the manifest's folder, resolved)."""
    if not isinstance(entry, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(entry) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    uri = entry.get("uri")
    path = entry.get("path")
    if bool(uri) == bool(path):
        raise ValueError("needs exactly one of 'uri' and 'path'")
    uri = str(local_path(str(path), base)) if path else remote_uri(str(uri), spec)
    date = None
    if entry.get("date") not in (None, ""):
        date = parse_date(entry["date"])
        if date is None:
            raise ValueError(f"unreadable date {entry['date']!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    collection = _text(entry.get("collection")) or spec.collection
    if not spec.may_file_under(collection):
        allowed = ", ".join([spec.collection, *spec.allow_collections])
        raise ValueError(
            f"collection {collection!r} is not one this feed may write (allowed: {allowed}; "
            "the sync's operator adds others with --allow-collection)"
        )
    meta = SourceMetadata(
        title=_text(entry.get("title")),
        date=date,
        language=_text(entry.get("language")),
        source=_text(entry.get("source")),
        collection=collection,
    )
    return SourceRef(uri=uri, media_type=_text(entry.get("media_type")), metadata=meta)


def local_path(path: str, base: Path) -> Path:
    """``path`` resolved under ``base``; ``ValueError`` when it is absolute, a URL, or ends up
    outside ``base`` (``..``, or a symbolic link that points out)."""
    if "://" in path or "::" in path or path.startswith("file:"):
        raise ValueError(f"'path' must be a relative file path, not a URL: {path!r}")
    if Path(path).is_absolute() or PurePosixPath(path).is_absolute():
        raise ValueError(f"'path' must be relative to the manifest's folder: {path!r}")
    resolved = (base / path).resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise ValueError(f"'path' {path!r} leads outside the manifest's folder {base}")
    return resolved


def remote_uri(uri: str, spec: ConnectorSpec) -> str:
    """``uri`` if a line may name it: an http(s) URL, or an object under an allowed prefix."""
    if "::" in uri:
        raise ValueError(f"chained URLs are not allowed: {uri!r}")
    scheme = urlsplit(uri).scheme.lower() if "://" in uri else ""
    if scheme in ALLOWED_SCHEMES:
        try:
            check_url(uri)
        except DocumentLoadError as e:
            raise ValueError(str(e)) from e
        return uri
    if scheme in ("", "file"):
        raise ValueError(
            f"local files are named with 'path', relative to the manifest's folder: {uri!r}"
        )
    parts = uri.split("://", 1)[1].split("/")
    if any(part in (".", "..") for part in parts):
        raise ValueError(f"'.' and '..' are not allowed in an object URL: {uri!r}")
    if not any(uri.startswith(prefix) for prefix in spec.allow_prefixes):
        allowed = ", ".join(spec.allow_prefixes) or "none"
        raise ValueError(
            f"{uri!r} is outside the object-storage prefixes this feed may read "
            f"(allowed: {allowed}; the sync's operator adds one with --allow-prefix)"
        )
    return uri


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
                ref = parse_entry(json.loads(line), base=base, spec=self.spec)
            except (json.JSONDecodeError, ValueError) as e:
                problems.append(Problem(where, str(e)))
                continue
            if ref.uri in refs:
                problems.append(Problem(where, f"{ref.uri} is already listed earlier; ignored"))
                continue
            refs[ref.uri] = ref
        return Listing(list(refs.values()), [], problems)

    def fetch(self, ref: SourceRef) -> SourceDocument:
        """The line's document, checked again by the listing's rules (a ref may come from a
        task's parameters, and a link in the folder may have changed since the listing)."""
        try:
            if "://" not in ref.uri:
                return self._read_local(ref)
            uri = remote_uri(ref.uri, self.spec)
        except ValueError as e:
            raise DocumentLoadError(f"refused {ref.uri}: {e}") from e
        if urlsplit(uri).scheme.lower() in ALLOWED_SCHEMES:
            got = fetch_url(
                uri,
                max_bytes=self.spec.max_bytes,
                timeout_s=self.spec.timeout_s,
                allow_private=self.spec.allow_private,
            )
            data = got.data
        else:
            data, _ = read_object(uri, self.spec.storage_options, max_bytes=self.spec.max_bytes)
        return SourceDocument(uri=uri, data=data, media_type=ref.media_type, metadata=ref.metadata)

    def _read_local(self, ref: SourceRef) -> SourceDocument:
        """A file in the manifest's folder, opened without following a link swapped in since."""
        base = self.manifest.resolve().parent
        try:
            path = local_path(os.path.relpath(ref.uri, base), base)
        except ValueError as e:
            raise DocumentLoadError(f"refused {ref.uri}: {e}") from e
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError as e:
            raise DocumentLoadError(f"{ref.uri}: no such file") from e
        except OSError as e:
            raise DocumentLoadError(f"{ref.uri}: cannot be read ({e.strerror})") from e
        with os.fdopen(fd, "rb") as f:
            data = f.read(self.spec.max_bytes + 1)
        if len(data) > self.spec.max_bytes:
            raise DocumentLoadError(f"{ref.uri}: over the {self.spec.max_bytes}-byte limit")
        return SourceDocument(
            uri=str(path), data=data, media_type=ref.media_type, metadata=ref.metadata
        )

    def prune_scope(self) -> str | None:
        return None
