"""PDF → Markdown, page by page: the text layer where it is good, OCR where it is not.

Two passes over the pages. The first reads each page's text layer and routes the page (see
``pipeline.convert.route``): text, OCR (queued, so pages stream through a bounded pool), or
blank. The second, once every page is read, removes running headers and footers (which needs the
whole document), finds tables, orders blocks, decides headings from the document's body size and
writes each page's Markdown with its blocks' boxes. A page that fails is recorded and skipped;
only input that is unusable as a whole (empty, not a PDF, corrupt, encrypted) raises
``DocumentLoadError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import pymupdf

from pipeline.convert.common import (
    CONVERTER_VERSION,
    document_status,
    finish_metadata,
    join_pages,
)
from pipeline.convert.furniture import Dropped, PageLines, remove_furniture
from pipeline.convert.layout_model import Region, assign, layout_model
from pipeline.convert.layout_use import column_cutter, find_regions, regions_for_lines
from pipeline.convert.model_tables import ColumnCutter, model_tables
from pipeline.convert.pdf_grid import find_text_tables
from pipeline.convert.pdf_layout import Block, TableFinder, font_style, layout_page
from pipeline.convert.pdf_lines import TEXT_FLAGS, TextLine, read_text_layer
from pipeline.convert.pdf_ocr import OcrQueue, confidence, ocr_lines, render_page
from pipeline.convert.pdf_open import is_truncated, open_pdf, pdf_bytes, pdf_metadata
from pipeline.convert.pdf_render import (
    block_box,
    block_region,
    item_box,
    join_rendered,
    line_spans,
    render_blocks,
)
from pipeline.convert.pdf_tables import TableBlock, find_tables
from pipeline.convert.route import Route, route_page
from pipeline.errors import ArchivistError, DocumentLoadError
from pipeline.models import (
    Box,
    ConvertOptions,
    FurnitureLine,
    LayoutRegion,
    PageBlock,
    PageMethod,
    PageResult,
    PageStatus,
    ParsedDocument,
    SourceDocument,
    StageError,
    TextSpan,
)
from pipeline.ocr.base import OcrResult

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/pdf"
_STAGE = "convert"
_OCR_HEADING_RATIO = 1.5

PageProgress = Callable[[int, int], None]  # (pages read, page count)
_Pending = tuple["Future[OcrResult]", tuple[float, float], int]  # result, origin, dpi


@dataclass(slots=True)
class _PageScan:
    """What the first pass learned about one page (``result`` set once the page is settled)."""

    number: int
    width: float
    height: float
    lines: list[TextLine] = field(default_factory=list)
    tables: list[TableBlock] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    method: PageMethod = "text"
    reason: str | None = None
    rotation: int = 0
    frame: tuple[float, float] = (0.0, 0.0)  # width and height of the upright page, in points
    pending: list[_Pending] = field(default_factory=list)
    fallback: list[TextLine] = field(default_factory=list)
    regions: list[Region] | None = None  # the layout model's, when it ran on this page
    layout_tried: bool = False  # the model was run (or failed) on this page already
    model_tables: list[TableBlock] | None = None  # tables only the model saw
    dropped: list[Dropped] = field(default_factory=list)
    aside: list[TextLine] = field(default_factory=list)  # text layer lines in another direction
    markdown: str | None = None
    confidence: float | None = None
    result: PageResult | None = None


def _settled(scan: _PageScan, status: PageStatus, reason: str, method: PageMethod = "none") -> None:
    scan.result = PageResult(
        page=scan.number,
        method=method,
        status=status,
        reason=reason,
        rotation=scan.rotation,
        width=scan.width,
        height=scan.height,
    )


def _queue_ocr(
    scan: _PageScan, page: pymupdf.Page, route: Route, opts: ConvertOptions, queue: OcrQueue
) -> None:
    """Render the page (or its pictures) and queue it for OCR; the text layer is the fallback."""
    if route.method == "ocr":
        hint = "\n".join(line.text for line in scan.lines)
        scan.fallback, scan.lines = scan.lines, []
        scan.method = "vlm" if opts.engine == "vlm" else "ocr"
        scan.rotation = 0
        image = render_page(page, opts.dpi, hint=hint)
        scan.frame = (image.width * 72 / image.dpi, image.height * 72 / image.dpi)
        scan.pending.append((queue.submit(image), (0.0, 0.0), image.dpi))
        return
    for region in route.regions:
        image = render_page(page, opts.dpi, clip=region)
        scan.pending.append((queue.submit(image), (region.x0, region.y0), image.dpi))


def _route(
    scan: _PageScan, page: pymupdf.Page, route: Route, opts: ConvertOptions, queue: OcrQueue
) -> None:
    if route.method == "empty":
        _settled(scan, "empty", route.reason)
        return
    wants_ocr = route.method == "ocr" or (
        route.regions and opts.engine != "vlm" and page.rotation == 0
    )
    if not wants_ocr or opts.ocr == "never":
        if route.method == "ocr" and sum(len(ln.text) for ln in scan.lines) < opts.min_text_chars:
            _settled(scan, "needs_ocr", "image-only page: needs OCR")
        return
    try:
        _queue_ocr(scan, page, route, opts, queue)
    except ArchivistError as e:  # no engine here (not installed, no server configured)
        scan.pending.clear()
        if scan.fallback:
            scan.lines, scan.method = scan.fallback, "text"
        elif route.method == "ocr":
            _settled(scan, "needs_ocr", f"needs OCR: {e}")
        raise


def _scan_page(
    page: pymupdf.Page, opts: ConvertOptions, errors: list[StageError], queue: OcrQueue
) -> _PageScan:
    n = page.number + 1
    scan = _PageScan(n, page.rect.width, page.rect.height)
    textpage = page.get_textpage(flags=TEXT_FLAGS)  # one extraction serves lines and tables
    layer = read_text_layer(page, textpage)
    scan.lines, scan.rotation, scan.aside = layer.lines, layer.rotation, layer.aside
    unrotated = page.rect * page.derotation_matrix  # the frame text coordinates live in
    scan.frame = (unrotated.width, unrotated.height)
    if layer.rotation in (90, 270):
        scan.frame = (unrotated.height, unrotated.width)
    route = route_page(page, layer, opts)
    scan.reason = route.reason
    try:
        _route(scan, page, route, opts, queue)
    except ArchivistError as e:
        errors.append(StageError(stage="ocr", page=n, message=str(e)))
    if scan.result is not None:
        if scan.result.status == "needs_ocr" and opts.ocr == "never":
            message = f"page {n} has no text layer (image-only); OCR not enabled"
            errors.append(StageError(stage=_STAGE, page=n, message=message))
        return scan
    if scan.method == "text" and scan.lines and opts.layout != "none":
        scan.layout_tried = True
        upright = page.rotation == 0 and layer.rotation == 0
        scan.regions = find_regions(page if upright else None, scan, opts, errors)
    if opts.tables and scan.method == "text" and scan.lines:
        try:
            boxes = [(ln.x0, ln.y0, ln.x1, ln.y1) for ln in scan.lines]
            scan.tables = find_tables(page, textpage, boxes)
        except Exception as e:  # table finding is a heuristic: losing it must not lose the page
            errors.append(StageError(stage=_STAGE, page=n, message=f"table detection failed: {e}"))
        if scan.regions:
            upright = page.rotation == 0 and layer.rotation == 0
            _find_model_tables(scan, errors, column_cutter(page if upright else None, scan, opts))
    return scan


def _find_model_tables(scan: _PageScan, errors: list[StageError], cut: ColumnCutter) -> None:
    try:
        found = model_tables(scan.regions or [], scan.lines, scan.tables, cut)
    except Exception as e:  # a heuristic failing must not lose the page
        found = []
        message = f"table detection (layout model) failed: {e}"
        errors.append(StageError(stage=_STAGE, page=scan.number, message=message))
    scan.model_tables = found


def _failed(
    n: int, width: float, height: float, e: Exception, errors: list[StageError]
) -> PageResult:
    log.debug("page %d failed", n, exc_info=e)
    errors.append(StageError(stage=_STAGE, page=n, message=f"{type(e).__name__}: {e}"))
    reason = str(e) or type(e).__name__
    return PageResult(
        page=n, method="none", status="failed", reason=reason, width=width, height=height
    )


def _apply_ocr(scan: _PageScan, opts: ConvertOptions, errors: list[StageError]) -> None:
    """Wait for the page's OCR and take its lines (or a VLM's Markdown)."""
    results: list[OcrResult] = []
    try:
        for future, origin, dpi in scan.pending:
            result = future.result()
            results.append(result)
            if result.markdown is not None:
                scan.markdown = result.markdown
            elif scan.method != "text":
                scan.lines = ocr_lines(result, dpi)
            else:  # a picture on a text page: only what is read with confidence
                scan.lines += [ln for ln in ocr_lines(result, dpi, origin, min_confidence=0.85)]
            if scan.method != "text":
                scan.rotation = result.rotation
                scale = 72 / dpi
                scan.frame = (result.width * scale, result.height * scale)
    except ArchivistError as e:
        message = f"OCR failed: {e}"
        errors.append(StageError(stage="ocr", page=scan.number, message=message))
        if scan.method == "text" or scan.fallback:
            scan.lines = scan.lines if scan.method == "text" else scan.fallback
            scan.method = "text"
            return
        _settled(scan, "failed", message)
        return
    finally:
        scan.pending = []
    scan.confidence = confidence(results)
    if scan.method != "text" and not scan.lines and not (scan.markdown or "").strip():
        _settled(scan, "empty", "blank page: OCR found no text", scan.method)


def _scan_all(
    doc: pymupdf.Document,
    opts: ConvertOptions,
    errors: list[StageError],
    on_page: PageProgress | None = None,
) -> list[_PageScan]:
    """Read every page; OCR results are taken as they finish, oldest first, so at most the
    queue's few rendered images are held at any time, whatever the page count."""
    scans: list[_PageScan] = []
    waiting: list[_PageScan] = []
    done = 0

    def settle(scan: _PageScan) -> None:
        nonlocal done
        if scan.pending:
            _apply_ocr(scan, opts, errors)
        done += 1
        if on_page is not None:
            on_page(done, doc.page_count)

    with OcrQueue(opts) as queue:
        for index in range(doc.page_count):
            try:
                page = doc.load_page(index)
                scan = _scan_page(page, opts, errors, queue)
            except Exception as e:  # one bad page makes the document partial, not lost
                scan = _PageScan(index + 1, 0.0, 0.0)
                scan.result = _failed(index + 1, 0.0, 0.0, e, errors)
            scans.append(scan)
            waiting.append(scan)
            while waiting and all(f.done() for f, _, _ in waiting[0].pending):
                settle(waiting.pop(0))
        for scan in waiting:
            settle(scan)
    return scans


