"""The fast engine first, the accurate one only where the fast one is unsure.

Each page is read by ``fast`` (PP-OCRv6 tiny, faster-paddle), turned upright by it, and its lines
repaired with the word lists (``pipeline.ocr.lexicon``). A line is *unsure* when its confidence
is under ``min_confidence`` or when it holds a word that no language of the page knows (after
repair). Each unsure line is read again by ``rapidocr`` (PP-OCRv6 small, CUDA when present) in
a strip of the upright page around it: its detector finds the line's tight, turned box, its
recogniser reads it. The second reading, repaired too, replaces the first unless it leaves more
unknown words. A page with more than ``page_share`` of its lines unsure is read
again whole by ``rapidocr`` (detection included): on such a page, cut lines would cost as
much and read worse.

``stats`` counts pages, lines and second readings, for the benchmark and the logs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from pipeline.models import ConvertOptions
from pipeline.ocr.base import OcrLine, OcrResult, PageImage
from pipeline.ocr.fast import FastOcrEngine
from pipeline.ocr.rapid import RapidOcrEngine

log = logging.getLogger(__name__)

_PAD = 1.0  # of the line's height, around its box: room for the detector around a skewed line


@dataclass
class RouteStats:
    """What the routed engine did since it was built (read with ``snapshot``)."""

    pages: int = 0
    lines: int = 0
    lines_read_again: int = 0
    pages_read_again: int = 0
    words_repaired: int = 0

    def snapshot(self) -> RouteStats:
        return replace(self)

    def since(self, before: RouteStats) -> tuple[int, int]:
        """(lines read again, lines read) since ``before``; a page read again counts its lines."""
        return (
            self.lines_read_again - before.lines_read_again,
            self.lines - before.lines,
        )


class RoutedOcrEngine:
    """``fast`` for every page, ``accurate`` for the lines (or pages) it is unsure of.

    >>> engine = make_ocr_engine(ConvertOptions(engine="routed"))        # doctest: +SKIP
    >>> engine.predict_batch([page])[0].engine                            # doctest: +SKIP
    'routed'
    """

    kind = "routed"

    def __init__(
        self,
        fast: FastOcrEngine,
        accurate: RapidOcrEngine,
        *,
        min_confidence: float = 0.9,
        page_share: float = 0.5,
        second_pass: bool = True,
    ) -> None:
        self.fast = fast
        self.accurate = accurate
        self.words = fast.words
        self.min_confidence = min_confidence
        self.page_share = page_share
        self.second_pass = second_pass
        self.stats = RouteStats()
        self._lock = threading.Lock()

    def predict_batch(self, images: Sequence[PageImage]) -> list[OcrResult]:
        """Read each page image; one result per image, in order."""
        return [self._predict(image) for image in images]

    def _predict(self, image: PageImage) -> OcrResult:
        pixels, lines, rotation, repaired = self.fast.read_page(image)
        unsure = [n for n, line in enumerate(lines) if self.unsure(line)]
        height, width = pixels.shape[:2]
        again_page = self.second_pass and len(unsure) > self.page_share * max(len(lines), 1)
        if again_page:
            upright = PageImage(pixels=pixels, dpi=image.dpi, page=image.page)
            lines = self.accurate.predict_batch([upright])[0].lines
        elif self.second_pass and unsure:
            lines = self._read_again(pixels, lines, unsure)
        self._count(len(lines), len(lines) if again_page else len(unsure), again_page, repaired)
        return OcrResult(lines, width, height, rotation, engine=self.kind)

    def unsure(self, line: OcrLine) -> bool:
        """Whether a line needs a second reading: low confidence or a word nobody knows."""
        if line.confidence < self.min_confidence:
            return True
        return bool(self.words and self.words.misses(line.text))

    def _read_again(
        self, pixels: np.ndarray, lines: list[OcrLine], unsure: list[int]
    ) -> list[OcrLine]:
        """The unsure lines read by the accurate engine; each keeps the better reading."""
        readings = self.accurate.read_bands([_band(pixels, lines[n]) for n in unsure])
        out = list(lines)
        for n, (text, score) in zip(unsure, readings, strict=True):
            if self.words is not None:  # the small model also reads "Œuvre" as "CEuvre"
                text = self.words.repair(text)[0]
            if text and self._better(text, lines[n].text):
                out[n] = replace(lines[n], text=text, confidence=score)
        return out

    def _better(self, second: str, first: str) -> bool:
        """The accurate reading wins unless it leaves more unknown words than the fast one."""
        if self.words is None:
            return True
        return len(self.words.misses(second)) <= len(self.words.misses(first))

    def _count(self, lines: int, again: int, page: bool, repaired: int) -> None:
        log.debug("routed OCR: %d lines, %d read again (whole page: %s)", lines, again, page)
        with self._lock:
            self.stats.pages += 1
            self.stats.lines += lines
            self.stats.lines_read_again += again
            self.stats.pages_read_again += page
            self.stats.words_repaired += repaired


def _band(
    pixels: np.ndarray, line: OcrLine
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A strip of the page around the line (padded by its height) and where the line lies in it."""
    height, width = pixels.shape[:2]
    tall = line.y1 - line.y0
    y0, y1 = max(0, int(line.y0 - _PAD * tall)), min(height, int(line.y1 + _PAD * tall) + 1)
    x0, x1 = max(0, int(line.x0 - _PAD * tall)), min(width, int(line.x1 + _PAD * tall) + 1)
    box = (line.x0 - x0, line.y0 - y0, line.x1 - x0, line.y1 - y0)
    return pixels[y0:y1, x0:x1], box


def make_routed(opts: ConvertOptions) -> RoutedOcrEngine:
    """The registry's factory: the fast engine on the CPU, rapidocr on CUDA when present."""
    from pipeline.ocr.fast import make_fast
    from pipeline.ocr.rapid import make_rapidocr

    fast = make_fast(opts.model_copy(update={"ocr_device": "cpu"}))
    return RoutedOcrEngine(fast, make_rapidocr(opts))
