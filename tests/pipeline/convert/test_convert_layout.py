"""Layout rules beyond the basics: page furniture, tables without rules, grids of boxes,
accents drawn apart, words without spaces, text set sideways, provenance."""

from __future__ import annotations

from collections.abc import Sequence

import pymupdf

from pipeline.chunk import chunk_markdown
from pipeline.convert import convert_document
from pipeline.convert.common import normalize_text
from pipeline.convert.furniture import is_page_number
from pipeline.convert.provenance import attach_regions, provenance
from pipeline.models import ConvertOptions
from tests.pipeline.convert.test_convert import BODY, lines_at, make_pdf, source


def article_page(n: int, *, title: str | None = None) -> object:
    def build(p: pymupdf.Page) -> None:
        p.insert_text((72, 40), "Annual Report 1987 — Meridien Press Archive", fontsize=8)
        if title:
            p.insert_text((72, 90), title, fontsize=20, fontname="hebo")
        lines_at(p, 130, [f"Page {n} story: {BODY[0]}", *BODY, *BODY])
        p.insert_text((300, 770), str(n), fontsize=9)

    return build


def test_running_headers_and_page_numbers_go_titles_stay() -> None:
    doc = convert_document(
        source(
            make_pdf(
                *(article_page(n, title="Harbour strike" if n == 1 else None) for n in (1, 2, 3, 4))
            )
        )
    )
    md = doc.markdown
    assert "Annual Report 1987" not in md
    assert "# Harbour strike" in md.splitlines()
    for n in (1, 2, 3, 4):
        page = doc.pages[n - 1].markdown
        assert page.startswith(("# Harbour strike", f"Page {n} story")) and not page.endswith(
            f"\n{n}"
        )
    assert "1987" not in md.replace("Page", "")  # only the header held the year


def test_furniture_can_be_kept() -> None:
    pdf = make_pdf(*(article_page(n) for n in (1, 2, 3)))
    md = convert_document(source(pdf), ConvertOptions(remove_furniture=False)).markdown
    assert md.count("Annual Report 1987") == 3


def test_single_page_number_goes_but_a_year_in_the_text_stays() -> None:
    def page(p: pymupdf.Page) -> None:
        y = lines_at(p, 100, BODY)
        lines_at(p, y + 20, ["The strike of 1983 closed the port for a month."])
        p.insert_text((300, 500), "12", fontsize=10)

    md = convert_document(source(make_pdf(page))).markdown
    assert "1983" in md and not md.rstrip().endswith("12")
    assert [is_page_number(t) for t in ("- 4 -", "Page 2 of 9", "xii", "Chapter 3")] == [
        True,
        True,
        True,
        False,
    ]


def statement_page(p: pymupdf.Page) -> None:
    y = lines_at(p, 80, BODY)
    p.insert_text((330, y + 20), "Year Ended", fontsize=9)
    cols = (260.0, 340.0, 420.0)
    for x, year in zip(cols, ("2025", "2024", "2023"), strict=True):
        p.insert_text((x, y + 34), year, fontsize=9)
    rows = [
        ("Cost of revenue", "178", "141", "138"),
        ("Research and development", "3,423", "2,532", "1,892"),
        ("Sales, general and administrative", "1,136", "876", "680"),
        ("Total", "4,737", "3,549", "2,710"),
    ]
    for r, (label, *values) in enumerate(rows):
        yy = y + 50 + 14 * r
        p.insert_text((72, yy), label, fontsize=9)
        for x, value in zip(cols, values, strict=True):
            p.insert_text((x + 20 - 4.5 * len(value), yy), value, fontsize=9)
    lines_at(p, y + 130, ["Figures are unaudited."])


def test_table_without_rules_becomes_a_table_with_a_spanning_header() -> None:
    md = convert_document(source(make_pdf(statement_page))).pages[0].markdown
    assert '<th colspan="3">Year Ended</th>' in md
    assert (
        "<tr><td>Research and development</td><td>3,423</td><td>2,532</td><td>1,892</td></tr>" in md
    )
    assert md.index(BODY[0][:30]) < md.index("<table>") < md.index("Figures are unaudited.")
    assert "Figures are unaudited." not in md[md.index("<table>") : md.index("</table>")]


def test_two_columns_of_prose_are_not_a_table() -> None:
    def page(p: pymupdf.Page) -> None:
        lines_at(p, 100, [f"{BODY[0][:40]} {i}" for i in range(12)], x=50)
        lines_at(p, 100, [f"{BODY[1][:40]} {i}" for i in range(12)], x=320)

    md = convert_document(source(make_pdf(page))).markdown
    assert "<table>" not in md and "| --- |" not in md