def _tables(scan: _PageScan, opts: ConvertOptions, errors: list[StageError]) -> list[TableBlock]:
    """Ruled tables; a table of aligned text that covers one (its header rows above a rule
    grid, as in booktabs tables) takes its place. Other text tables are found per column."""
    if not opts.tables:
        return []
    tables = list(scan.tables)
    if not tables:
        return tables
    try:
        found = find_text_tables(scan.lines)
    except Exception as e:
        message = f"table detection failed: {e}"
        errors.append(StageError(stage=_STAGE, page=scan.number, message=message))
        return tables
    for table, _ in found:
        box = pymupdf.Rect(table.x0, table.y0, table.x1, table.y1)
        ruled = [t for t in tables if box.intersects((t.x0, t.y0, t.x1, t.y1))]
        area = sum((t.x1 - t.x0) * (t.y1 - t.y0) for t in ruled)
        if ruled and box.width * box.height >= 0.9 * area:
            tables = [t for t in tables if t not in ruled] + [table]
    return sorted(tables, key=lambda t: t.y0)


def _finder(scan: _PageScan, errors: list[StageError]) -> TableFinder:
    def find(lines: Sequence[TextLine]) -> list[tuple[TableBlock, list[TextLine]]]:
        try:
            return find_text_tables(lines)
        except Exception as e:  # a heuristic failing must not lose the page
            message = f"table detection failed: {e}"
            errors.append(StageError(stage=_STAGE, page=scan.number, message=message))
            return []

    return find


