"""Fixtures shared by every test package: the real default embedder, generated PDFs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = REPO / "sample_docs"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def embedder():
    """The real default embedder (USE multilingual, numpy), loaded once per test run."""
    from pipeline.embed import make_embedder
    from pipeline.models import EmbedOptions

    return make_embedder(EmbedOptions())


@pytest.fixture
def write_pdf(tmp_path: Path) -> Callable[..., Path]:
    """Write a PDF whose pages hold the given texts (one string per page), with metadata."""
    import pymupdf

    def make(
        name: str, pages: list[str], *, title: str | None = None, date: str | None = None
    ) -> Path:
        doc = pymupdf.open()
        for text in pages:
            page = doc.new_page()
            page.insert_htmlbox(pymupdf.Rect(50, 50, 550, 800), text)
        meta = {}
        if title:
            meta["title"] = title
        if date:
            meta["creationDate"] = f"D:{date.replace('-', '')}090000Z"
        doc.set_metadata(meta)
        path = tmp_path / name
        doc.save(path)
        doc.close()
        return path

    return make
