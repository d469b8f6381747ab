"""Page furniture: running headers and footers go, body text never does, nothing goes silently."""

from __future__ import annotations

import json

import pymupdf

from pipeline.convert import convert_document
from pipeline.convert.furniture import runs_on
from pipeline.convert.pdf_lines import TextLine
from pipeline.convert.provenance import provenance_json
from pipeline.models import ConvertOptions
from tests.pipeline.convert.test_convert import lines_at, make_pdf, source

# The first line of each page repeats (digits aside) at the top of every page, as a running
# header would, but it is the start of a paragraph that runs on below it.
OPENING = (
    "Bulletin 17 page {n}. The archive code of bulletin 17 is ZQX0171. Routine harbour",
    "notes follow for the week, with the tides, the berths taken and the cargoes landed at",
    "the north quay, as every week since the harbour office began to print its bulletin.",
)
MORE = (
    "The pilots reported calm water all week and no vessel waited more than an hour for a",
    "berth; the fishing fleet landed its catch at the south quay as the season allows.",
)


def bulletin_page(number: int, total: int) -> pymupdf.Page:  # type: ignore[return]
    def build(page: pymupdf.Page) -> None:
        # A true running header (set apart, smaller) and a page number in the footer.
        page.insert_text((72, 40), "HARBOUR OFFICE · REF HBX-2291", fontsize=8)
        y = lines_at(page, 72, [t.format(n=number) for t in OPENING])
        lines_at(page, y + 14, MORE)
        page.insert_text((300, 760), f"{number} / {total}", fontsize=8)

    return build  # type: ignore[return-value]


def three_bulletins() -> bytes:
    return make_pdf(*(bulletin_page(n, 3) for n in (1, 2, 3)))


def test_a_sentence_that_runs_on_is_never_a_running_header() -> None:
    doc = convert_document(source(three_bulletins(), "bulletin.pdf"))
    for page in doc.pages:
        assert "The archive code of bulletin 17 is ZQX0171." in page.markdown
        assert f"Bulletin 17 page {page.page}." in page.markdown
        assert not any("ZQX0171" in f.text for f in page.furniture)


def test_running_header_and_page_number_go_and_are_recorded_with_their_reason() -> None:
    doc = convert_document(source(three_bulletins(), "bulletin.pdf"))
    for page in doc.pages:
        assert "HBX-2291" not in page.markdown
        assert f"{page.page} / 3" not in page.markdown
        dropped = {f.text: f for f in page.furniture}
        header = dropped["HARBOUR OFFICE · REF HBX-2291"]
        assert header.reason and header.box.y1 < 50
        assert f"{page.page} / 3" in dropped
    sidecar = json.loads(provenance_json(doc))
    assert any(
        f["text"] == "HARBOUR OFFICE · REF HBX-2291" and f["reason"]
        for f in sidecar["pages"][1]["furniture"]
    )


def test_without_furniture_removal_nothing_is_dropped() -> None:
    doc = convert_document(source(three_bulletins()), ConvertOptions(remove_furniture=False))
    assert all(not page.furniture for page in doc.pages)
    assert "HBX-2291" in doc.pages[0].markdown


def _line(text: str, y0: float, size: float = 10.0, x0: float = 72.0) -> TextLine:
    return TextLine(text, x0, y0, x0 + 6 * len(text), y0 + size, size, False, 0)


def test_runs_on_needs_normal_leading_same_style_and_an_open_sentence() -> None:
    top = _line("Bulletin 17 page 2. The archive code is ZQX0171. Routine harbour", 70)
    below = _line("notes follow for the week, with the tides and the berths taken.", 82)
    assert runs_on(top, [top, below])
    ended = _line("Annual report of the harbour office.", 70)
    assert not runs_on(ended, [ended, below])  # the sentence ended: a heading may stand alone
    far = _line("notes follow for the week, with the tides and the berths taken.", 110)
    assert not runs_on(top, [top, far])  # a gap sets a header apart
    small = _line("notes follow for the week, with the tides and the berths taken.", 82, size=7)
    assert not runs_on(top, [top, small])