def _give_roles(scan: _PageScan, opts: ConvertOptions, errors: list[StageError]) -> None:
    """Each line's region class from the layout model (OCR'd pages are modelled here)."""
    if opts.layout == "none" or not scan.lines:
        return
    if scan.regions is None and not scan.layout_tried:
        scan.layout_tried = True
        scan.regions = regions_for_lines(scan, opts, errors)
    if scan.regions is not None:
        for line, role in zip(scan.lines, assign(scan.lines, scan.regions), strict=True):
            line.role = role


_ASIDE = "text in another direction than the page's (a margin stamp or note)"


def _read_into(dropped: Dropped, tables: Sequence[TableBlock]) -> bool:
    """Whether a line set aside for its direction was read into a table's cells after all (a
    rotated column header: the table finder reads cells in any direction), so it is not lost."""
    line = dropped.line
    x, y = (line.x0 + line.x1) / 2, (line.y0 + line.y1) / 2
    text = line.text.strip()
    return dropped.reason == _ASIDE and any(t.contains(x, y) and text in t.markdown for t in tables)


def _layout_all(scans: list[_PageScan], opts: ConvertOptions, errors: list[StageError]) -> None:
    live = [s for s in scans if s.result is None and s.markdown is None]
    for scan in live:
        _give_roles(scan, opts, errors)
        if scan.method == "text":  # read from the text layer: say what it left out, and why
            scan.dropped = [Dropped(line, _ASIDE) for line in scan.aside]
    if opts.remove_furniture:
        pages = [PageLines(s.lines, *s.frame, modelled=s.regions is not None) for s in live]
        for scan, page in zip(live, remove_furniture(pages), strict=True):
            scan.lines, scan.dropped = page.kept, scan.dropped + page.dropped
    for scan in live:
        try:
            finder = _finder(scan, errors) if opts.tables else None
            if opts.tables and scan.model_tables is None and scan.regions:
                cut = column_cutter(None, scan, opts)  # an OCR'd page: on its stand-in page
                _find_model_tables(scan, errors, cut)
            tables = _tables(scan, opts, errors) + (scan.model_tables or [])
            scan.dropped = [d for d in scan.dropped if not _read_into(d, tables)]
            scan.blocks = layout_page(scan.lines, sorted(tables, key=lambda t: t.y0), finder)
        except Exception as e:
            scan.result = _failed(scan.number, scan.width, scan.height, e, errors)


