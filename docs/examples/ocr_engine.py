"""The smallest OCR engine: every page read as one fixed line. It shows the whole contract
(``kind``, ``predict_batch``, a factory taking ``ConvertOptions``) that docs/architecture.md walks
through; tests/pipeline/test_registry.py installs it as a plugin package and converts with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.models import ConvertOptions
from pipeline.ocr.base import OcrLine, OcrResult, PageImage


class ConstantOcrEngine:
    """Reads every page as the same line: enough to see that this engine is the one used."""

    kind = "constant"

    def __init__(self, text: str) -> None:
        self.text = text

    def predict_batch(self, images: Sequence[PageImage]) -> list[OcrResult]:
        """One result per image, in order: the lines found, with boxes in the image's pixels."""
        line = OcrLine(self.text, 10, 10, 400, 40, confidence=0.99)
        return [OcrResult([line], image.width, image.height, engine=self.kind) for image in images]


def make_constant(opts: ConvertOptions) -> ConstantOcrEngine:
    """The factory the entry point names: options in, an engine out (built once per process)."""
    return ConstantOcrEngine("Read by the plugin engine.")
