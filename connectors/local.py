"""Local files and folders as a source of documents.

Named files are always taken (an unsupported one then fails with its reason instead of vanishing).
Folders are walked recursively for the supported patterns; everything else found there is listed in
``LocalListing.skipped`` so the caller can say what it left out.

>>> listing = list_local([Path("sample_docs")])            # doctest: +SKIP
>>> [d.name for d in listing.documents][:1]                # doctest: +SKIP
['1983-05-12_greve-port-aurele_fr.pdf']
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from pipeline.models import SourceDocument, SourceMetadata

DEFAULT_PATTERNS = ("*.pdf", "*.md", "*.markdown", "*.txt")


class LocalListing(NamedTuple):
    documents: list[SourceDocument]
    skipped: list[Path]
    missing: list[Path]


def list_local(
    paths: Sequence[Path],
    *,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    collection: str = "default",
) -> LocalListing:
    """The documents under ``paths`` (files, or folders walked recursively), sorted, deduplicated."""
    found: dict[Path, None] = {}
    skipped: list[Path] = []
    missing: list[Path] = []
    for path in paths:
        if path.is_file():
            found[path.resolve()] = None
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue  # hidden files and folders (.git, editor swap files)
                if any(child.match(p) for p in patterns):
                    found[child.resolve()] = None
                else:
                    skipped.append(child)
        else:
            missing.append(path)
    meta = SourceMetadata(collection=collection)
    docs = [SourceDocument(uri=str(p), path=p, metadata=meta) for p in found]
    return LocalListing(docs, skipped, missing)
