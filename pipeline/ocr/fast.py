"""A light OCR engine: PP-OCRv6 tiny (or small) from the ``faster-paddle`` wheel, CPU only.

``faster-paddle`` (MIT) is a Rust reimplementation of PaddleOCR's detection and recognition with
its own ONNX Runtime linked in; the tiny and small models are inside its wheel, so nothing is
downloaded. On the noisy French pages of ``bench/noisy_scans.py`` its tiny model costs about
0.8 CPU-seconds per page against 3.3 for ``rapidocr`` (docs/convert.md, "Measured"), but it
drops or mangles some letters (ï, œ, æ): ``pipeline.ocr.lexicon`` repairs what a word list can
tell, and the ``routed`` engine sends the lines it stays unsure of to ``rapidocr``.

It takes whole images and returns axis-aligned boxes, so the page's orientation is judged from
its reading: lines taller than wide mean a quarter turn, and a page read with low confidence is
read again turned half-way; a turn is kept only when the turned page reads better.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from pipeline.errors import ConfigError, EngineError
from pipeline.models import ConvertOptions
from pipeline.ocr.base import OcrLine, OcrResult, PageImage
from pipeline.ocr.lexicon import Lexicon, lexicon

log = logging.getLogger(__name__)

INSTALL_HINT = "faster-paddle is not installed: pip install 'faster-paddle>=1.0.4,<2'"
MODELS = ("tiny", "small")
_ROTATE_CODES = {90: 0, 180: 1, 270: 2}  # cv2.ROTATE_90_CLOCKWISE, _180, _90_COUNTERCLOCKWISE
# A page read upright scores about 0.97 on noisy scans; upside down or sideways, 0.4-0.85.
# The tiny model often reads one typographic apostrophe as two ("d’'hôtel", "l'’économie").
_APOSTROPHES = re.compile("['’]{2,}")
_LEGIBLE = 0.9
_TURN_GAIN = 0.05  # a turned reading must beat the page as it is by this much to be kept


class FastOcrEngine:
    """PP-OCRv6 tiny/small through faster-paddle, one native engine per calling thread.

    >>> engine = FastOcrEngine(model="tiny", threads=1)              # doctest: +SKIP
    >>> engine.predict_batch([PageImage(pixels, dpi=150)])[0].lines[0].text  # doctest: +SKIP
    'Grève des dockers : le port de Port-Aurèle'
    """

    kind = "fast"

    def __init__(
        self,
        *,
        model: str = "tiny",
        threads: int = 1,
        device: str = "auto",
        det_max_side: int = 1600,
        min_confidence: float = 0.5,
        words: Lexicon | None = None,
    ) -> None:
        if model not in MODELS:
            raise ConfigError(f"unknown fast OCR model {model!r} (valid: {', '.join(MODELS)})")
        if device == "cuda":  # its ONNX Runtime is linked in, built for the CPU only
            raise ConfigError("the fast OCR engine runs on the CPU only (ocr_device=cuda)")
        self.model = model
        self.threads = threads
        self.det_max_side = det_max_side
        self.min_confidence = min_confidence
        self.words = words
        self._local = threading.local()

    def _native(self) -> Any:
        """This thread's faster-paddle engine: calls on one engine are serialised inside it."""
        engine = getattr(self._local, "engine", None)
        if engine is None:
            try:
                import faster_paddle
            except ImportError as e:
                raise EngineError(INSTALL_HINT) from e
            try:
                engine = faster_paddle.OcrEngine(
                    model_size=self.model, threads=self.threads, det_max_side=self.det_max_side
                )
            except Exception as e:  # a broken install
                raise EngineError(f"faster-paddle failed to start: {e}") from e
            self._local.engine = engine
        return engine

    def read(self, pixels: np.ndarray) -> list[OcrLine]:
        """Every line of an RGB image as it is (no turn, no confidence floor), top to bottom."""
        import cv2

        ok, bmp = cv2.imencode(".bmp", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        if not ok:
            raise EngineError("could not encode the page image for faster-paddle")
        result = self._native().ocr(bmp.tobytes())
        lines = []
        for bound in result["bounds"].values():
            text = _APOSTROPHES.sub(lambda m: m.group(0)[0], str(bound["text"]).strip())
            score = float(bound["confidence"])
            if not text:
                continue
            (x0, y0), (x1, y1) = bound["topLeftCoord"], bound["bottomRightCoord"]
            lines.append(OcrLine(text, float(x0), float(y0), float(x1), float(y1), score))
        return lines

    def predict_batch(self, images: Sequence[PageImage]) -> list[OcrResult]:
        """Read each page image, turned upright; one result per image, in order."""
        return [self._predict(image) for image in images]

    def _predict(self, image: PageImage) -> OcrResult:
        pixels, lines, rotation, _ = self.read_page(image)
        height, width = pixels.shape[:2]
        return OcrResult(lines, width, height, rotation, engine=self.kind)

    def read_page(self, image: PageImage) -> tuple[np.ndarray, list[OcrLine], int, int]:
        """The page turned upright, its lines (repaired), the turn, and the words repaired."""
        pixels = np.ascontiguousarray(image.pixels[:, :, :3])
        try:
            pixels, lines, rotation = self.upright(pixels)
        except EngineError:
            raise
        except Exception as e:
            raise EngineError(f"faster-paddle failed on page {image.page}: {e}") from e
        lines = [line for line in lines if line.confidence >= self.min_confidence]
        repaired = 0
        if self.words is not None:
            fixed = []
            for line in lines:
                text, changed = self.words.repair(line.text)
                fixed.append(replace(line, text=text) if changed else line)
                repaired += changed
            lines = fixed
        return pixels, lines, rotation, repaired

    def upright(self, pixels: np.ndarray) -> tuple[np.ndarray, list[OcrLine], int]:
        """The page turned so that it reads best, its lines, and the turn (degrees clockwise).

        A page that reads well as it is costs one reading; a doubtful one, one or two more.
        A page on its side (its lines taller than wide) is always turned, to the quarter that
        reads better; a page that reads badly is turned half-way only if it then reads better.
        """
        lines = self.read(pixels)
        turns = turns_to_try(lines)
        sideways = 180 not in turns and bool(turns)
        best = (-1.0 if sideways else legibility(lines) + _TURN_GAIN, 0, pixels, lines)
        for turn in turns:
            turned = rotate(pixels, turn)
            turned_lines = self.read(turned)
            score = legibility(turned_lines)
            if score > best[0]:
                best = (score, turn, turned, turned_lines)
            if score >= _LEGIBLE:
                break
        _, rotation, pixels, lines = best
        return pixels, lines, rotation


def legibility(lines: Sequence[OcrLine]) -> float:
    """Mean line confidence weighted by text length (0 when nothing was read)."""
    total = sum(len(line.text) for line in lines)
    return sum(len(line.text) * line.confidence for line in lines) / total if total else 0.0


def turns_to_try(lines: Sequence[OcrLine]) -> tuple[int, ...]:
    """Turns (degrees clockwise) worth a second reading, most likely first; none when legible.

    Long lines taller than wide mean the page lies on its side. faster-paddle hands tall line
    crops to the recogniser turned a quarter counter-clockwise, so when they read well the page
    needs 270° and when they read badly, 90°. Wide lines read badly suggest a page upside down.
    """
    sizes = np.array([(ln.x1 - ln.x0, ln.y1 - ln.y0) for ln in lines], dtype=float)
    if len(sizes):
        long_lines = sizes[np.maximum(sizes[:, 0], sizes[:, 1]) > 3 * sizes.min(axis=1)]
        if len(long_lines) >= 3 and (long_lines[:, 1] > long_lines[:, 0]).mean() > 0.6:
            return (270, 90) if legibility(lines) >= _LEGIBLE else (90, 270)
    if legibility(lines) >= _LEGIBLE or len(lines) < 3:
        return ()
    return (180,)


def rotate(pixels: np.ndarray, degrees: int) -> np.ndarray:
    """The image turned ``degrees`` clockwise (90, 180 or 270)."""
    import cv2

    return cv2.rotate(pixels, _ROTATE_CODES[degrees])


def make_fast(opts: ConvertOptions) -> FastOcrEngine:
    """The registry's factory: model, threads, device and word lists from the convert options."""
    words = lexicon(opts.ocr_languages)
    return FastOcrEngine(
        model=opts.ocr_model,
        threads=opts.ocr_threads,
        device=opts.ocr_device,
        words=words if words.languages else None,
    )
