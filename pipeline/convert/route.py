"""Per-page routing: read the text layer, or OCR the page (or only its pictures), and say why.

The text layer wins when it is good: it is exact and costs milliseconds. A page goes to OCR when

- it has (almost) no text and images cover it: a scan;
- its text is invisible (an OCR layer someone laid over a scan) or hidden under a full-page
  image: an old OCR layer we can do better than;
- most of its characters have no Unicode mapping (U+FFFD, private use): a garbage layer;
- it has little text but many vector shapes: text drawn as paths (outlined fonts, posters).

On a page with little text (a cover, a poster, a slide), large pictures that no text overlaps
are OCR'd on their own: their text is the content (a title set as an image, a scanned inset).

Everything here reads what the first extraction already gave or asks MuPDF for cheap facts, and
only on pages that hold images or little text, so routing stays well under a few milliseconds on
ordinary digital pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pymupdf

from pipeline.convert.pdf_lines import TextLayer
from pipeline.models import ConvertOptions

RouteMethod = Literal["text", "ocr", "empty"]

_SCAN_COVER = 0.3  # images over this share of a textless page make it a scan
_FULL_COVER = 0.85  # one image this large is the page itself
_INVISIBLE_SHARE = 0.5
_UNMAPPED_SHARE = 0.25
_PATHS_FOR_TEXT = 120  # more glyph-sized shapes than this with little text: outlined glyphs
_GLYPH = 40.0  # points: a letter's outline fits in this square
_FEW_CHARS = 200
_REGION_SHARE = 0.04  # pictures smaller than this share of the page are icons and logos
_PICTURE_PAGE_CHARS = 800


@dataclass(slots=True)
class Route:
    """How to read one page: ``method`` plus the reason a person would give.

    ``regions`` (PDF points, unrotated page) are pictures to OCR on a text page.
    """

    method: RouteMethod
    reason: str
    regions: list[pymupdf.Rect] = field(default_factory=list)


Log = list[tuple[str, tuple[float, float, float, float]]]


def _image_boxes(page: pymupdf.Page, log: Log) -> list[tuple[pymupdf.Rect, int]]:
    """Boxes of the page's images in paint order (with their position in the display list)."""
    visible = page.rect * page.derotation_matrix
    boxes = []
    for seq, (kind, bbox) in enumerate(log):
        if kind == "fill-image":
            box = pymupdf.Rect(bbox) & visible
            if not box.is_empty:
                boxes.append((box, seq))
    return boxes


def _share(boxes: list[pymupdf.Rect], page: pymupdf.Page) -> float:
    visible = page.rect * page.derotation_matrix
    area = visible.width * visible.height
    covered = sum(b.width * b.height for b in boxes)
    return min(covered / area, 1.0) if area else 0.0


def _text_under_full_image(log: Log, full: pymupdf.Rect, image_seq: int) -> bool:
    """Whether text was painted before a page-sized image that then covers it."""
    for seq, (kind, bbox) in enumerate(log):
        if seq >= image_seq:
            return False
        if kind.endswith("-text") and full.contains(pymupdf.Rect(bbox)):
            return True
    return False


def _vector_ops(log: Log) -> int:
    """Filled shapes the size of glyphs: outlined text draws one per letter."""
    count = 0
    for kind, (x0, y0, x1, y1) in log:
        if kind == "fill-path" and 0 < x1 - x0 < _GLYPH and 0 < y1 - y0 < _GLYPH:
            count += 1
    return count


def _uncovered_pictures(
    images: list[pymupdf.Rect], layer: TextLayer, page: pymupdf.Page
) -> list[pymupdf.Rect]:
    """Large pictures with no text-layer line over them, merged where they overlap."""
    visible = page.rect * page.derotation_matrix
    area = visible.width * visible.height
    regions: list[pymupdf.Rect] = []
    for box in images:
        if box.width * box.height < _REGION_SHARE * area:
            continue
        if any(box.intersects((ln.x0, ln.y0, ln.x1, ln.y1)) for ln in layer.lines):
            continue
        for i, other in enumerate(regions):
            if other.intersects(box):
                regions[i] = other | box
                break
        else:
            regions.append(box)
    return regions


def route_page(page: pymupdf.Page, layer: TextLayer, opts: ConvertOptions) -> Route:
    """Decide how to read ``page`` given its text layer (see the module docstring)."""
    if opts.ocr == "always":
        return Route("ocr", "OCR requested for every page")
    chars = sum(len(line.text) for line in layer.lines)
    # The display list is walked only for pages with images or little text: not ordinary ones.
    needs_log = chars < _FEW_CHARS or bool(page.get_images(full=True))
    log: Log = page.get_bboxlog() if needs_log else []
    images = _image_boxes(page, log)
    boxes = [box for box, _ in images]
    if chars < opts.min_text_chars:
        if boxes and _share(boxes, page) >= _SCAN_COVER:
            return Route("ocr", "image-only page: no text layer")
        if layer.chars == 0 and not boxes and _vector_ops(log) < _PATHS_FOR_TEXT:
            return Route("empty", "blank page: no text or images")
    if layer.chars and layer.invisible / layer.chars >= _INVISIBLE_SHARE:
        return Route("ocr", "invisible text layer (an earlier OCR): read again")
    if layer.chars and layer.unmapped / layer.chars >= _UNMAPPED_SHARE:
        return Route("ocr", "garbage text layer: characters without Unicode mapping")
    full = next(((b, seq) for b, seq in images if _share([b], page) >= _FULL_COVER), None)
    if full and _text_under_full_image(log, *full):
        return Route("ocr", "text hidden under a full-page image (an earlier OCR): read again")
    if chars < _FEW_CHARS and _vector_ops(log) >= _PATHS_FOR_TEXT:
        return Route("ocr", "little text and many vector shapes: text drawn as paths")
    # Pictures are read only on pages with little text (covers, posters, slides): on a page of
    # running text they are photographs and figures, slow to OCR for little gain.
    regions = _uncovered_pictures(boxes, layer, page) if chars < _PICTURE_PAGE_CHARS else []
    if regions:
        return Route("text", f"text layer; {len(regions)} picture(s) without text OCR'd", regions)
    return Route("text", "text layer")
