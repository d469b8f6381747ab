"""What every connector offers, and the registry that picks one by ``kind``.

A connector answers two questions: *what is there* (``list``: cheap, no document bytes) and *give
me this one* (``fetch``: the bytes, as a ``SourceDocument`` with the source's metadata). The
ingest flow lists once, then fetches document by document inside tasks that can be retried, so a
connector is rebuilt from a small, hashable ``ConnectorSpec`` wherever a task runs.

>>> spec = ConnectorSpec(kind="local", source="sample_docs", patterns=("*.pdf",))
>>> connector = make_connector(spec)                                  # doctest: +SKIP
>>> [ref.uri for ref in connector.list().refs][:1]                    # doctest: +SKIP
['/…/sample_docs/1983-05-12_greve-port-aurele_fr.pdf']
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.models import (
    DEFAULT_COLLECTION,
    SourceDocument,
    SourceMetadata,
    check_collection,
)
from pipeline.registry import GROUPS, Registry

DEFAULT_PATTERNS = ("*.pdf", "*.md", "*.markdown", "*.txt")
DEFAULT_MAX_BYTES = 200 * 1024 * 1024


class SourceRef(BaseModel):
    """One document as a listing sees it, before its bytes are read.

    ``uri`` is the document's identity in the index (a new version at the same uri replaces the
    old one). ``fingerprint`` is a cheap version marker when the source has one (an object's
    ETag); ``None`` means "read the bytes to know".
    """

    model_config = ConfigDict(frozen=True)

    uri: str
    fingerprint: str | None = None
    size: int | None = None
    media_type: str | None = None
    metadata: SourceMetadata = Field(default_factory=SourceMetadata)


class Problem(NamedTuple):
    """Something a listing could not turn into a document (a bad manifest line, a missing path)."""

    where: str
    reason: str


class Listing(NamedTuple):
    """What a source holds now: the documents, what was left out on purpose, and what was broken."""

    refs: list[SourceRef]
    skipped: list[str]
    problems: list[Problem]


class ConnectorSpec(BaseModel):
    """Everything needed to rebuild a connector in another thread or process (hashable, JSON-able).

    ``kind`` is one of ``CONNECTORS`` or ``auto`` (guessed from ``source``: a folder, an
    ``s3://``-style URL, a ``.jsonl`` press feed, an ``http(s)://`` URL or a text file of URLs).

    What a source's own entries may choose is bounded here, by whoever runs the sync (the
    operator, a deployment's parameters), never by the entries: ``allow_collections`` are the
    collections a press feed's lines may name besides ``collection``, and ``allow_prefixes``
    the object-storage prefixes (``s3://press-archive/1987/``) its lines may point into with
    ``storage_options``'s credentials. Both are empty by default: a feed files everything under
    ``collection`` and reads only its own folder and public HTTP(S) URLs.
    """

    model_config = ConfigDict(frozen=True)

    kind: str = "auto"
    source: str
    collection: str = DEFAULT_COLLECTION
    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    exclude: tuple[str, ...] = ()
    storage_options: tuple[tuple[str, str], ...] = ()
    allow_private: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_s: float = 60.0
    allow_collections: tuple[str, ...] = ()
    allow_prefixes: tuple[str, ...] = ()

    @field_validator("collection")
    @classmethod
    def _valid_collection(cls, value: str) -> str:
        return check_collection(value)

    @field_validator("allow_collections")
    @classmethod
    def _valid_collections(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_collection(name) for name in value)

    @field_validator("allow_prefixes")
    @classmethod
    def _valid_prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            scheme, sep, rest = prefix.partition("://")
            if not sep or "::" in prefix or scheme.lower() in ("file", "http", "https", ""):
                raise ValueError(f"{prefix!r} is not an object-storage prefix (s3://bucket/…)")
            if not rest.strip("/"):
                raise ValueError(f"{prefix!r} names no bucket")
        return tuple(p if p.endswith("/") else p + "/" for p in value)

    def may_file_under(self, collection: str) -> bool:
        """Whether an entry of this source may name ``collection``."""
        return collection == self.collection or collection in self.allow_collections

    def resolved_kind(self) -> str:
        """``kind``, with ``auto`` replaced by the kind ``source`` looks like."""
        return self.kind if self.kind != "auto" else guess_kind(self.source)


class Connector(Protocol):
    """A source of documents."""

    spec: ConnectorSpec

    def list(self) -> Listing:
        """The documents the source holds now (no document bytes are read)."""
        ...

    def fetch(self, ref: SourceRef) -> SourceDocument:
        """The document's bytes (or local path) with the source's metadata.

        Raises ``DocumentLoadError`` when the document itself cannot be had (gone, too big,
        refused) and ``EngineError(retryable=True)`` when the source is unreachable right now.
        """
        ...

    def prune_scope(self) -> str | None:
        """The uri prefix this source owns in the index (``None``: no single prefix)."""
        ...


# A connector whose listing gives fingerprints may also offer ``fingerprint(uri) -> str | None``
# (the marker now, without reading the document): the sync then skips downloading unchanged
# documents (``flows.ledger``).


ConnectorFactory = Callable[[ConnectorSpec], Connector]
# Kinds are entry points in the group "archivist.connectors" (pyproject.toml), each naming a
# connector class; a connector module imports this one, never the other way round.
CONNECTORS: Registry[ConnectorFactory] = Registry(
    "connector kind", GROUPS["connectors"], extra_valid=("auto",)
)


@functools.lru_cache(maxsize=32)
def make_connector(spec: ConnectorSpec) -> Connector:
    """The connector for ``spec`` (cached: tasks in one process share it)."""
    return CONNECTORS.get(spec.resolved_kind())(spec)


def guess_kind(source: str) -> str:
    """The connector kind a source string looks like.

    >>> guess_kind("s3://press/1987/"), guess_kind("https://example.org/a.pdf")
    ('objectstore', 'urls')
    """
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if scheme in ("http", "https"):
        return "urls"
    if scheme and scheme != "file":
        return "objectstore"
    path = Path(source.removeprefix("file://"))
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return "feed"
    if path.suffix.lower() in (".urls", ".txt") and path.is_file() and _looks_like_url_list(path):
        return "urls"
    return "local"


def _looks_like_url_list(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                return line.lower().startswith(("http://", "https://"))
    return False
