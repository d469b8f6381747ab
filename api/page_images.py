"""Cited pages as PNG images: where they live (``page_image_url``), how they are drawn, and the
bounded disk cache that keeps them.

A PDF page is rendered with PyMuPDF from the document's own file, checked to still hold the
indexed bytes (the id is their sha256); a Markdown or text document gets a rendered text view of
the page's Markdown instead. Each image says the page's size in PDF points (a ``tEXt`` chunk in the
PNG, and the route's ``X-Page-Width``/``X-Page-Height`` headers), so a viewer can place a
citation's boxes (``Citation.regions``, points, origin top-left) over it at any display size.

Images are cached on disk by document id, page and width: the id is the bytes' hash, so an image
never goes stale; the oldest-used images are dropped once the cache passes its size.

>>> page_image_url("3f2a", 2)
'/v1/documents/3f2a/pages/2.png'
>>> page_image_url("3f2a", 2, base_url="https://archive.example.org/api/")
'https://archive.example.org/api/v1/documents/3f2a/pages/2.png'
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import os
import re
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.models import Citation, DocumentRecord, document_id

log = logging.getLogger(__name__)

# Bumped when rendering changes, so cached images of the old renderer are not served.
RENDER_VERSION = 1
PAGE_ROUTE = "/v1/documents/{doc_id}/pages/{page}.png"
_SIZE_KEY = b"archivist:page-size"
_PAGE_ANCHOR = re.compile(r"<!--\s*page\s+(\d+)\s*-->", re.IGNORECASE)
_TEXT_WIDTH_PT = 595.0  # an A4 page's width: a text view reads like a printed page
_TEXT_MARGIN_PT = 40.0
_TEXT_MAX_HEIGHT_PT = 30_000.0
_TEXT_CSS = (
    "body{font-family:sans-serif;font-size:11pt;line-height:1.4}"
    "h1{font-size:16pt}h2{font-size:14pt}h3{font-size:12pt}"
    "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 4px}"
)
# PyMuPDF is not thread-safe: one render at a time in this process.
_RENDER_LOCK = threading.Lock()


def page_image_url(doc_id: str, page: int, *, base_url: str = "") -> str:
    """The URL of page ``page`` (1-based) of ``doc_id`` as a PNG, under ``base_url`` (the
    server's root, e.g. ``str(request.base_url)``; relative to the server when empty).

    The one place that spells this URL: ``/v1/ask``, the chat facade and the web page use it.
    """
    path = PAGE_ROUTE.format(doc_id=doc_id, page=page)
    return base_url.rstrip("/") + path


def citation_page(citation: Citation) -> int:
    """The page a citation shows: the page of its quote, else of its first box, else 1."""
    if citation.page_start is not None:
        return citation.page_start
    if citation.regions:
        return citation.regions[0].page
    return 1


@dataclass(frozen=True)
class PageImage:
    """A rendered page: PNG bytes and the page's size in PDF points."""

    png: bytes
    width_pt: float
    height_pt: float


class PageUnavailable(Exception):
    """The page cannot be drawn here (no such page, file gone or changed, remote source)."""


def render_page(
    record: DocumentRecord, page: int, *, uploads_dir: Path | None, max_px: int
) -> PageImage:
    """Page ``page`` of ``record``: its PDF page, or a text view of a Markdown/text source."""
    if page < 1 or (record.pages and page > record.pages):
        raise PageUnavailable(f"document {record.doc_id} has no page {page}")
    if (record.media_type or "application/pdf") != "application/pdf":
        return render_text_page(page_markdown(record.markdown, page), max_px=max_px)
    data = _source_bytes(record, uploads_dir)
    return render_pdf_page(data, page, max_px=max_px)


def render_pdf_page(data: bytes, page: int, *, max_px: int) -> PageImage:
    """Page ``page`` (1-based) of the PDF ``data``, ``max_px`` pixels wide at most (and twice that
    high at most, so a very long page stays bounded)."""
    import pymupdf

    with _RENDER_LOCK, pymupdf.open(stream=data, filetype="pdf") as doc:
        if page > doc.page_count:
            raise PageUnavailable(f"the PDF has {doc.page_count} pages, not {page}")
        pdf_page = doc[page - 1]
        rect = pdf_page.rect
        zoom = min(max_px / rect.width, 2 * max_px / rect.height)
        pix = pdf_page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
        png = pix.tobytes("png")
    return PageImage(with_page_size(png, rect.width, rect.height), rect.width, rect.height)


def render_text_page(markdown: str, *, max_px: int) -> PageImage:
    """A text view of ``markdown`` drawn on a page of A4 width, as tall as the text needs."""
    import pymupdf
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    doc_html = f'<body dir="auto">{body or html.escape(markdown)}</body>'
    inner = _TEXT_WIDTH_PT - 2 * _TEXT_MARGIN_PT
    with _RENDER_LOCK:
        fit = pymupdf.Story(doc_html, user_css=_TEXT_CSS).fit_height(
            inner, height_max=_TEXT_MAX_HEIGHT_PT
        )
        height = (fit.rect.height if fit.rect else 0) + 2 * _TEXT_MARGIN_PT
        buf = io.BytesIO()
        writer = pymupdf.DocumentWriter(buf)
        device = writer.begin_page(pymupdf.Rect(0, 0, _TEXT_WIDTH_PT, height))
        story = pymupdf.Story(doc_html, user_css=_TEXT_CSS)
        m = _TEXT_MARGIN_PT
        story.place(pymupdf.Rect(m, m, _TEXT_WIDTH_PT - m, height - m))
        story.draw(device)
        writer.end_page()
        writer.close()
    return render_pdf_page(buf.getvalue(), 1, max_px=max_px)


def page_markdown(markdown: str, page: int) -> str:
    """The Markdown of page ``page`` (between its ``<!-- page N -->`` anchor and the next);
    all of it when the text has no anchors.

    >>> page_markdown("<!-- page 1 -->\\nOne.\\n<!-- page 2 -->\\nTwo.\\n", 2)
    'Two.'
    """
    parts = _PAGE_ANCHOR.split(markdown)
    if len(parts) == 1:
        return markdown.strip()
    pages = {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    return pages.get(page, "").strip()


def _source_bytes(record: DocumentRecord, uploads_dir: Path | None) -> bytes:
    path = source_path(record, uploads_dir)
    if path is None or not path.is_file():
        raise PageUnavailable(f"the file of document {record.doc_id} is not on this server")
    data = path.read_bytes()
    if document_id(hashlib.sha256(data).hexdigest(), record.collection) != record.doc_id:
        raise PageUnavailable(f"the file of document {record.doc_id} changed since it was indexed")
    return data


def source_path(record: DocumentRecord, uploads_dir: Path | None) -> Path | None:
    """Where the document's file is on this machine: an upload (``upload://``) in the uploads
    folder, a local path or ``file://`` uri; None for a remote source (s3://, http://)."""
    uri = record.uri
    if uri.startswith("upload://"):
        if uploads_dir is None:
            return None
        return uploads_dir / record.doc_id / uri.rsplit("/", 1)[-1]
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    if "://" in uri:
        return None
    return Path(uri)


def with_page_size(png: bytes, width_pt: float, height_pt: float) -> bytes:
    """``png`` with a ``tEXt`` chunk after its header saying the page's size in points."""
    text = _SIZE_KEY + b"\0" + f"{width_pt:.2f} {height_pt:.2f}".encode()
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + text) & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]  # 8-byte signature + 25-byte IHDR chunk