def _page_result(scan: _PageScan, blocks: list[PageBlock], markdown: str) -> PageResult:
    return PageResult(
        page=scan.number,
        markdown=markdown,
        method=scan.method,
        reason=scan.reason,
        rotation=scan.rotation,
        confidence=scan.confidence,
        width=scan.width,
        height=scan.height,
        boxes=[b.box for b in blocks],
        blocks=blocks,
        furniture=[
            FurnitureLine(text=d.line.text, box=_box(d.line), reason=d.reason) for d in scan.dropped
        ],
        layout=[
            LayoutRegion(kind=r.kind, box=Box(x0=r.x0, y0=r.y0, x1=r.x1, y1=r.y1))
            for r in scan.regions or []
        ],
    )


def _box(item: TextLine | Block) -> Box:
    x0, y0, x1, y1 = block_box(item) if not isinstance(item, TextLine) else item_box(item)
    return Box(x0=x0, y0=y0, x1=x1, y1=y1)


def _page_block(kind: str, text: str, block: Block) -> PageBlock:
    spans = [
        TextSpan(start=a, end=b, box=Box(x0=x0, y0=y0, x1=x1, y1=y1))
        for a, b, (x0, y0, x1, y1) in line_spans(block, text)
    ]
    return PageBlock(kind=kind, text=text, box=_box(block), region=block_region(block), spans=spans)


def _render_all(
    scans: list[_PageScan], opts: ConvertOptions, errors: list[StageError]
) -> list[PageResult]:
    # OCR sizes are estimates from box heights: they get their own typography.
    styles = {
        method: font_style(
            (s.blocks for s in scans if s.result is None and s.method == method),
            min_ratio=_OCR_HEADING_RATIO if method == "ocr" else 0.0,
        )
        for method in ("text", "ocr")
    }
    pages = []
    for scan in scans:
        if scan.result is not None:
            pages.append(scan.result)
            continue
        if scan.markdown is not None:
            pages.append(_page_result(scan, [], scan.markdown))
            continue
        try:
            style = styles["ocr" if scan.method == "ocr" else "text"]
            rendered = render_blocks(scan.blocks, style, opts.heading_max_level)
            blocks = [_page_block(kind, text, b) for kind, text, b in rendered]
            pages.append(_page_result(scan, blocks, join_rendered(rendered)))
        except Exception as e:
            pages.append(_failed(scan.number, scan.width, scan.height, e, errors))
    return pages


def _check_truncation(data: bytes, scans: list[_PageScan], name: str) -> StageError | None:
    """A file cut short loses its end-of-file marker; MuPDF repairs what remains."""
    if not is_truncated(data):
        return None
    if all(scan.result is not None and scan.result.status in ("empty", "failed") for scan in scans):
        raise DocumentLoadError(f"{name}: truncated PDF: no readable content (no %%EOF marker)")
    message = "truncated PDF (no %%EOF marker): content may be missing"
    return StageError(stage=_STAGE, message=message)


def convert_pdf(
    src: SourceDocument,
    opts: ConvertOptions | None = None,
    *,
    on_page: PageProgress | None = None,
) -> ParsedDocument:
    """Convert a PDF's text layer to Markdown with ``<!-- page N -->`` anchors.

    >>> doc = convert_pdf(SourceDocument(uri="mem://report.pdf", data=pdf))  # doctest: +SKIP
    >>> doc.status, doc.pages[0].method  # doctest: +SKIP
    ('ok', 'text')
    """
    opts = opts or ConvertOptions()
    layout_model(opts)  # a misconfigured model fails the run here, not every page quietly
    data = pdf_bytes(src)
    errors: list[StageError] = []
    with open_pdf(data, src.name) as doc:
        found = pdf_metadata(doc)
        scans = _scan_all(doc, opts, errors, on_page)
    damage = _check_truncation(data, scans, src.name)
    if damage is not None:
        errors.insert(0, damage)
    _layout_all(scans, opts, errors)
    pages = _render_all(scans, opts, errors)
    markdown = join_pages(pages)
    return ParsedDocument(
        doc_id=src.doc_id,
        uri=src.uri,
        metadata=finish_metadata(src, found, markdown),
        media_type=MEDIA_TYPE,
        pages=pages,
        markdown=markdown,
        status=document_status(pages, damaged=damage is not None),
        errors=errors,
        converter=CONVERTER_VERSION,
    )
