"""Local files and folders as a source of documents.

Named files are always taken (an unsupported one then fails with its reason instead of vanishing).
Folders are walked recursively for the supported patterns; everything else found there is listed in
``LocalListing.skipped`` (not a supported type) or ``LocalListing.excluded`` (an exclude glob
matched), so the caller can say what it left out and why.

>>> listing = list_local([Path("sample_docs")])            # doctest: +SKIP
>>> [d.name for d in listing.documents][:1]                # doctest: +SKIP
['1983-05-12_greve-port-aurele_fr.pdf']
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from connectors.base import ConnectorSpec, Listing, SourceRef
from pipeline.errors import ConfigError, DocumentLoadError
from pipeline.models import SourceDocument, SourceMetadata

DEFAULT_PATTERNS = ("*.pdf", "*.md", "*.markdown", "*.txt")


class LocalListing(NamedTuple):
    documents: list[SourceDocument]
    skipped: list[Path]  # in a folder, not matching the patterns
    missing: list[Path]
    excluded: list[Path]  # in a folder, matching an exclude glob


def list_local(
    paths: Sequence[Path],
    *,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    collection: str = "default",
    exclude: Sequence[str] = (),
) -> LocalListing:
    """The documents under ``paths`` (files, or folders walked recursively), deduplicated.

    In folders, a file is taken when it matches one of ``patterns`` and none of ``exclude``;
    patterns are globs matched against the file name or the path below the folder
    (``*.pdf``, ``1987/*.pdf``, ``drafts/**``).
    """
    found: dict[Path, None] = {}
    skipped: list[Path] = []
    missing: list[Path] = []
    excluded: list[Path] = []
    for path in paths:
        if path.is_file():
            found[path.resolve()] = None
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts):
                    continue  # hidden files and folders (.git, editor swap files)
                if matches_any(rel, exclude):
                    excluded.append(child)
                elif matches_any(rel, patterns):
                    found[child.resolve()] = None
                else:
                    skipped.append(child)
        else:
            missing.append(path)
    meta = SourceMetadata(collection=collection)
    docs = [SourceDocument(uri=str(p), path=p, metadata=meta) for p in found]
    return LocalListing(docs, skipped, missing, excluded)


def matches_any(rel: PurePosixPath | Path, patterns: Sequence[str]) -> bool:
    """Whether a relative path matches one of the globs (by name, by tail, or as a whole).

    >>> matches_any(PurePosixPath("1987/mars/a.pdf"), ["1987/**"])
    True
    >>> matches_any(PurePosixPath("a.txt"), ["*.pdf"])
    False
    """
    posix = PurePosixPath(*rel.parts)
    text = posix.as_posix()
    return any(posix.match(p) or fnmatch.fnmatchcase(text, p) for p in patterns)


class LocalFolderConnector:
    """A folder (walked recursively, glob patterns) or a single file on this machine.

    The uri of a document is its absolute path, the same one ``archivist ingest`` records, so a
    folder ingested by hand and later synced is recognised as unchanged.
    """

    def __init__(self, spec: ConnectorSpec) -> None:
        self.spec = spec
        self.root = Path(spec.source.removeprefix("file://")).expanduser()

    def list(self) -> Listing:
        if not self.root.exists():
            raise ConfigError(f"no such file or folder: {self.root}")
        listing = list_local(
            [self.root],
            patterns=self.spec.patterns,
            exclude=self.spec.exclude,
            collection=self.spec.collection,
        )
        refs = [
            SourceRef(uri=d.uri, size=_size(d.path), metadata=d.metadata) for d in listing.documents
        ]
        left_out = [*listing.skipped, *listing.excluded]
        return Listing(refs, [str(p) for p in left_out], [])

    def fetch(self, ref: SourceRef) -> SourceDocument:
        path = Path(ref.uri)
        if not path.is_file():
            raise DocumentLoadError(f"{path.name}: gone since it was listed")
        return SourceDocument(uri=ref.uri, path=path, metadata=ref.metadata)

    def prune_scope(self) -> str | None:
        root = self.root.resolve()
        return str(root) if root.is_file() else str(root) + os.sep


def _size(path: Path | None) -> int | None:
    try:
        return path.stat().st_size if path else None
    except OSError:
        return None
