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


STAMP = "Downloaded from https://journals.example.org/doi/JHS-7731 by guest on 12 July 2017"


def stamped_page(page: pymupdf.Page) -> None:
    """A page of body text with a publisher's download stamp up its left margin."""
    lines_at(page, 72, [" ".join(MORE)[:90], " ".join(MORE)[90:]] * 6)
    page.insert_text((30, 640), STAMP, fontsize=7, rotate=90)


def sideways_page(page: pymupdf.Page) -> None:
    """A page printed sideways (a wide table turned on the sheet) with an upright folio."""
    for i in range(12):
        page.insert_text((80 + 14 * i, 700), f"Row {i}: tonnage landed at the north quay {i * 7}",
                         fontsize=10, rotate=90)  # fmt: skip
    page.insert_text((290, 770), "Folio 9 of 12", fontsize=8)


def test_text_in_another_direction_is_left_out_and_listed_with_its_reason() -> None:
    doc = convert_document(source(make_pdf(stamped_page, sideways_page), "stamped.pdf"))
    stamped, sideways = doc.pages
    assert "JHS-7731" not in stamped.markdown and "pilots reported" in stamped.markdown
    stamp = next(f for f in stamped.furniture if "JHS-7731" in f.text)
    assert "direction" in stamp.reason
    assert stamp.box.x1 < 72 and stamp.box.y1 - stamp.box.y0 > 200  # up the left margin
    assert "Row 11: tonnage landed" in sideways.markdown and "Folio" not in sideways.markdown
    folio = next(f for f in sideways.furniture if f.text == "Folio 9 of 12")
    assert "direction" in folio.reason
    assert folio.box.x1 <= 792 and folio.box.y1 <= 612  # in the frame of the page turned upright
    sidecar = json.loads(provenance_json(doc))
    assert any("JHS-7731" in f["text"] for f in sidecar["pages"][0]["furniture"])


def ruled_table_with_rotated_headers(page: pymupdf.Page) -> None:
    """A ruled table whose column headers are printed vertically, as narrow columns often are."""
    xs, ys = [72, 252, 312, 372, 432], [100, 190, 215, 240, 265]
    for x in xs:
        page.draw_line((x, ys[0]), (x, ys[-1]))
    for y in ys:
        page.draw_line((xs[0], y), (xs[-1], y))
    page.insert_text((80, 150), "Harbour office action", fontsize=9)
    for x, head in zip(xs[1:-1], ["PILOTS", "CUSTOMS", "QUAYMASTER"], strict=True):
        page.insert_text((x + 34, 185), head, fontsize=9, rotate=90)
    for row, y in enumerate(ys[1:-1]):
        page.insert_text((80, y + 16), f"Berth request {row + 1}", fontsize=9)
        for x in xs[1:-1]:
            page.insert_text((x + 26, y + 16), "X", fontsize=9)
    lines_at(page, 300, MORE)  # the page goes on below the table


def test_rotated_text_read_into_a_table_is_not_listed_as_set_aside() -> None:
    doc = convert_document(source(make_pdf(ruled_table_with_rotated_headers), "table.pdf"))
    page = doc.pages[0]
    assert "| Harbour office action | PILOTS | CUSTOMS | QUAYMASTER |" in page.markdown
    assert not any(head in f.text for f in page.furniture for head in ("PILOTS", "QUAYMASTER"))