def test_grid_of_boxes_reads_row_by_row() -> None:
    def page(p: pymupdf.Page) -> None:
        for row, y in enumerate((100.0, 300.0)):
            for col, x in enumerate((60.0, 330.0)):
                n = 2 * row + col + 1
                p.insert_text((x, y), f"{n}. Card number {n}", fontsize=13, fontname="hebo")
                lines_at(
                    p, y + 24, [f"Card {n} explains one formula in a few words", "and ends."], x=x
                )

    md = convert_document(source(make_pdf(page))).markdown
    order = [md.index(f"Card number {n}") for n in (1, 2, 3, 4)]
    assert order == sorted(order)


def test_accents_drawn_apart_are_put_back() -> None:
    assert normalize_text("J´an Min´aˇc and caf´e, don´t") == "Ján Mináč and café, don´t"


def test_words_set_without_spaces_are_separated() -> None:
    def page(p: pymupdf.Page) -> None:
        x = 72.0
        font = pymupdf.Font("helv")
        for word in ["Composition", "of", "the", "pretraining", "data", "for", "the", "model"]:
            p.insert_text((x, 100), word, fontsize=10)
            x += font.text_length(word, fontsize=10) + 1.2  # kerning, no space glyph
        lines_at(p, 130, BODY)

    md = convert_document(source(make_pdf(page))).markdown
    assert "Composition of the pretraining data for the model" in md


def test_text_set_sideways_is_read_upright() -> None:
    def page(p: pymupdf.Page) -> None:
        for i, text in enumerate(BODY):
            p.insert_text((100 + 14 * i, 700), text, fontsize=10, rotate=90)

    result = convert_document(source(make_pdf(page))).pages[0]
    assert result.rotation == 90
    assert " ".join(BODY) in result.markdown


def test_blocks_and_chunks_carry_their_page_regions() -> None:
    def page(p: pymupdf.Page) -> None:
        p.insert_text((72, 80), "Harbour strike", fontsize=20, fontname="hebo")
        lines_at(p, 400, BODY)

    doc = convert_document(source(make_pdf(page, page)))
    blocks = doc.pages[1].blocks
    assert [b.kind for b in blocks] == ["heading", "paragraph"]
    heading, para = blocks
    assert 60 < heading.box.y1 < 90 and 380 < para.box.y0 < 400 and para.box.x0 >= 71
    data = provenance(doc)
    assert data["pages"][1]["blocks"][0]["kind"] == "heading"  # type: ignore[index]
    chunks = attach_regions(doc, chunk_markdown(doc))
    regions = [r for c in chunks for r in c.regions]
    assert {r.page for r in regions} == {1, 2}
    assert any(r.box == para.box for r in regions)


LEFT = (
    "The harbour office of the small town prints a bulletin",
    "every week for the pilots and the fishing fleet, with",
    "the tides, the berths taken and the cargoes landed. In",
    "winter the bulletin also lists the storms and the infor-",
)
RIGHT = (
    "mation the coastguard sends about wrecks and buoys",
    "that were moved, which the skippers read with care.",
    "The office keeps every issue since the first one and",
    "answers the questions of readers about old notices.",
)


def two_columns_page(page: pymupdf.Page) -> None:
    page.insert_text((60, 60), "Harbour notes", fontsize=16)
    for i, (left, right) in enumerate(zip(LEFT, RIGHT, strict=True)):
        page.insert_text((60, 100 + i * 12), left, fontsize=9)
        page.insert_text((320, 100 + i * 12), right, fontsize=9)


def test_a_sentence_and_a_hyphenated_word_run_on_from_one_column_to_the_next() -> None:
    md = convert_document(source(make_pdf(two_columns_page))).pages[0].markdown
    assert "the storms and the information the coastguard sends" in md
    assert "infor-" not in md
    # a sentence that ends at the foot of a column does not pull the next column in
    closed = [*LEFT[:3], "winter the bulletin also lists the storms of the year."]
    md = convert_document(source(make_pdf(lambda p: _columns(p, closed, RIGHT)))).pages[0].markdown
    assert "storms of the year.\n\nmation" in md


def _columns(page: pymupdf.Page, left: Sequence[str], right: Sequence[str]) -> None:
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        page.insert_text((60, 100 + i * 12), a, fontsize=9)
        page.insert_text((320, 100 + i * 12), b, fontsize=9)
