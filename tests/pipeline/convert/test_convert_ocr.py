"""Per-page routing and OCR inside the converter, on PDFs made in each test.

Scanned pages are made the way scanners make them: a page is drawn, rendered to pixels, and the
pixels placed as the only content of a new page (with an invisible OCR layer where a test needs
one). The real RapidOCR models read them.
"""

from __future__ import annotations

import pymupdf
import pytest

from pipeline.convert import convert_document
from pipeline.convert import route as route_module
from pipeline.convert.pdf_lines import read_text_layer
from pipeline.convert.route import route_page
from pipeline.models import ConvertOptions, SourceDocument
from tests.pipeline.ocr.conftest import ENGLISH, FRENCH, text_page_pdf

pytestmark = pytest.mark.slow
pytest.importorskip("rapidocr")


def scanned(lines: tuple[str, ...], *, rotate: int = 0, invisible: str | None = None) -> bytes:
    """A PDF whose only page is a 150 dpi picture of ``lines`` (turned ``rotate`` degrees)."""
    source = text_page_pdf(lines, rotate=rotate)
    pix = source[0].get_pixmap(dpi=150, alpha=False)
    doc = pymupdf.open()
    page = doc.new_page(width=source[0].rect.width, height=source[0].rect.height)
    page.insert_image(page.rect, pixmap=pix)
    if invisible is not None:  # an earlier OCR's text layer, drawn invisibly (render mode 3)
        page.insert_text((72, 100), invisible, fontsize=11, render_mode=3)
    return doc.tobytes()


def src(data: bytes, name: str = "scan.pdf") -> SourceDocument:
    return SourceDocument(uri=f"file:///archive/{name}", data=data)


def test_scanned_page_is_read_by_ocr_with_its_accents() -> None:
    doc = convert_document(src(scanned(FRENCH)))
    page = doc.pages[0]
    assert (page.method, page.status, doc.status) == ("ocr", "ok", "ok")
    assert page.reason == "image-only page: no text layer"
    for sentence in FRENCH:
        assert sentence.replace("’", "'") in page.markdown.replace("’", "'")
    assert 0.5 < (page.confidence or 0) <= 1
    assert doc.metadata.language == "fr"


@pytest.mark.parametrize("rotate", [90])  # every angle is covered in tests/pipeline/ocr
def test_rotated_scan_is_turned_upright(rotate: int) -> None:
    page = convert_document(src(scanned(ENGLISH, rotate=rotate))).pages[0]
    assert page.rotation == (360 - rotate) % 360
    assert "The archive keeps every issue of the paper." in page.markdown
    first = page.markdown.index(ENGLISH[0][:20])
    assert first < page.markdown.index(ENGLISH[1][:20]) < page.markdown.index(ENGLISH[2][:20])


def test_blank_scan_is_empty_and_invents_nothing() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 850, 1100), False)
    pix.set_rect(pix.irect, (246, 244, 238))  # paper, not pure white
    page.insert_image(page.rect, pixmap=pix)
    result = convert_document(src(doc.tobytes())).pages[0]
    assert (result.status, result.method, result.markdown) == ("empty", "ocr", "")


def test_invisible_ocr_layer_is_read_again() -> None:
    data = scanned(ENGLISH, invisible="Tbe arcbive keeps evcry issne of tbe paper.")
    page = convert_document(src(data)).pages[0]
    assert page.method == "ocr" and "invisible text layer" in (page.reason or "")
    assert "The archive keeps every issue of the paper." in page.markdown
    assert "arcbive" not in page.markdown


def test_invisible_layer_is_kept_when_ocr_is_off() -> None:
    data = scanned(ENGLISH, invisible="An earlier OCR layer that is all we have.")
    page = convert_document(src(data), ConvertOptions(ocr="never")).pages[0]
    assert page.method == "text" and "all we have" in page.markdown


def test_text_drawn_as_paths_is_read_by_ocr() -> None:
    source = text_page_pdf(ENGLISH * 3)
    svg = source[0].get_svg_image(text_as_path=True)
    outlined = pymupdf.open("svg", svg.encode())
    data = outlined.convert_to_pdf()
    page = convert_document(src(data)).pages[0]
    assert page.method == "ocr" and "paths" in (page.reason or "")
    assert "Readers ask for dates, names and exact wording." in page.markdown


BELOW_TEXT = pymupdf.Rect(72, 500, 522, 630)


def picture(doc: pymupdf.Document, where: pymupdf.Rect = BELOW_TEXT) -> None:
    """A picture of the words SPECIAL EDITION, placed at ``where`` (clear of the text)."""
    inset = text_page_pdf(("SPECIAL EDITION",), size=40)[0].get_pixmap(
        dpi=100, clip=pymupdf.Rect(60, 60, 560, 200)
    )
    doc[0].insert_image(where, pixmap=inset)


def test_picture_on_a_page_with_little_text_is_read() -> None:
    doc = text_page_pdf(ENGLISH)
    picture(doc)
    page = convert_document(src(doc.tobytes())).pages[0]
    assert page.method == "text" and "picture(s) without text" in (page.reason or "")
    assert "SPECIAL EDITION" in page.markdown and ENGLISH[0] in page.markdown


def test_pictures_on_a_page_of_running_text_are_left_alone() -> None:
    doc = text_page_pdf(ENGLISH * 7)
    picture(doc, pymupdf.Rect(72, 710, 522, 835))
    page = convert_document(src(doc.tobytes())).pages[0]
    assert (page.method, page.reason) == ("text", "text layer")
    assert "SPECIAL EDITION" not in page.markdown


def test_ocr_always_reads_even_digital_pages() -> None:
    data = text_page_pdf(ENGLISH).tobytes()
    page = convert_document(src(data), ConvertOptions(ocr="always")).pages[0]
    assert page.method == "ocr" and page.reason == "OCR requested for every page"
    assert ENGLISH[1] in page.markdown


def test_workers_keep_page_order_and_text() -> None:
    doc = pymupdf.open()
    for lines in (ENGLISH, FRENCH, ENGLISH[::-1]):
        doc.insert_pdf(pymupdf.open("pdf", scanned(lines)))
    data = doc.tobytes()
    one = convert_document(src(data), ConvertOptions(workers=1))
    two = convert_document(src(data), ConvertOptions(workers=2))
    assert [p.markdown for p in one.pages] == [p.markdown for p in two.pages]
    assert ENGLISH[2] in two.pages[2].markdown.split("\n\n")[0]


def test_missing_engine_leaves_the_page_needing_ocr() -> None:
    from pipeline.errors import EngineError
    from pipeline.ocr import base

    def broken(opts: ConvertOptions) -> object:
        raise EngineError("RapidOCR is not installed: pip install 'rapidocr>=3.4,<4'")

    with base.OCR_ENGINES.overridden(ConvertOptions().engine, broken):
        doc = convert_document(src(scanned(ENGLISH)))
    assert doc.status == "partial" and doc.pages[0].status == "needs_ocr"
    assert "pip install" in doc.errors[0].message and doc.errors[0].stage == "ocr"


def test_routing_a_digital_page_never_walks_its_display_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Routing must stay cheap on ordinary pages: no second pass over the content stream."""
    calls = []
    real = pymupdf.Page.get_bboxlog
    monkeypatch.setattr(pymupdf.Page, "get_bboxlog", lambda self: calls.append(1) or real(self))
    page = text_page_pdf(ENGLISH * 6)[0]
    route = route_page(page, read_text_layer(page), ConvertOptions())
    assert route.method == "text" and calls == []
    assert route_module  # the module under test
