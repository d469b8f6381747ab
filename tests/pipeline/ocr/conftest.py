"""Page images for OCR tests, drawn with PyMuPDF: real text, rendered like a scan."""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from pipeline.ocr.base import PageImage

FRENCH = (
    "Le cœur de l’élève a été déçu à Noël.",
    "La réforme des retraites sera débattue à l’Assemblée.",
    "Où est passée la fiancée du maître d’hôtel ?",
)
ENGLISH = (
    "The archive keeps every issue of the paper.",
    "Readers ask for dates, names and exact wording.",
    "Each answer cites the page it comes from.",
)


def text_page_pdf(lines: tuple[str, ...], *, rotate: int = 0, size: float = 14) -> pymupdf.Document:
    """A one-page PDF with ``lines`` set in a sans font, optionally shown rotated."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    # An HTML box picks a font with every glyph (the base-14 fonts lack "œ" and "’").
    html = "".join(f"<p>{line}</p>" for line in lines)
    css = f"p {{font-family: sans-serif; font-size: {size}pt; margin: 0 0 {size}pt 0;}}"
    page.insert_htmlbox(pymupdf.Rect(72, 90, 540, 700), html, css=css)
    if rotate:
        page.set_rotation(rotate)
    return doc


def page_image(lines: tuple[str, ...], *, rotate: int = 0, dpi: int = 150) -> PageImage:
    doc = text_page_pdf(lines, rotate=rotate)
    pix = doc[0].get_pixmap(dpi=dpi, alpha=False)
    pixels = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3).copy()
    return PageImage(pixels=pixels, dpi=dpi)


@pytest.fixture(scope="session")
def rapid_engine():
    """The default engine, loaded once (skipped with a reason when rapidocr is not installed)."""
    pytest.importorskip("rapidocr")
    from pipeline.ocr.rapid import RapidOcrEngine

    return RapidOcrEngine(threads=2, device="cpu")
