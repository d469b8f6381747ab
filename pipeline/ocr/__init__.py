"""OCR engines: page images in, text lines with boxes (or Markdown) out.

``make_ocr_engine(opts)`` builds the engine ``opts.engine`` names: ``rapidocr`` (PP-OCRv6
small ONNX models shipped in the ``rapidocr`` wheel, CPU or CUDA), ``fast`` (PP-OCRv6 tiny or
small from the ``faster-paddle`` wheel, CPU, with a word-list repair of œ/æ/ï), ``routed``
(``fast`` first, ``rapidocr`` for the lines it is unsure of), ``tesseract`` (when the binary is
installed) or ``vlm`` (an OpenAI-compatible vision chat server). Engines import their
libraries only when built, so ``import pipeline.ocr`` stays cheap.

Each kind is one entry point in the group ``archivist.ocr_engines`` (pyproject.toml) naming its
factory, ``ConvertOptions -> OcrEngine``; a new engine is a new module plus that one line
(docs/architecture.md shows one).
"""

from __future__ import annotations

from pipeline.ocr.base import (
    OCR_ENGINES,
    OcrEngine,
    OcrLine,
    OcrResult,
    PageImage,
    engine_kinds,
    make_ocr_engine,
    register_engine,
)

__all__ = [
    "OCR_ENGINES",
    "OcrEngine",
    "OcrLine",
    "OcrResult",
    "PageImage",
    "engine_kinds",
    "make_ocr_engine",
    "register_engine",
]
