"""Tests for the conversion stage, on small PDFs drawn with PyMuPDF in each test."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path

import pymupdf
import pytest

from pipeline.convert import CONVERTER_VERSION, convert_document, sniff_media_type
from pipeline.convert import pdf as pdf_module
from pipeline.convert.common import normalize_text, parse_date
from pipeline.convert.pdf_lines import join_texts
from pipeline.convert.pdf_tables import table_markdown
from pipeline.errors import DocumentLoadError
from pipeline.models import ConvertOptions, SourceDocument, SourceMetadata

PageBuilder = Callable[[pymupdf.Page], None]

BODY = (
    "The archive keeps every issue of the paper since its first edition and the staff reads",
    "them again when a question comes in from a reader or from a court that needs a date,",
    "a name or the exact wording of an article that was printed many years before today.",
)


def make_pdf(*pages: PageBuilder, metadata: dict[str, str] | None = None, **save: object) -> bytes:
    """A PDF with one page per builder (US Letter), saved to bytes with ``save`` options."""
    doc = pymupdf.open()
    for build in pages:
        build(doc.new_page(width=612, height=792))
    if metadata:
        doc.set_metadata(metadata)
    data = doc.tobytes(**save)
    doc.close()
    return data


def source(data: bytes, name: str = "doc.pdf", **meta: object) -> SourceDocument:
    return SourceDocument(uri=f"file:///archive/{name}", data=data, metadata=SourceMetadata(**meta))


def lines_at(
    page: pymupdf.Page, y: float, lines: tuple[str, ...] | list[str], **kw: object
) -> float:
    """Write ``lines`` one under another from ``y`` (helv 10pt, 12pt leading); return the next y."""
    x = float(kw.pop("x", 72))
    size = float(kw.pop("fontsize", 10))
    leading = float(kw.pop("leading", size * 1.2))
    for text in lines:
        page.insert_text((x, y), text, fontsize=size, **kw)
        y += leading
    return y


def body_page(page: pymupdf.Page) -> None:
    lines_at(page, 100, BODY)


# --- headings, paragraphs, lists -------------------------------------------------------------


def headings_page(page: pymupdf.Page) -> None:
    page.insert_text((72, 80), "Annual Report", fontsize=24, fontname="hebo")
    y = lines_at(page, 120, BODY)
    page.insert_text((72, y + 20), "Finances", fontsize=16, fontname="hebo")
    y = lines_at(page, y + 50, BODY)
    page.insert_text((72, y + 20), "Income and costs", fontsize=13, fontname="hebo")
    y = lines_at(page, y + 45, BODY)
    page.insert_text((72, y + 20), "Staff notes", fontsize=10, fontname="hebo")
    lines_at(page, y + 45, BODY)


def test_headings_get_levels_from_font_size() -> None:
    doc = convert_document(source(make_pdf(headings_page)))
    md = doc.pages[0].markdown
    assert "# Annual Report" in md.splitlines()
    assert "## Finances" in md.splitlines()
    assert "### Income and costs" in md.splitlines()
    # a bold line at body size standing alone is a heading of the lowest level
    assert "### Staff notes" in md.splitlines()
    heading_lines = [ln for ln in md.splitlines() if ln.startswith("#")]
    assert len(heading_lines) == 4
    assert doc.metadata.title == "Annual Report"


def test_bold_words_inside_a_paragraph_are_not_headings() -> None:
    def page(p: pymupdf.Page) -> None:
        lines_at(p, 100, BODY)
        html = "<p>" + " ".join(BODY) + " Some <b>bold words</b> appear here. " + BODY[0] + "</p>"
        p.insert_htmlbox(pymupdf.Rect(72, 200, 540, 400), html, css="* {font-size: 10pt;}")

    md = convert_document(source(make_pdf(page))).markdown
    assert not [ln for ln in md.splitlines() if ln.startswith("#")]
    assert "Some bold words appear here." in md


def test_paragraph_lines_are_joined_and_dehyphenated() -> None:
    def page(p: pymupdf.Page) -> None:
        lines_at(
            p,
            100,
            [
                "The archive holds the complete infor-",
                "mation on every case reported during the",
                "pandemic of COVID-",
                "19 and its aftermath in the region.",
            ],
        )
        lines_at(p, 200, ["A second paragraph starts after a gap."])

    md = convert_document(source(make_pdf(page))).pages[0].markdown
    paragraphs = md.split("\n\n")
    assert paragraphs[0] == (
        "The archive holds the complete information on every case reported during the "
        "pandemic of COVID-19 and its aftermath in the region."
    )
    assert paragraphs[1] == "A second paragraph starts after a gap."


def test_list_items_become_markdown_lists() -> None:
    def page(p: pymupdf.Page) -> None:
        y = lines_at(p, 100, ["Things to check before filing:"])
        y = lines_at(p, y + 10, ["- first point to check", "- second point to check"])
        lines_at(p, y + 10, ["1. number one", "2) number two", "a) letter item"])

    md = convert_document(source(make_pdf(page))).pages[0].markdown
    assert "- first point to check\n- second point to check" in md
    assert "1. number one\n2. number two\n- a) letter item" in md


def test_bullet_glyphs_become_list_items() -> None:
    def page(p: pymupdf.Page) -> None:
        html = "<ul><li>Premier point</li><li>Second point</li></ul>"
        p.insert_htmlbox(pymupdf.Rect(72, 100, 540, 300), html)

    md = convert_document(source(make_pdf(page))).markdown
    assert "- Premier point\n- Second point" in md


def test_monospaced_lines_become_a_code_block() -> None:
    def page(p: pymupdf.Page) -> None:
        y = lines_at(p, 100, BODY)
        lines_at(p, y + 10, ["SELECT name", "  FROM staff;"], fontname="cour")

    md = convert_document(source(make_pdf(page))).pages[0].markdown
    assert "```\nSELECT name\n  FROM staff;\n```" in md


# --- tables ----------------------------------------------------------------------------------


def table_page(page: pymupdf.Page) -> None:
    y = lines_at(page, 80, BODY)
    rows = [("Name", "Qty", "Note"), ("apple", "3", "red|green"), ("pear", "12", "ripe")]
    top, height, xs = y + 20, 20.0, (72.0, 200.0, 300.0, 450.0)
    for r in range(len(rows) + 1):
        page.draw_line((xs[0], top + r * height), (xs[-1], top + r * height))
    for x in xs:
        page.draw_line((x, top), (x, top + len(rows) * height))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            page.insert_text((xs[c] + 4, top + r * height + 14), cell, fontsize=10)
    lines_at(page, top + len(rows) * height + 30, ["Text after the table."])


def test_ruled_table_becomes_a_markdown_table_in_place() -> None:
    md = convert_document(source(make_pdf(table_page))).pages[0].markdown
    table = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert table == [
        "| Name | Qty | Note |",
        "| --- | --- | --- |",
        "| apple | 3 | red\\|green |",
        "| pear | 12 | ripe |",
    ]
    outside = "\n".join(ln for ln in md.splitlines() if not ln.startswith("|"))
    assert "apple" not in outside and "pear" not in outside
    # the table sits between the text above and the text below
    assert md.index(BODY[0][:20]) < md.index("| Name") < md.index("Text after the table.")


def test_tables_can_be_switched_off() -> None:
    md = convert_document(source(make_pdf(table_page)), ConvertOptions(tables=False)).markdown
    assert "|" not in md.replace("red|green", "")
    assert "apple" in md


def test_table_detection_failure_falls_back_to_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("grid exploded")

    monkeypatch.setattr(pdf_module, "find_tables", broken)
    monkeypatch.setattr(pdf_module, "find_text_tables", broken)
    monkeypatch.setattr(pdf_module, "model_tables", broken)  # the layout model's tables too
    doc = convert_document(source(make_pdf(table_page)))
    assert "apple" in doc.markdown and "| --- |" not in doc.markdown
    assert {(e.page, e.stage) for e in doc.errors} == {(1, "convert")}
    assert all("grid exploded" in e.message for e in doc.errors)


def test_table_markdown_needs_two_rows_and_two_columns() -> None:
    assert table_markdown([["only", "one row"]]) is None
    assert table_markdown([["a"], ["b"]]) is None
    assert (
        table_markdown([["h1", "", "h2"], ["x", None, "y"]])
        == "| h1 | h2 |\n| --- | --- |\n| x | y |"
    )


# --- pages, order, columns -------------------------------------------------------------------


def test_page_anchors_in_order_and_page_markdown_without_anchor() -> None:
    def page_with(text: str) -> PageBuilder:
        return lambda p: lines_at(p, 100, [text, *BODY])

    data = make_pdf(page_with("Page one text."), page_with("Page two text."), page_with("Third."))
    doc = convert_document(source(data))
    anchors = re.findall(r"<!-- page (\d+) -->", doc.markdown)
    assert anchors == ["1", "2", "3"]
    for n, marker in enumerate(["Page one text.", "Page two text.", "Third."], start=1):
        after = doc.markdown.split(f"<!-- page {n} -->", 1)[1].split("<!-- page", 1)[0]
        assert marker in after
        page = doc.pages[n - 1]
        assert page.page == n and page.method == "text" and page.status == "ok"
        assert "<!--" not in page.markdown and page.markdown.startswith(marker)
        assert (page.width, page.height) == (612, 792)
    assert doc.status == "ok" and doc.converter == CONVERTER_VERSION


def two_column_page(page: pymupdf.Page) -> None:
    page.insert_text((72, 70), "Two Column Story", fontsize=20, fontname="hebo")
    left = [f"Left column sentence number {i} goes on here." for i in range(1, 9)]
    right = [f"Right column sentence number {i} goes on." for i in range(1, 9)]
    lines_at(page, 110, left, x=50)
    lines_at(page, 110, right, x=320)


def test_two_columns_read_left_then_right() -> None:
    md = convert_document(source(make_pdf(two_column_page))).markdown
    positions = [md.index(f"Left column sentence number {i}") for i in range(1, 9)]
    positions += [md.index(f"Right column sentence number {i}") for i in range(1, 9)]
    assert positions == sorted(positions)
    assert md.index("# Two Column Story") < positions[0]


def test_text_outside_the_page_is_skipped() -> None:
    def page(p: pymupdf.Page) -> None:
        lines_at(p, 100, BODY)
        p.insert_text((72, 900), "Hidden below the page edge.", fontsize=10)

    md = convert_document(source(make_pdf(page))).markdown
    assert "Hidden" not in md and BODY[0][:30] in md


def test_rotated_page_keeps_all_its_text() -> None:
    def page(p: pymupdf.Page) -> None:
        lines_at(p, 100, BODY)
        lines_at(p, 700, ["Text near the bottom of the portrait page."])
        p.set_rotation(90)

    md = convert_document(source(make_pdf(page))).markdown
    assert BODY[0][:30] in md and "Text near the bottom" in md


# --- page states -----------------------------------------------------------------------------


def image_page(page: pymupdf.Page) -> None:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 60, 80), False)
    pix.set_rect(pix.irect, (200, 180, 160))
    page.insert_image(page.rect, pixmap=pix)


def test_image_only_page_needs_ocr_and_makes_the_document_partial() -> None:
    pdf = make_pdf(body_page, image_page, body_page)
    doc = convert_document(source(pdf), ConvertOptions(ocr="never"))
    assert doc.status == "partial"
    scanned = doc.pages[1]
    assert (scanned.status, scanned.method) == ("needs_ocr", "none")
    assert scanned.reason == "image-only page: needs OCR"
    assert [e.page for e in doc.errors] == [2]
    assert doc.errors[0].message == "page 2 has no text layer (image-only); OCR not enabled"
    assert doc.pages[0].status == doc.pages[2].status == "ok"
    assert "<!-- page 2 -->" in doc.markdown


def test_blank_page_is_empty_and_does_not_make_the_document_partial() -> None:
    doc = convert_document(source(make_pdf(body_page, lambda p: None)))
    assert doc.status == "ok" and not doc.errors
    assert doc.pages[1].status == "empty" and doc.pages[1].markdown == ""


def test_a_failing_page_is_recorded_and_the_rest_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pdf_module.read_text_layer

    def flaky(page: pymupdf.Page, textpage: object = None) -> object:
        if page.number == 1:
            raise ValueError("bad content stream")
        return real(page, textpage)

    monkeypatch.setattr(pdf_module, "read_text_layer", flaky)
    doc = convert_document(source(make_pdf(body_page, body_page)))
    assert doc.status == "partial"
    assert [p.status for p in doc.pages] == ["ok", "failed"]
    assert doc.errors[0].page == 2 and "bad content stream" in doc.errors[0].message


def test_every_page_failing_fails_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> object:
        raise ValueError("nothing readable")

    monkeypatch.setattr(pdf_module, "read_text_layer", broken)
    doc = convert_document(source(make_pdf(body_page, body_page)))
    assert doc.status == "failed" and len(doc.errors) == 2


# --- bad input -------------------------------------------------------------------------------


def load_error(data: bytes, name: str = "bad.pdf") -> str:
    with pytest.raises(DocumentLoadError) as info:
        convert_document(source(data, name))
    return str(info.value)


def test_encrypted_pdf_needs_a_password() -> None:
    data = make_pdf(body_page, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="x", owner_pw="y")
    assert "encrypted PDF: a password is required" in load_error(data)


def test_pdf_encrypted_with_an_empty_user_password_converts() -> None:
    data = make_pdf(body_page, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="", owner_pw="y")
    assert BODY[0][:30] in convert_document(source(data)).markdown


def test_corrupt_pdf_is_refused() -> None:
    assert "corrupt" in load_error(b"%PDF-1.7\n" + os.urandom(2000))


def test_random_bytes_named_pdf_are_not_a_pdf() -> None:
    assert "not a PDF" in load_error(os.urandom(2000))


def test_text_named_pdf_is_not_a_pdf() -> None:
    message = load_error(b"Dear reader, this is a letter.", "letter.pdf")
    assert message == "letter.pdf: not a PDF (the file does not start with %PDF-)"


def test_empty_file_is_refused() -> None:
    assert "empty file (0 bytes)" in load_error(b"")


def test_truncated_pdf_without_readable_content_is_refused() -> None:
    data = make_pdf(body_page)
    cut = data[: data.index(b"stream")]  # the cut falls before any page content
    assert "truncated PDF: no readable content" in load_error(cut)


def test_truncated_pdf_keeps_what_survived_and_says_so() -> None:
    data = make_pdf(
        *(lambda p, i=i: lines_at(p, 100, [f"Page {i} text.", *BODY]) for i in range(6))
    )
    doc = convert_document(source(data[: len(data) // 2]))
    assert doc.status == "partial"
    assert "truncated PDF" in doc.errors[0].message and doc.errors[0].page is None
    assert "Page 0 text." in doc.markdown


def test_unsupported_type_names_the_supported_ones() -> None:
    message = load_error(b"PK\x03\x04 zip data", "report.docx")
    assert "unsupported media type 'application/octet-stream'" in message
    assert "application/pdf, text/markdown, text/plain" in message


def test_sniffing_trusts_bytes_over_names() -> None:
    assert sniff_media_type(source(make_pdf(body_page), "scan.bin")) == "application/pdf"
    assert sniff_media_type(source(b"# Title", "notes.markdown")) == "text/markdown"
    assert sniff_media_type(source(b"plain", "notes.TXT")) == "text/plain"


# --- metadata and text -----------------------------------------------------------------------


def test_pdf_metadata_fills_title_and_date() -> None:
    meta = {"title": "Rapport annuel", "creationDate": "D:19830512093000+01'00'"}
    doc = convert_document(source(make_pdf(body_page, metadata=meta)))
    assert doc.metadata.title == "Rapport annuel"
    assert doc.metadata.date == dt.date(1983, 5, 12)
    assert doc.metadata.language == "en"


def test_source_metadata_wins_over_the_pdf() -> None:
    meta = {"title": "From the PDF", "creationDate": "D:19830512"}
    src = source(make_pdf(body_page, metadata=meta), title="From the connector", language="fr")
    doc = convert_document(src)
    assert doc.metadata.title == "From the connector"
    assert doc.metadata.date == dt.date(1983, 5, 12)
    assert doc.metadata.language == "fr"


def test_title_falls_back_to_the_file_name() -> None:
    doc = convert_document(source(make_pdf(body_page), "minutes-1987.pdf"))
    assert doc.metadata.title == "minutes-1987"


def test_french_accents_and_ligatures_survive() -> None:
    text = "Le cœur de l’élève a été déçu à Noël ; où est la fiancée ? Ça va."

    def page(p: pymupdf.Page) -> None:
        html = f"<p>{text} Le gouvernement a annoncé une réforme des retraites pour les élèves.</p>"
        p.insert_htmlbox(pymupdf.Rect(72, 100, 540, 300), html)

    doc = convert_document(source(make_pdf(page)))
    assert text in doc.markdown
    assert doc.metadata.language == "fr"


def test_text_helpers_normalise() -> None:
    assert normalize_text("e\u0301te\u0301 \ufb01n  \ufb02eur") == "été fin fleur"
    assert join_texts(["vingt-", "Trois", "infor-", "mation"]) == "vingt-Trois information"
    assert parse_date("1987") == dt.date(1987, 1, 1)
    assert parse_date("19830512093000") == dt.date(1983, 5, 12)
    assert parse_date("not a date") is None


def test_markdown_front_matter_fills_metadata() -> None:
    text = (
        "---\ntitle: Le procès\ndate: 1987-03-02\nlanguage: fr\nsource: Le Monde\n"
        "collection: presse\n---\n# Autre titre\n\nLe tribunal a rendu son verdict.\n"
    )
    doc = convert_document(source(text.encode(), "proces.md"))
    meta = doc.metadata
    assert (meta.title, meta.date, meta.language) == ("Le procès", dt.date(1987, 3, 2), "fr")
    assert (meta.source, meta.collection) == ("Le Monde", "presse")
    assert doc.markdown == "<!-- page 1 -->\n# Autre titre\n\nLe tribunal a rendu son verdict.\n"
    assert doc.pages[0].markdown.startswith("# Autre titre")
    assert doc.media_type == "text/markdown" and doc.status == "ok"


def test_front_matter_year_only_and_source_wins() -> None:
    text = "---\ntitle: From file\ndate: 1987\n---\nBody text here.\n"
    doc = convert_document(source(text.encode(), "a.md", title="From connector"))
    assert doc.metadata.title == "From connector"
    assert doc.metadata.date == dt.date(1987, 1, 1)


def test_invalid_front_matter_is_a_load_error() -> None:
    message = load_error(b"---\ntitle: [unclosed\n---\nBody\n", "bad.md")
    assert message.startswith("invalid YAML front matter")


def test_empty_text_documents_are_refused() -> None:
    assert "empty document" in load_error(b"  \n\t\n", "blank.txt")
    assert "empty document" in load_error(b"", "blank.md")


def test_plain_text_keeps_paragraphs_and_decodes_legacy_encodings() -> None:
    data = "Première ligne.\r\n\r\nDeuxième paragraphe, café.\r\n".encode("cp1252")
    doc = convert_document(source(data, "note.txt"))
    assert doc.pages[0].markdown == "Première ligne.\n\nDeuxième paragraphe, café."
    assert doc.metadata.title == "note" and doc.media_type == "text/plain"
    bom = convert_document(source("\ufeff# Été\n\nTexte.".encode(), "bom.md"))
    assert bom.metadata.title == "Été"


def test_path_and_data_sources_convert_alike(tmp_path: Path) -> None:
    data = make_pdf(headings_page)
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    from_path = convert_document(SourceDocument(uri=path.as_uri(), path=path))
    from_data = convert_document(SourceDocument(uri=path.as_uri(), data=data))
    assert from_path.markdown == from_data.markdown
    assert from_path.doc_id == from_data.doc_id
