"""What every OCR engine takes and gives back, and the registry that picks one by ``kind``.

An engine reads rendered page images (``PageImage``) and returns, per image, the text lines it
found with their boxes in pixels (``OcrResult``). Engines that write Markdown themselves (a
vision-language model) put it in ``OcrResult.markdown``; the converter then takes it as the page.
Engines load their models on first use and are cached per process, so building one is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pipeline.models import ConvertOptions
from pipeline.registry import GROUPS, Registry

if TYPE_CHECKING:
    import numpy as np


@dataclass(slots=True)
class PageImage:
    """A page rendered for OCR: RGB pixels (``H×W×3`` uint8) at ``dpi``, and what we know already.

    ``hint`` carries the page's text layer (if any) for engines that can use it, as olmOCR does
    with its "anchor text"; ``page`` is the 1-based page number, for messages.
    """

    pixels: np.ndarray
    dpi: int
    page: int = 1
    hint: str = ""

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One recognised line: its text, its box in pixels of the upright image, a 0..1 confidence."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    confidence: float = 1.0


@dataclass(slots=True)
class OcrResult:
    """What an engine read on one page image.

    ``rotation`` is how far (degrees clockwise, 0/90/180/270) the engine turned the image to read
    it upright; ``width``/``height`` and the line boxes are those of the upright image.
    """

    lines: list[OcrLine] = field(default_factory=list)
    width: int = 0
    height: int = 0
    rotation: int = 0
    markdown: str | None = None
    engine: str = ""


@runtime_checkable
class OcrEngine(Protocol):
    """Reads page images. ``predict_batch`` returns one result per image, in order."""

    kind: str

    def predict_batch(self, images: Sequence[PageImage]) -> list[OcrResult]: ...


EngineFactory = Callable[[ConvertOptions], OcrEngine]
# Kinds are entry points in the group "archivist.ocr_engines" (pyproject.toml); each names the
# factory in its module, so an engine's libraries load only when it is built.
OCR_ENGINES: Registry[EngineFactory] = Registry("OCR engine", GROUPS["ocr_engines"])


def register_engine(kind: str, factory: EngineFactory) -> None:
    """Make ``kind`` available to ``make_ocr_engine`` now (tests, notebooks; a package declares
    an entry point instead)."""
    OCR_ENGINES.register(kind, factory)


def engine_kinds() -> list[str]:
    """The registered engine kinds, sorted."""
    return OCR_ENGINES.kinds()


def _cache_key(opts: ConvertOptions) -> tuple[object, ...]:
    return (
        opts.engine,
        opts.ocr_threads,
        opts.ocr_device,
        opts.ocr_precision,
        opts.ocr_model,
        opts.ocr_languages,
        opts.vlm,
        opts.cache_dir,
    )


def make_ocr_engine(opts: ConvertOptions) -> OcrEngine:
    """The engine ``opts.engine`` names, built once per process for the same settings.

    >>> make_ocr_engine(ConvertOptions(engine="nope"))
    Traceback (most recent call last):
    ...
    pipeline.errors.ConfigError: unknown OCR engine 'nope'; valid: rapidocr, tesseract, vlm
    """
    return OCR_ENGINES.build(opts.engine, opts, key=_cache_key(opts))
