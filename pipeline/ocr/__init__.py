"""OCR engines: page images in, text lines with boxes (or Markdown) out.

``make_ocr_engine(opts)`` builds the engine ``opts.engine`` names: ``rapidocr`` (default:
PP-OCRv6 ONNX models shipped in the ``rapidocr`` wheel, CPU or CUDA), ``tesseract`` (when the
binary is installed) or ``vlm`` (an OpenAI-compatible vision chat server). Engines import their
libraries only when built, so ``import pipeline.ocr`` stays cheap.
"""

from __future__ import annotations

from pipeline.models import ConvertOptions
from pipeline.ocr.base import (
    OcrEngine,
    OcrLine,
    OcrResult,
    PageImage,
    engine_kinds,
    make_ocr_engine,
    register_engine,
)

__all__ = [
    "OcrEngine",
    "OcrLine",
    "OcrResult",
    "PageImage",
    "engine_kinds",
    "make_ocr_engine",
    "register_engine",
]


def _rapidocr(opts: ConvertOptions) -> OcrEngine:
    from pipeline.ocr.rapid import make_rapidocr

    return make_rapidocr(opts)


def _tesseract(opts: ConvertOptions) -> OcrEngine:
    from pipeline.ocr.tesseract import make_tesseract

    return make_tesseract(opts)


def _vlm(opts: ConvertOptions) -> OcrEngine:
    from pipeline.ocr.vlm import make_vlm

    return make_vlm(opts)


register_engine("rapidocr", _rapidocr)
register_engine("tesseract", _tesseract)
register_engine("vlm", _vlm)
