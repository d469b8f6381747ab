"""Reading order and tables around a sidebar (an infobox beside the main text)."""

from __future__ import annotations

import re

import pymupdf

from pipeline.convert import convert_document
from tests.pipeline.convert.test_convert import lines_at, make_pdf, source

MAIN = [
    "The old mill by the river was built in the twelfth",
    "century and it ground the grain of four villages for",
    "more than six hundred years before the new road came",
    "and the carts went to the town instead of the river.",
    "The monks who owned it kept careful books of every",
    "sack that was brought to the stones and of the fees",
    "they took, and those books are still read today by",
    "people who study the prices and harvests of the age",
    "because no other record of the valley is so complete",
    "and so regular over such a long span of years, and",
    "copied so faithfully by the clerks of the abbey, that",
    "historians have described the building as a ledger",
]
TAIL = "in stone as much as a mill, and they still visit it each summer with their students."
INFOBOX = [
    ("Built", ["about 1150, by the abbey"]),
    ("Owners", ["Abbey of Saint Paul", "The Crown (from 1540)", "The village council"]),
    ("Closed", ["June 1874, after a flood"]),
    ("Material", ["Limestone and oak beams"]),
    ("River", ["Avon, east bank of the ford", "fed by a mill race", "dug about 1300"]),
]


def infobox_page(p: pymupdf.Page) -> None:
    p.insert_text((40, 60), "The Old Mill", fontsize=22, fontname="hebo")
    y = lines_at(p, 100, MAIN, x=40, fontsize=11, leading=15)
    p.insert_text((420, 100), "Old Mill", fontsize=12, fontname="hebo")
    lines_at(
        p,
        116,
        ["The mill seen from the bridge", "in a drawing of the year 1890"],
        x=370,
        fontsize=9,
    )
    row = 150.0
    for label, values in INFOBOX:
        p.insert_text((350, row), label, fontsize=9, fontname="hebo")
        row = lines_at(p, row, values, x=430, fontsize=9, leading=12) + 2
    assert row < y  # the box ends above the main column's last line
    p.insert_text((40, y), TAIL, fontsize=11)


def test_text_wrapped_around_an_infobox_is_read_before_it() -> None:
    md = convert_document(source(make_pdf(infobox_page))).pages[0].markdown
    # The sentence that runs on under the box stays one paragraph with the column above it.
    assert f"{MAIN[-1]} {TAIL}" in md
    assert md.index(TAIL) < md.index("Built") < md.index("Limestone")


def test_infobox_labels_stay_beside_their_values() -> None:
    md = convert_document(source(make_pdf(infobox_page))).pages[0].markdown
    cells = r"\s*(?:</td><td>|\|)\s*"
    for label, values in INFOBOX:
        assert re.search(label + cells + re.escape(values[0]), md), (label, md)
    # A value wrapped onto lines of its own belongs to the label above it, not to a new one.
    assert md.index("Owners") < md.index("The Crown") < md.index("Closed")


def test_even_columns_are_read_left_then_right_then_the_line_below() -> None:
    right = [f"second column line {i} of the same article about the mill" for i in range(11)]

    def page(p: pymupdf.Page) -> None:
        y = lines_at(p, 100, MAIN, x=40, fontsize=11, leading=15)
        lines_at(p, 100, right, x=320, fontsize=11, leading=15)
        p.insert_text((40, y), TAIL, fontsize=11)

    md = convert_document(source(make_pdf(page))).pages[0].markdown
    # The right column is as wide as the left: the left column's last line hands on to it,
    # not to the full-width line under both.
    order = [md.index(MAIN[-1]), md.index(right[0]), md.index(right[-1]), md.index(TAIL)]
    assert order == sorted(order)
