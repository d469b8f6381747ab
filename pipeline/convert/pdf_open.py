"""Opening a PDF safely: bytes checked, damage repaired where MuPDF can, metadata read.

Only input that is unusable as a whole raises ``DocumentLoadError`` here: empty, not a PDF,
corrupt beyond repair, encrypted. A file cut short is opened from what survived.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pymupdf

from pipeline.convert.common import parse_date
from pipeline.errors import DocumentLoadError
from pipeline.models import SourceDocument, SourceMetadata

_JUNK_TITLES = ("untitled", "microsoft word", "powerpoint presentation")


def pdf_bytes(src: SourceDocument) -> bytes:
    data = src.read_bytes()
    if not data:
        raise DocumentLoadError(f"{src.name}: empty file (0 bytes)")
    # The spec allows junk before the header; readers look within the first kilobyte.
    if b"%PDF-" not in data[:1024]:
        raise DocumentLoadError(f"{src.name}: not a PDF (the file does not start with %PDF-)")
    return data


def is_truncated(data: bytes) -> bool:
    """A PDF ends with ``%%EOF``; a file cut short (a failed upload, a full disk) has lost it."""
    return b"%%EOF" not in data[-2048:]


def _open_stream(data: bytes, name: str) -> pymupdf.Document:
    try:
        return pymupdf.open(stream=data, filetype="pdf")
    except Exception as e:  # MuPDF raises several types for the same "cannot parse" cause
        error = e
    # MuPDF repairs a truncated file unless the cut falls inside an object: cut back to the
    # last complete object and let it rebuild the cross-reference table from there.
    end = data.rfind(b"endobj")
    if is_truncated(data) and end > 0:
        try:
            return pymupdf.open(stream=data[: end + 6] + b"\n", filetype="pdf")
        except Exception:
            pass
        raise DocumentLoadError(f"{name}: truncated PDF that cannot be opened ({error})") from error
    raise DocumentLoadError(f"{name}: corrupt or unreadable PDF ({error})") from error


@contextmanager
def open_pdf(data: bytes, name: str) -> Iterator[pymupdf.Document]:
    with _open_stream(data, name) as doc:
        if doc.needs_pass:
            raise DocumentLoadError(f"{name}: encrypted PDF: a password is required")
        if doc.page_count == 0:
            raise DocumentLoadError(f"{name}: corrupt or truncated PDF: no pages could be read")
        yield doc


def pdf_metadata(doc: pymupdf.Document) -> SourceMetadata:
    """Title and creation date from the document information dictionary, when plausible."""
    info = doc.metadata or {}
    title = " ".join((info.get("title") or "").split())
    lowered = title.lower()
    junk = lowered.startswith(_JUNK_TITLES) or lowered.endswith((".doc", ".docx", ".pdf", ".tex"))
    raw_date = (info.get("creationDate") or "").removeprefix("D:")
    return SourceMetadata(title=title if title and not junk else None, date=parse_date(raw_date))
