"""Pages (or pictures on them) rendered for OCR, and OCR lines turned into layout lines.

OCR lines go through the same layout rules as text-layer lines (columns, paragraphs, headings,
tables, running headers), so a scanned page and a born-digital one give the same kind of
Markdown. Sizes come from box heights, snapped to the page's body height so that the jitter of
detected boxes does not read as a change of font.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pymupdf

from pipeline.convert.common import normalize_text
from pipeline.convert.pdf_lines import TextLine
from pipeline.models import ConvertOptions
from pipeline.ocr import make_ocr_engine
from pipeline.ocr.base import OcrEngine, OcrLine, OcrResult, PageImage

# A detected box is taller than the font size (ascenders, descenders, padding): about 1.25×.
_BOX_TO_SIZE = 0.8
_SNAP = 0.45  # heights within 45 % of the body height are body text (quotes, skew)
_MIN_SIDE = 1600
_MAX_DPI = 600


def render_page(
    page: pymupdf.Page, dpi: int, clip: pymupdf.Rect | None = None, hint: str = ""
) -> PageImage:
    """The page (or ``clip`` of it, in unrotated PDF points) as RGB pixels at ``dpi``."""
    if clip is not None:
        clip = clip * page.rotation_matrix  # get_pixmap clips in the displayed page's frame
    area = clip or page.rect
    # Small pages (clippings, pocket books, cropped scans) hold small print: give the engine
    # at least _MIN_SIDE pixels on the long side whatever the requested resolution.
    dpi = round(min(_MAX_DPI, max(dpi, _MIN_SIDE * 72 / max(area.width, area.height, 1.0))))
    pix = page.get_pixmap(dpi=dpi, clip=clip, alpha=False, colorspace=pymupdf.csRGB)
    pixels = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, pix.n)
    return PageImage(pixels=pixels[:, :, :3].copy(), dpi=dpi, page=page.number + 1, hint=hint)


def ocr_lines(
    result: OcrResult,
    dpi: int,
    origin: tuple[float, float] = (0.0, 0.0),
    *,
    min_confidence: float = 0.0,
) -> list[TextLine]:
    """OCR lines as layout lines in PDF points of the upright page (``origin`` offsets a clip).

    ``min_confidence`` drops doubtful lines: a photograph read as text gives low scores.
    """
    scale = 72.0 / dpi
    kept = [
        line
        for line in result.lines
        if line.confidence >= min_confidence and sum(ch.isalnum() for ch in line.text) >= 2
    ]
    heights = [(line.y1 - line.y0) * scale for line in kept]
    body = statistics.median(heights) if heights else 0.0
    lines = []
    for n, line in enumerate(kept):
        text = normalize_text(line.text).strip()
        if not text:
            continue
        box = _points(line, scale, origin)
        lines.append(
            TextLine(
                text,
                *box,
                size=_size(box[3] - box[1], body),
                bold=False,
                block=n,
                pieces=((box[0], box[2], text),),
            )
        )
    return lines


def _points(
    line: OcrLine, scale: float, origin: tuple[float, float]
) -> tuple[float, float, float, float]:
    ox, oy = origin
    return (ox + line.x0 * scale, oy + line.y0 * scale, ox + line.x1 * scale, oy + line.y1 * scale)


def _size(height: float, body: float) -> float:
    """A font size for a box ``height`` (points), snapped to the body size when close to it."""
    if body and abs(height - body) <= _SNAP * body:
        height = body
    return round(height * _BOX_TO_SIZE * 2) / 2


def confidence(results: Sequence[OcrResult]) -> float | None:
    """Mean line confidence, weighted by text length (``None`` when nothing was read)."""
    weights = [(len(ln.text), ln.confidence) for r in results for ln in r.lines]
    total = sum(w for w, _ in weights)
    return sum(w * c for w, c in weights) / total if total else None


class OcrQueue:
    """Pages waiting for OCR, ``workers`` at a time, with at most ``2 × workers`` images held.

    The engine is built on the first page that needs it, so documents with a good text layer
    never load a model. Rendering stays on the caller's thread (a PyMuPDF document is not
    thread-safe); recognition runs on the pool, where onnxruntime releases the GIL.
    """

    def __init__(self, opts: ConvertOptions) -> None:
        self.opts = opts
        self._engine: OcrEngine | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(2 * opts.workers)

    @property
    def engine(self) -> OcrEngine:
        if self._engine is None:
            self._engine = make_ocr_engine(self.opts)
        return self._engine

    def submit(self, image: PageImage) -> Future[OcrResult]:
        """Queue one image; blocks while the queue is full (memory stays flat on long files)."""
        engine = self.engine
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.opts.workers, thread_name_prefix="ocr")
        self._slots.acquire()

        def run() -> OcrResult:
            try:
                return engine.predict_batch([image])[0]
            finally:
                self._slots.release()

        return self._pool.submit(run)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> OcrQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
