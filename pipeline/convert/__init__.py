"""The conversion stage: any supported document → ``ParsedDocument`` (Markdown with page anchors).

``convert_document`` sniffs the media type and hands the document to the converter registered
for it. Page-level trouble (a scanned page, a page MuPDF cannot read) comes back inside the
result as ``partial`` with a ``StageError``; only input that is unusable as a whole raises
``DocumentLoadError``.

Converters are entry points in the group ``archivist.converters`` (pyproject.toml), each naming
a ``Converter``: the media types and file extensions it reads, and its function. A plugin adds a
format with one module and one entry-point line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import NamedTuple

from pipeline.convert.common import CONVERTER_VERSION
from pipeline.convert.pdf import PageProgress, convert_pdf
from pipeline.convert.text import convert_text
from pipeline.dates import fill_document_date
from pipeline.errors import DocumentLoadError
from pipeline.models import ConvertOptions, ParsedDocument, SourceDocument
from pipeline.registry import GROUPS, Registry

__all__ = [
    "CONVERTERS",
    "CONVERTER_VERSION",
    "Converter",
    "PageProgress",
    "convert_document",
    "convert_pdf",
    "convert_text",
    "sniff_media_type",
]

UNKNOWN = "application/octet-stream"


class Converter(NamedTuple):
    """One format: the media types it reads, what its file extensions mean, and how to convert.

    ``convert(src, opts, on_page=…)``: ``on_page(done, total)`` reports progress where the
    format has pages worth reporting (a converter may ignore it).
    """

    media_types: tuple[str, ...]
    extensions: Mapping[str, str]  # ".md" -> "text/markdown"
    convert: Callable[..., ParsedDocument]


def _text(
    src: SourceDocument, opts: ConvertOptions, *, on_page: PageProgress | None = None
) -> ParsedDocument:
    return convert_text(src, opts)  # one page: nothing worth reporting


PDF = Converter(("application/pdf",), {".pdf": "application/pdf"}, convert_pdf)
TEXT = Converter(
    ("text/markdown", "text/plain"),
    {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain"},
    _text,
)
CONVERTERS: Registry[Converter] = Registry("converter", GROUPS["converters"])


def _converters() -> list[Converter]:
    return [CONVERTERS.get(kind) for kind in CONVERTERS.kinds()]


def sniff_media_type(src: SourceDocument) -> str:
    """The media type from the bytes (``%PDF-``), then the connector's say, then the extension.

    Bytes first: a PDF saved as ``scan.bin`` is still a PDF. An extension that lies the other
    way (``notes.pdf`` holding text) is caught by the PDF converter with a clear reason.

    >>> sniff_media_type(SourceDocument(uri="mem://notes.md", data=b"# Notes"))
    'text/markdown'
    """
    data = src.read_bytes()
    if b"%PDF-" in data[:1024]:
        return "application/pdf"
    if src.media_type:
        return src.media_type.split(";", 1)[0].strip().lower()
    suffix = PurePosixPath(src.name.split("?", 1)[0]).suffix.lower()
    extensions = {e: m for c in _converters() for e, m in c.extensions.items()}
    return extensions.get(suffix, UNKNOWN)


def convert_document(
    src: SourceDocument,
    opts: ConvertOptions | None = None,
    *,
    on_page: PageProgress | None = None,
) -> ParsedDocument:
    """Convert one document with the converter for its media type.

    >>> doc = convert_document(SourceDocument(uri="mem://a.txt", data=b"Hello world."))
    >>> doc.status, doc.pages[0].markdown
    ('ok', 'Hello world.')
    """
    opts = opts or ConvertOptions()
    try:
        media_type = sniff_media_type(src)
    except OSError as e:
        raise DocumentLoadError(f"{src.name}: cannot read the file ({e})") from e
    converters = {m: c for c in _converters() for m in c.media_types}
    converter = converters.get(media_type)
    if converter is None:
        supported = ", ".join(sorted(converters))
        raise DocumentLoadError(
            f"{src.name}: unsupported media type {media_type!r} (supported: {supported})"
        )
    return fill_document_date(converter.convert(src, opts, on_page=on_page))
