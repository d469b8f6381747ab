"""Running the layout model on a page for the converter: which model, which input, failures.

The model reads the PDF page itself when its text layer is upright, and a stand-in page built
from the lines otherwise (OCR'd pages, ``/Rotate`` pages, sideways text). A model that fails on
a page costs that page its model labels, never its text: the rules carry on alone and the error
is recorded against the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pipeline.convert.layout_model import Region, layout_model
from pipeline.convert.model_tables import ColumnCutter
from pipeline.errors import EngineError
from pipeline.models import ConvertOptions, StageError

if TYPE_CHECKING:
    import pymupdf

    from pipeline.convert.pdf_lines import TextLine


class _Scanned(Protocol):
    number: int
    lines: list[TextLine]
    frame: tuple[float, float]


def find_regions(
    page: pymupdf.Page | None,
    scan: _Scanned,
    opts: ConvertOptions,
    errors: list[StageError],
) -> list[Region] | None:
    """The page's regions, or ``None`` when no model is configured or it failed here."""
    try:
        model = layout_model(opts)
        if model is None:
            return None
        if page is not None:
            return model.page_regions(page)
        return model.line_regions(scan.lines, *scan.frame)
    except EngineError as e:
        errors.append(StageError(stage="layout", page=scan.number, message=str(e)))
        return None


def regions_for_lines(
    scan: _Scanned, opts: ConvertOptions, errors: list[StageError]
) -> list[Region] | None:
    """Regions for lines that have no PDF page of their own (OCR)."""
    return find_regions(None, scan, opts, errors)


def column_cutter(page: pymupdf.Page | None, scan: _Scanned, opts: ConvertOptions) -> ColumnCutter:
    """Column separators for a table region from the model's table grid (on ``page``, or on a
    stand-in page made of the scan's lines); none when no model is configured."""
    model = layout_model(opts)

    def cut(region: Region) -> list[float]:
        if model is None:
            return []
        if page is not None:
            return model.columns(page, region)
        return model.line_columns(scan.lines, *scan.frame, region)

    return cut


def lines_in(lines: Sequence[TextLine], region: Region) -> list[TextLine]:
    """The lines whose centre lies in ``region``."""
    return [ln for ln in lines if region.holds((ln.x0 + ln.x1) / 2, (ln.y0 + ln.y1) / 2)]
