"""Tesseract, when its binary is installed (``apt-get install tesseract-ocr tesseract-ocr-fra``).

Run as a subprocess: no Python binding to build, and a crash stays in the child. Orientation
comes from Tesseract's own script and orientation detection (``--psm 0``); the page is turned
upright before recognition so line boxes follow reading order.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from collections.abc import Sequence

import numpy as np

from pipeline.errors import EngineError
from pipeline.models import ConvertOptions
from pipeline.ocr.base import OcrLine, OcrResult, PageImage

INSTALL_HINT = "Tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-fra"
_LANGS = {"fr": "fra", "en": "eng", "de": "deu", "es": "spa", "it": "ita", "nl": "nld", "pt": "por"}
_ROTATE = re.compile(r"Rotate:\s*(\d+)")


def tesseract_binary() -> str | None:
    """The path of the ``tesseract`` executable, or ``None``."""
    return shutil.which("tesseract")


class TesseractOcrEngine:
    """Tesseract 4/5 (LSTM) through its command line; ``languages`` as ISO 639-1 codes."""

    kind = "tesseract"

    def __init__(
        self, *, languages: Sequence[str] = ("fr", "en"), threads: int = 1, timeout_s: float = 120
    ) -> None:
        binary = tesseract_binary()
        if binary is None:
            raise EngineError(INSTALL_HINT)
        self.binary = binary
        self.langs = "+".join(_LANGS.get(code, code) for code in languages)
        self.threads = threads
        self.timeout_s = timeout_s

    def predict_batch(self, images: Sequence[PageImage]) -> list[OcrResult]:
        return [self._predict(image) for image in images]

    def _run(self, png: bytes, *args: str) -> str:
        env = {"OMP_THREAD_LIMIT": str(self.threads), "PATH": "/usr/bin:/bin"}
        try:
            proc = subprocess.run(
                [self.binary, "stdin", "stdout", *args],
                input=png,
                capture_output=True,
                timeout=self.timeout_s,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise EngineError(
                f"tesseract timed out after {self.timeout_s:.0f}s", retryable=True
            ) from e
        if proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip().splitlines()
            raise EngineError(f"tesseract failed: {message[-1] if message else proc.returncode}")
        return proc.stdout.decode("utf-8", errors="replace")

    def _rotation(self, png: bytes) -> int:
        try:
            osd = self._run(png, "--psm", "0", "-l", "osd")
        except EngineError:  # too little text to tell: read it as it is
            return 0
        match = _ROTATE.search(osd)
        return int(match.group(1)) % 360 if match else 0

    def _predict(self, image: PageImage) -> OcrResult:
        import cv2

        pixels = image.pixels[:, :, :3]
        png = _png(pixels)
        rotation = self._rotation(png)
        if rotation in (90, 180, 270):
            code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180}.get(
                rotation, cv2.ROTATE_90_COUNTERCLOCKWISE
            )
            pixels = cv2.rotate(np.ascontiguousarray(pixels), code)
            png = _png(pixels)
        tsv = self._run(png, "-l", self.langs, "--psm", "3", "--dpi", str(image.dpi), "tsv")
        height, width = pixels.shape[:2]
        return OcrResult(_lines(tsv), width, height, rotation, engine=self.kind)


def _png(pixels: np.ndarray) -> bytes:
    import cv2

    ok, data = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2BGR))
    if not ok:
        raise EngineError("could not encode the page image as PNG")
    return data.tobytes()


def _lines(tsv: str) -> list[OcrLine]:
    """Words of Tesseract's TSV grouped into lines (block, paragraph, line), in output order."""
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") == "5" and (row.get("text") or "").strip():
            groups.setdefault((row["block_num"], row["par_num"], row["line_num"]), []).append(row)
    lines = []
    for words in groups.values():
        x0 = min(int(w["left"]) for w in words)
        y0 = min(int(w["top"]) for w in words)
        x1 = max(int(w["left"]) + int(w["width"]) for w in words)
        y1 = max(int(w["top"]) + int(w["height"]) for w in words)
        conf = sum(max(float(w["conf"]), 0.0) for w in words) / (100.0 * len(words))
        text = " ".join(w["text"].strip() for w in words)
        lines.append(OcrLine(text, x0, y0, x1, y1, conf))
    return lines


def make_tesseract(opts: ConvertOptions) -> TesseractOcrEngine:
    return TesseractOcrEngine(languages=opts.ocr_languages, threads=opts.ocr_threads)
