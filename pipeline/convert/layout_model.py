"""A trained layout model: what each region of a page is (text, title, table, header, footer...).

Rules read sizes and positions; a model trained on many thousands of labelled pages knows what
a running header, a caption or a borderless table looks like on pages nobody tuned rules for.
The default is PyMuPDF's own layout model (``pymupdf-layout``: a graph network over the page's
text, vector and image boxes, ONNX weights inside the wheel, CUDA when onnxruntime has it), which
also predicts a cell grid for each table. ``layout="none"`` keeps the rules alone.

Regions come back in the coordinates the converter's lines use (PDF points, upright page). A page
whose text layer is not upright (a ``/Rotate`` page, sideways text) or that was read by OCR is
given to the model as a *stand-in page*: a blank page of the upright size with each line written
at its place, so the model sees what a reader sees whatever the page's origin.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pipeline.errors import ConfigError, EngineError

if TYPE_CHECKING:
    import pymupdf

    from pipeline.convert.pdf_lines import TextLine

log = logging.getLogger(__name__)

# The model's classes (DocLayNet's, less "document index"), as the converter names them.
FURNITURE = frozenset({"page-header", "page-footer"})
CONTENT = frozenset({"text", "title", "section-header", "list-item", "caption", "table"})
HEADINGS = frozenset({"title", "section-header"})


@dataclass(slots=True)
class Region:
    """One region the model found: its class and box (points, upright page, origin top-left).

    ``rows`` and ``cols`` are the table's separators the model predicted (absolute positions,
    inner boundaries only), for ``kind == "table"``.
    """

    kind: str
    x0: float
    y0: float
    x1: float
    y1: float
    rows: list[float] = field(default_factory=list)
    cols: list[float] = field(default_factory=list)

    def holds(self, x: float, y: float, slack: float = 1.0) -> bool:
        return self.x0 - slack <= x <= self.x1 + slack and self.y0 - slack <= y <= self.y1 + slack

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


class LayoutModel(Protocol):
    """Finds a page's regions, from the PDF page itself or from lines on a stand-in page."""

    kind: str

    def page_regions(self, page: pymupdf.Page) -> list[Region]: ...

    def line_regions(self, lines: Sequence[TextLine], width: float, height: float) -> list[Region]: ...


def _grid(raw: dict[str, object], x0: float, y0: float) -> tuple[list[float], list[float]]:
    grid = raw.get("table_grid")
    rows = [y0 + float(v) for v in getattr(grid, "h_lines", None) or []]
    cols = [x0 + float(v) for v in getattr(grid, "v_lines", None) or []]
    return rows, cols


def _regions(raw: Sequence[dict[str, object]]) -> list[Region]:
    regions = []
    for item in raw:
        x0, y0, x1, y1 = (float(v) for v in item["group_bbox"])  # type: ignore[union-attr]
        if x1 - x0 <= 1 or y1 - y0 <= 1:
            continue
        kind = str(item["class_name"])
        rows, cols = _grid(item, x0, y0) if kind == "table" else ([], [])
        regions.append(Region(kind, x0, y0, x1, y1, rows, cols))
    return regions


class PyMuPdfLayoutModel:
    """``pymupdf-layout``'s model (``feature_set="rf"``: boxes and their relations, ~50 ms a page
    on one CPU core; ``"imf+rf"`` adds an image encoder of the rendered page, ~3× the cost)."""

    kind = "pymupdf"

    def __init__(self, feature_set: str = "rf", use_gpu: bool = False) -> None:
        try:
            from pymupdf.layout import DocumentLayoutAnalyzer
        except ImportError as e:  # pragma: no cover - pymupdf>=2 always brings it
            raise ConfigError(
                "layout model 'pymupdf' needs pymupdf-layout (pip install pymupdf-layout)"
            ) from e
        self.model = DocumentLayoutAnalyzer.get_model(feature_set_name=feature_set, use_gpu=use_gpu)
        self.lock = threading.Lock()  # MuPDF pages are not to be shared across threads

    def page_regions(self, page: pymupdf.Page) -> list[Region]:
        try:
            with self.lock:
                raw = self.model.predict(page, return_raw=True)
        except Exception as e:  # the model failing must not lose the page: the rules remain
            raise EngineError(f"layout model failed: {type(e).__name__}: {e}") from e
        return _regions(raw or [])

    def line_regions(self, lines: Sequence[TextLine], width: float, height: float) -> list[Region]:
        import pymupdf

        with pymupdf.open() as scratch:
            page = scratch.new_page(width=width, height=height)
            for line in lines:
                _write_line(page, line)
            return self.page_regions(page)


def _write_line(page: pymupdf.Page, line: TextLine) -> None:
    """Write ``line`` at its box, stretched to its width, in a bold or regular font."""
    import pymupdf

    if not line.text.strip() or line.width <= 0 or line.height <= 0:
        return
    size = max(1.0, min(line.size or line.height, 1.2 * line.height))
    font = "hebo" if line.bold else "helv"
    natural = pymupdf.get_text_length(line.text, fontname=font, fontsize=size)
    origin = pymupdf.Point(line.x0, line.y1 - 0.2 * size)
    stretch = pymupdf.Matrix(line.width / natural, 1) if natural > 0 else pymupdf.Identity
    page.insert_text(origin, line.text, fontsize=size, fontname=font, morph=(origin, stretch))


_MODELS: dict[tuple[str, str, bool], LayoutModel] = {}
_LOCK = threading.Lock()


def layout_model(kind: str, feature_set: str = "rf", use_gpu: bool = False) -> LayoutModel | None:
    """The layout model ``kind`` names, loaded once per process; ``None`` for ``"none"``."""
    if kind == "none":
        return None
    if kind != "pymupdf":
        raise ConfigError(f"unknown layout model {kind!r}; valid: none, pymupdf")
    key = (kind, feature_set, use_gpu)
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = PyMuPdfLayoutModel(feature_set, use_gpu)
        return _MODELS[key]


def assign(lines: Sequence[TextLine], regions: Sequence[Region]) -> list[str | None]:
    """Each line's region kind: the smallest region holding the line's centre (or ``None``)."""
    ordered = sorted(regions, key=lambda r: r.area)
    kinds: list[str | None] = []
    for line in lines:
        cx, cy = (line.x0 + line.x1) / 2, (line.y0 + line.y1) / 2
        kinds.append(next((r.kind for r in ordered if r.holds(cx, cy)), None))
    return kinds
