"""PDF → Markdown from the text layer, page by page, with our own layout rules.

Two passes over the pages: the first reads lines and tables and sorts out pages that have no
text layer; the second, once the document's body font size is known, decides headings and writes
each page's Markdown. A page that fails is recorded and skipped; only input that is unusable as a
whole (empty, not a PDF, corrupt, encrypted) raises ``DocumentLoadError``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pymupdf

from pipeline.convert.common import (
    CONVERTER_VERSION,
    document_status,
    finish_metadata,
    join_pages,
    parse_date,
)
from pipeline.convert.pdf_layout import Block, font_style, layout_page, render_markdown
from pipeline.convert.pdf_lines import TEXT_FLAGS, TextLine, extract_lines
from pipeline.convert.pdf_tables import TableBlock, find_tables
from pipeline.errors import DocumentLoadError
from pipeline.models import (
    ConvertOptions,
    PageResult,
    ParsedDocument,
    SourceDocument,
    SourceMetadata,
    StageError,
)

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/pdf"
_STAGE = "convert"
_IMAGE_COVER = 0.3  # images over this share of the page, with no text, make a scanned page
_JUNK_TITLES = ("untitled", "microsoft word", "powerpoint presentation")


@dataclass(slots=True)
class _PageScan:
    """What the first pass learned about one page."""

    number: int
    width: float
    height: float
    lines: list[TextLine] = field(default_factory=list)
    tables: list[TableBlock] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    result: PageResult | None = None  # set when the page is settled (no text, or failed)


def _pdf_bytes(src: SourceDocument) -> bytes:
    data = src.read_bytes()
    if not data:
        raise DocumentLoadError(f"{src.name}: empty file (0 bytes)")
    # The spec allows junk before the header; readers look within the first kilobyte.
    if b"%PDF-" not in data[:1024]:
        raise DocumentLoadError(f"{src.name}: not a PDF (the file does not start with %PDF-)")
    return data


def _is_truncated(data: bytes) -> bool:
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
    if _is_truncated(data) and end > 0:
        try:
            return pymupdf.open(stream=data[: end + 6] + b"\n", filetype="pdf")
        except Exception:
            pass
        raise DocumentLoadError(f"{name}: truncated PDF that cannot be opened ({error})") from error
    raise DocumentLoadError(f"{name}: corrupt or unreadable PDF ({error})") from error


@contextmanager
def _open_pdf(data: bytes, name: str) -> Iterator[pymupdf.Document]:
    with _open_stream(data, name) as doc:
        if doc.needs_pass:
            raise DocumentLoadError(f"{name}: encrypted PDF: a password is required")
        if doc.page_count == 0:
            raise DocumentLoadError(f"{name}: corrupt or truncated PDF: no pages could be read")
        yield doc


def _pdf_metadata(doc: pymupdf.Document) -> SourceMetadata:
    """Title and creation date from the document information dictionary, when plausible."""
    info = doc.metadata or {}
    title = " ".join((info.get("title") or "").split())
    lowered = title.lower()
    junk = lowered.startswith(_JUNK_TITLES) or lowered.endswith((".doc", ".docx", ".pdf", ".tex"))
    raw_date = (info.get("creationDate") or "").removeprefix("D:")
    return SourceMetadata(title=title if title and not junk else None, date=parse_date(raw_date))


def _image_cover(page: pymupdf.Page) -> float:
    """The share of the page that images cover (summed over images, capped at 1)."""
    visible = page.rect * page.derotation_matrix  # image boxes ignore /Rotate, like text
    area = visible.width * visible.height
    covered = 0.0
    for info in page.get_image_info():
        box = pymupdf.Rect(info["bbox"]) & visible
        covered += 0.0 if box.is_empty else box.width * box.height
    return min(covered / area, 1.0) if area else 0.0


def _settle_textless(scan: _PageScan, page: pymupdf.Page, chars: int, opts: ConvertOptions) -> None:
    """Mark a page with (almost) no text as needing OCR when images fill it, else as empty."""
    if chars >= opts.min_text_chars:
        return
    n = scan.number
    if _image_cover(page) >= _IMAGE_COVER:
        scan.result = PageResult(
            page=n,
            method="none",
            status="needs_ocr",
            reason="image-only page: needs OCR",
            width=scan.width,
            height=scan.height,
        )
    elif chars == 0:
        scan.result = PageResult(
            page=n,
            method="none",
            status="empty",
            reason="blank page: no text or images",
            width=scan.width,
            height=scan.height,
        )


def _scan_page(page: pymupdf.Page, opts: ConvertOptions, errors: list[StageError]) -> _PageScan:
    n = page.number + 1
    scan = _PageScan(n, page.rect.width, page.rect.height)
    textpage = page.get_textpage(flags=TEXT_FLAGS)  # one extraction serves lines and tables
    scan.lines = extract_lines(page, textpage)
    _settle_textless(scan, page, sum(len(line.text) for line in scan.lines), opts)
    if scan.result is not None:
        if scan.result.status == "needs_ocr":
            message = f"page {n} has no text layer (image-only); OCR not enabled"
            errors.append(StageError(stage=_STAGE, page=n, message=message))
        return scan
    if opts.tables:
        try:
            boxes = [(ln.x0, ln.y0, ln.x1, ln.y1) for ln in scan.lines]
            scan.tables = find_tables(page, textpage, boxes)
        except Exception as e:  # table finding is a heuristic: losing it must not lose the page
            errors.append(StageError(stage=_STAGE, page=n, message=f"table detection failed: {e}"))
    scan.blocks = layout_page(scan.lines, scan.tables)
    return scan


def _failed(
    n: int, width: float, height: float, e: Exception, errors: list[StageError]
) -> PageResult:
    log.debug("page %d failed", n, exc_info=e)
    errors.append(StageError(stage=_STAGE, page=n, message=f"{type(e).__name__}: {e}"))
    reason = str(e) or type(e).__name__
    return PageResult(
        page=n, method="none", status="failed", reason=reason, width=width, height=height
    )


def _scan_all(
    doc: pymupdf.Document, opts: ConvertOptions, errors: list[StageError]
) -> list[_PageScan]:
    scans = []
    for index in range(doc.page_count):
        try:
            page = doc.load_page(index)
            scans.append(_scan_page(page, opts, errors))
        except Exception as e:  # one bad page makes the document partial, not lost
            scan = _PageScan(index + 1, 0.0, 0.0)
            scan.result = _failed(index + 1, 0.0, 0.0, e, errors)
            scans.append(scan)
    return scans


def _render_all(
    scans: list[_PageScan], opts: ConvertOptions, errors: list[StageError]
) -> list[PageResult]:
    style = font_style(scan.blocks for scan in scans if scan.result is None)
    pages = []
    for scan in scans:
        if scan.result is not None:
            pages.append(scan.result)
            continue
        try:
            markdown = render_markdown(scan.blocks, style, opts.heading_max_level)
            page = PageResult(
                page=scan.number, markdown=markdown, width=scan.width, height=scan.height
            )
            pages.append(page)
        except Exception as e:
            pages.append(_failed(scan.number, scan.width, scan.height, e, errors))
    return pages


def _check_truncation(data: bytes, scans: list[_PageScan], name: str) -> StageError | None:
    """A file cut short loses its end-of-file marker; MuPDF repairs what remains."""
    if not _is_truncated(data):
        return None
    if all(scan.result is not None and scan.result.status in ("empty", "failed") for scan in scans):
        raise DocumentLoadError(f"{name}: truncated PDF: no readable content (no %%EOF marker)")
    message = "truncated PDF (no %%EOF marker): content may be missing"
    return StageError(stage=_STAGE, message=message)


def convert_pdf(src: SourceDocument, opts: ConvertOptions | None = None) -> ParsedDocument:
    """Convert a PDF's text layer to Markdown with ``<!-- page N -->`` anchors.

    >>> doc = convert_pdf(SourceDocument(uri="mem://report.pdf", data=pdf))  # doctest: +SKIP
    >>> doc.status, doc.pages[0].method  # doctest: +SKIP
    ('ok', 'text')
    """
    opts = opts or ConvertOptions()
    data = _pdf_bytes(src)
    errors: list[StageError] = []
    with _open_pdf(data, src.name) as doc:
        found = _pdf_metadata(doc)
        scans = _scan_all(doc, opts, errors)
    damage = _check_truncation(data, scans, src.name)
    if damage is not None:
        errors.insert(0, damage)
    pages = _render_all(scans, opts, errors)
    markdown = join_pages(pages)
    return ParsedDocument(
        doc_id=src.doc_id,
        uri=src.uri,
        metadata=finish_metadata(src, found, markdown),
        media_type=MEDIA_TYPE,
        pages=pages,
        markdown=markdown,
        status=document_status(pages, damaged=damage is not None),
        errors=errors,
        converter=CONVERTER_VERSION,
    )
