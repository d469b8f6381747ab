"""The conversion stage: any supported document → ``ParsedDocument`` (Markdown with page anchors).

``convert_document`` sniffs the media type and hands the document to the converter registered
for it. Page-level trouble (a scanned page, a page MuPDF cannot read) comes back inside the
result as ``partial`` with a ``StageError``; only input that is unusable as a whole raises
``DocumentLoadError``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from pipeline.convert.common import CONVERTER_VERSION
from pipeline.convert.pdf import PageProgress, convert_pdf
from pipeline.convert.text import convert_text
from pipeline.dates import fill_document_date
from pipeline.errors import DocumentLoadError
from pipeline.models import ConvertOptions, ParsedDocument, SourceDocument

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

Converter = Callable[[SourceDocument, ConvertOptions], ParsedDocument]

CONVERTERS: dict[str, Converter] = {
    "application/pdf": convert_pdf,
    "text/markdown": convert_text,
    "text/plain": convert_text,
}

_EXTENSIONS = {
    ".pdf": "application/pdf",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".txt": "text/plain",
}
UNKNOWN = "application/octet-stream"


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
    return _EXTENSIONS.get(suffix, UNKNOWN)


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
    converter = CONVERTERS.get(media_type)
    if converter is None:
        supported = ", ".join(sorted(CONVERTERS))
        raise DocumentLoadError(
            f"{src.name}: unsupported media type {media_type!r} (supported: {supported})"
        )
    if converter is convert_pdf and on_page is not None:  # the one converter with many pages
        return fill_document_date(convert_pdf(src, opts, on_page=on_page))
    return fill_document_date(converter(src, opts))
