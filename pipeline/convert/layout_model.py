"""A trained layout model: what each region of a page is (text, title, table, header, footer...).

Rules read sizes and positions; a model trained on many thousands of labelled pages knows what
a running header, a caption or a borderless table looks like on pages nobody tuned rules for.
The default is PyMuPDF's own layout model (``pymupdf-layout``: a graph network over the page's
text, vector and image boxes, ONNX weights inside the wheel, CUDA when onnxruntime has it), which
also predicts a cell grid for each table. ``layout="none"`` keeps the rules alone. Kinds are
entry points of the group ``archivist.layout_models`` (``LAYOUT_MODELS``), like OCR engines.

Regions come back in the coordinates the converter's lines use (PDF points, upright page). A page
whose text layer is not upright (a ``/Rotate`` page, sideways text) or that was read by OCR is
given to the model as a *stand-in page*: a blank page of the upright size with each line written
at its place, so the model sees what a reader sees whatever the page's origin.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.errors import ConfigError, EngineError
from pipeline.models import ConvertOptions
from pipeline.registry import GROUPS, Registry

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
    """One region the model found: its class and box (points, upright page, origin top-left)."""

    kind: str
    x0: float
    y0: float
    x1: float
    y1: float

    def holds(self, x: float, y: float, slack: float = 1.0) -> bool:
        return self.x0 - slack <= x <= self.x1 + slack and self.y0 - slack <= y <= self.y1 + slack

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


class LayoutModel(Protocol):
    """Finds a page's regions, from the PDF page itself or from lines on a stand-in page, and
    cuts a table region into columns on demand (``columns``: absolute x of the separators)."""

    kind: str

    def page_regions(self, page: pymupdf.Page) -> list[Region]: ...

    def line_regions(
        self, lines: Sequence[TextLine], width: float, height: float
    ) -> list[Region]: ...

    def columns(self, page: pymupdf.Page, region: Region) -> list[float]: ...

    def line_columns(
        self, lines: Sequence[TextLine], width: float, height: float, region: Region
    ) -> list[float]: ...


def _regions(raw: Sequence[dict[str, Any]]) -> list[Region]:
    regions = []
    for item in raw:
        x0, y0, x1, y1 = (float(v) for v in item["group_bbox"])
        if x1 - x0 <= 1 or y1 - y0 <= 1:
            continue
        regions.append(Region(str(item["class_name"]), x0, y0, x1, y1))
    return regions


def _single_threaded(owner: object, threads: int) -> None:
    """Rebuild every onnxruntime session ``owner`` holds with ``threads`` intra-op threads.

    onnxruntime's default pool takes every core and spins; on a busy machine one thread per
    inference does the same work in about half the CPU time (as with the OCR engine).
    """
    import onnxruntime as ort

    for name, value in list(vars(owner).items()):
        if isinstance(value, ort.InferenceSession):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.enable_cpu_mem_arena = False
            path = value._model_path
            rebuilt = ort.InferenceSession(path, options, providers=value.get_providers())
            setattr(owner, name, rebuilt)


class PyMuPdfLayoutModel:
    """``pymupdf-layout``'s model (``feature_set="rf"``: boxes and their relations, ~50 ms a page
    on one CPU core; ``"imf+rf"`` adds an image encoder of the rendered page, ~3× the cost).

    Its table-grid model runs only when asked (``columns``), not on every table region: the
    rules structure most tables themselves.
    """

    kind = "pymupdf"

    def __init__(self, feature_set: str = "rf", use_gpu: bool = False, threads: int = 1) -> None:
        try:
            from pymupdf.layout import DocumentLayoutAnalyzer
        except ImportError as e:  # pragma: no cover - pymupdf>=2 always brings it
            raise ConfigError(
                "layout model 'pymupdf' needs pymupdf-layout (pip install pymupdf-layout)"
            ) from e
        self.model = DocumentLayoutAnalyzer.get_model(feature_set_name=feature_set, use_gpu=use_gpu)
        inner = getattr(self.model, "_model", None)
        self.grids = getattr(inner, "table_grid_extractor", None)
        if inner is not None and self.grids is not None and hasattr(self.grids, "predict_grid"):
            inner.table_grid_extractor = None  # grids on demand only (see ``columns``)
        else:
            self.grids = None
        self.threads = None if use_gpu else threads
        if self.threads is not None and inner is not None:
            _single_threaded(inner, self.threads)
            if "imf" in feature_set and getattr(inner, "feature_extractor", None) is not None:
                _single_threaded(inner.feature_extractor, self.threads)
        self.grids_ready = False
        self.lock = threading.Lock()  # MuPDF pages are not to be shared across threads

    def page_regions(self, page: pymupdf.Page) -> list[Region]:
        try:
            with self.lock:
                raw = self.model.predict(page, return_raw=True)
        except Exception as e:  # the model failing must not lose the page: the rules remain
            raise EngineError(f"layout model failed: {type(e).__name__}: {e}") from e
        return _regions(raw or [])

    def line_regions(self, lines: Sequence[TextLine], width: float, height: float) -> list[Region]:
        with _stand_in(lines, width, height) as page:
            return self.page_regions(page)

    def columns(self, page: pymupdf.Page, region: Region) -> list[float]:
        """The table grid model's column separators for ``region`` (absolute x, points)."""
        if self.grids is None:
            return []
        import numpy as np
        import pymupdf

        clip = pymupdf.Rect(region.x0, region.y0, region.x1, region.y1) & page.rect
        if clip.is_empty:
            return []
        try:
            with self.lock:
                if not self.grids_ready and self.threads is not None:
                    _single_threaded(self.grids, self.threads)  # on first use only
                self.grids_ready = True
                pix = page.get_pixmap(clip=clip, alpha=False)
                image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.h, pix.w, pix.n)
                grid = self.grids.predict_grid(image[:, :, :3])
        except Exception as e:
            raise EngineError(f"table grid model failed: {type(e).__name__}: {e}") from e
        scale = clip.width / max(pix.w, 1)
        return [clip.x0 + float(x) * scale for x in grid.v_lines]

    def line_columns(
        self, lines: Sequence[TextLine], width: float, height: float, region: Region
    ) -> list[float]:
        with _stand_in(lines, width, height) as page:
            return self.columns(page, region)


