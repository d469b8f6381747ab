"""Cited pages as images: ``page_image`` on every citation, the PNG route with its key and
collection checks, the text view of Markdown sources, and the bounded cache."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

import openai
import pymupdf
import pytest

from api.page_images import (
    PageImageCache,
    PageUnavailable,
    page_image_url,
    page_markdown,
    page_size,
    render_page,
    render_pdf_page,
    with_page_size,
)
from pipeline.models import DocumentRecord
from tests.api.conftest import ADMIN_KEY, FLOOD, HEAT, STRIKE, WIRE_KEY, Api

HEAT_QUESTION = "Quelle température record a été relevée à Lorvennes en 2003 ?"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_rendered_pdf_page_is_bounded_and_says_its_size(write_pdf: Callable[..., Path]) -> None:
    pdf = write_pdf("two.pdf", ["<p>First page.</p>", "<p>Second page.</p>"]).read_bytes()
    image = render_pdf_page(pdf, 2, max_px=600)
    assert image.png.startswith(PNG_SIGNATURE)
    assert _png_size(image.png)[0] == 600  # an A4 page is taller than wide: width bounds it
    assert (round(image.width_pt), round(image.height_pt)) == (595, 842)
    assert page_size(image.png[:256]) == pytest.approx((595.0, 842.0), abs=0.01)
    with pytest.raises(PageUnavailable, match="2 pages, not 3"):
        render_pdf_page(pdf, 3, max_px=600)
    # the extra chunk keeps the PNG valid: PyMuPDF reads it back at the same size
    assert pymupdf.Pixmap(image.png).width == 600


def test_page_size_chunk_round_trips() -> None:
    doc = pymupdf.open()
    doc.new_page(width=200, height=100)
    png = doc[0].get_pixmap().tobytes("png")
    assert page_size(png) is None
    assert page_size(with_page_size(png, 612, 792.5)) == (612.0, 792.5)


def test_text_sources_get_a_text_view() -> None:
    markdown = "<!-- page 1 -->\n# Notes\n\nFirst.\n<!-- page 2 -->\nSecond page, **bold**.\n"
    assert page_markdown(markdown, 2) == "Second page, **bold**."
    assert page_markdown("No anchors here.", 1) == "No anchors here."
    record = DocumentRecord(
        doc_id="d", uri="/nowhere/notes.md", media_type="text/markdown", pages=2, markdown=markdown
    )
    image = render_page(record, 2, uploads_dir=None, max_px=400)
    assert image.png.startswith(PNG_SIGNATURE) and _png_size(image.png)[0] == 400
    text = pymupdf.open("png", image.png)  # an image: its text is not extractable, but drawn
    assert text.page_count == 1
    with pytest.raises(PageUnavailable, match="no page 3"):
        render_page(record, 3, uploads_dir=None, max_px=400)


def test_a_pdf_whose_file_changed_or_went_is_unavailable(
    write_pdf: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_pdf("gone.pdf", ["<p>Text.</p>"])
    record = DocumentRecord(doc_id="0" * 64, uri=str(path), media_type="application/pdf", pages=1)
    with pytest.raises(PageUnavailable, match="changed since it was indexed"):
        render_page(record, 1, uploads_dir=None, max_px=300)
    remote = record.model_copy(update={"uri": "s3://bucket/gone.pdf"})
    with pytest.raises(PageUnavailable, match="not on this server"):
        render_page(remote, 1, uploads_dir=None, max_px=300)


def test_cache_drops_the_least_recently_used(tmp_path: Path) -> None:
    cache = PageImageCache(tmp_path / "cache", max_bytes=3500)
    for name in ("a", "b", "c"):
        cache.put(cache.key(name, 1, 100), bytes(1000))
        path = tmp_path / "cache" / cache.key(name, 1, 100)
        os.utime(path, (1000 + ord(name), 1000 + ord(name)))  # a, b, c: oldest first
    assert cache.get(cache.key("a", 1, 100)) == bytes(1000)  # a is used again: now the newest
    cache.put(cache.key("d", 1, 100), bytes(1000))
    kept = sorted(p.name.split("-")[0] for p in (tmp_path / "cache").glob("*.png"))
    assert kept == ["a", "c", "d"]  # b, the least recently used, went: 3000 bytes are left
    cache.drop("a")
    assert cache.get(cache.key("a", 1, 100)) is None


def test_page_image_url_is_spelled_once() -> None:
    assert page_image_url("abc", 3) == "/v1/documents/abc/pages/3.png"
    assert (
        page_image_url("abc", 3, base_url="http://h:1/")
        == "http://h:1/v1/documents/abc/pages/3.png"
    )


@pytest.mark.integration
@pytest.mark.slow
def test_citations_carry_page_images_served_under_the_key(api: Api) -> None:
    with api.client() as c:
        body = c.post("/v1/ask", json={"question": HEAT_QUESTION}).json()
        streamed = c.post("/v1/ask", json={"question": HEAT_QUESTION, "stream": True}).text
        citation = next(x for x in body["citations"] if x["doc_id"] == api.doc_ids[HEAT])
        url = citation["page_image"]
        assert url == f"{api.url}/v1/documents/{api.doc_ids[HEAT]}/pages/1.png"
        assert url in streamed  # the streamed `done` event carries the same citations
        first = c.get(url)
        again = c.get(url)
        not_modified = c.get(url, headers={"If-None-Match": first.headers["ETag"]})
        past_the_end = c.get(url.replace("/pages/1.png", "/pages/9.png"))
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert first.content.startswith(PNG_SIGNATURE) and again.content == first.content
    assert _png_size(first.content)[0] == 1200
    assert float(first.headers["X-Page-Width"]) == pytest.approx(595, abs=1)
    assert "private" in first.headers["Cache-Control"]
    assert not_modified.status_code == 304
    assert past_the_end.status_code == 404
    cached = list((api.db / "page-images").glob(f"{api.doc_ids[HEAT]}-p1-*.png"))
    assert len(cached) == 1
    # the regions are boxes in the page's points: inside the page the image shows
    for region in citation["regions"]:
        assert 0 <= region["box"]["x0"] < region["box"]["x1"] <= 596


@pytest.mark.integration
@pytest.mark.slow
def test_page_images_follow_the_document_checks(api: Api) -> None:
    press_page = f"/v1/documents/{api.doc_ids[STRIKE]}/pages/1.png"
    wire_page = f"/v1/documents/{api.doc_ids[FLOOD]}/pages/1.png"
    with api.client(key=None) as anonymous, api.client(key=WIRE_KEY) as wire:
        assert anonymous.get(press_page).status_code == 401
        outside = wire.get(press_page)
        assert outside.status_code == 404  # exactly like a document that does not exist
        assert wire.get(wire_page).status_code == 200
        assert wire.get(f"/v1/documents/{'0' * 64}/pages/1.png").status_code == 404
        assert wire.get(wire_page.replace("/1.png", "/0.png")).status_code == 422


@pytest.mark.integration
@pytest.mark.slow
def test_chat_facade_citations_carry_page_images(api: Api) -> None:
    client = openai.OpenAI(base_url=api.url + "/v1", api_key=ADMIN_KEY)
    reply = client.chat.completions.create(
        model="archivist", messages=[{"role": "user", "content": HEAT_QUESTION}]
    )
    citations = (reply.model_extra or {})["citations"]
    assert citations and all(
        c["page_image"].startswith(f"{api.url}/v1/documents/{c['doc_id']}/pages/")
        for c in citations
    )
    chunks = list(
        client.chat.completions.create(
            model="archivist", messages=[{"role": "user", "content": HEAT_QUESTION}], stream=True
        )
    )
    final = [ch for ch in chunks if (ch.model_extra or {}).get("citations")]
    assert final and (final[0].model_extra or {})["citations"] == citations