def page_size(head: bytes) -> tuple[float, float] | None:
    """The page size ``with_page_size`` wrote, read from the first bytes of a PNG."""
    at = head.find(_SIZE_KEY + b"\0")
    if at < 0:
        return None
    length = struct.unpack(">I", head[at - 8 : at - 4])[0]
    value = head[at + len(_SIZE_KEY) + 1 : at + length].decode("ascii", "replace").split()
    try:
        return float(value[0]), float(value[1])
    except (IndexError, ValueError):
        return None


class PageImageCache:
    """PNG files in one folder, at most ``max_bytes`` in all; the least recently used go first.

    A hit touches its file (mtime), so eviction by mtime is least-recently-used. Writes go to a
    temporary name and are renamed into place, so a reader never sees half a file.
    """

    def __init__(self, folder: Path, *, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._total: int | None = None

    def key(self, doc_id: str, page: int, px: int) -> str:
        return f"{doc_id}-p{page}-w{px}-v{RENDER_VERSION}.png"

    def get(self, key: str) -> bytes | None:
        """The cached image, or None; a hit counts as a use."""
        path = self.folder / key
        try:
            os.utime(path)
            return path.read_bytes()
        except OSError:  # not cached, or evicted meanwhile
            return None

    def has(self, key: str) -> bool:
        return (self.folder / key).is_file()

    def put(self, key: str, png: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / key
        temp = path.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}")
        temp.write_bytes(png)
        os.replace(temp, path)
        with self._lock:
            self._total = (self._total or self._scan()) + len(png)
            if self._total > self.max_bytes:
                self._total = self._evict(keep=path)

    def drop(self, doc_id: str) -> None:
        """Forget every image of ``doc_id`` (the document was deleted)."""
        for path in self.folder.glob(f"{doc_id}-p*.png"):
            path.unlink(missing_ok=True)
        with self._lock:
            self._total = None

    def _files(self) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(self.folder) as entries:
                return [e for e in entries if e.name.endswith(".png") and e.is_file()]
        except FileNotFoundError:
            return []

    def _scan(self) -> int:
        return sum(e.stat().st_size for e in self._files())

    def _evict(self, *, keep: Path) -> int:
        """Drop the least recently used files until the cache is under 90% of its size."""
        entries = sorted(self._files(), key=lambda e: e.stat().st_mtime)
        total = sum(e.stat().st_size for e in entries)
        target = int(self.max_bytes * 0.9)
        for entry in entries:
            if total <= target:
                break
            if entry.path == str(keep):
                continue
            try:
                size = entry.stat().st_size
                os.unlink(entry.path)
                total -= size
            except FileNotFoundError:
                continue
        log.debug("page image cache trimmed to %d bytes", total)
        return total