@contextlib.contextmanager
def _stand_in(lines: Sequence[TextLine], width: float, height: float) -> Iterator[pymupdf.Page]:
    """A blank page of the given size with ``lines`` written where they lie."""
    import pymupdf

    with pymupdf.open() as scratch:
        page = scratch.new_page(width=width, height=height)
        for line in lines:
            _write_line(page, line)
        yield page


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


LayoutFactory = Callable[[ConvertOptions], LayoutModel]
LAYOUT_MODELS: Registry[LayoutFactory] = Registry(
    "layout model", GROUPS["layout_models"], extra_valid=("none",)
)
_MODELS: dict[tuple[object, ...], LayoutModel] = {}
_LOCK = threading.Lock()


def _use_gpu(opts: ConvertOptions) -> bool:
    if opts.ocr_device == "cpu":
        return False
    from pipeline.ocr.rapid import cuda_available

    return cuda_available()


def make_pymupdf_layout(opts: ConvertOptions) -> LayoutModel:
    """The ``pymupdf`` kind: pymupdf-layout with ``opts.layout_features``, CUDA when present."""
    return PyMuPdfLayoutModel(opts.layout_features, _use_gpu(opts), opts.ocr_threads)


def layout_model(opts: ConvertOptions) -> LayoutModel | None:
    """The layout model ``opts.layout`` names, loaded once per process; ``None`` for ``"none"``."""
    if opts.layout == "none":
        return None
    factory = LAYOUT_MODELS.get(opts.layout)
    key = (opts.layout, opts.layout_features, opts.ocr_device, opts.ocr_threads, factory)
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = factory(opts)
        return _MODELS[key]


def assign(lines: Sequence[TextLine], regions: Sequence[Region]) -> list[str | None]:
    """Each line's region kind: the smallest region holding the line's centre (or ``None``)."""
    ordered = sorted(regions, key=lambda r: r.area)
    kinds: list[str | None] = []
    for line in lines:
        cx, cy = (line.x0 + line.x1) / 2, (line.y0 + line.y1) / 2
        kinds.append(next((r.kind for r in ordered if r.holds(cx, cy)), None))
    return kinds
