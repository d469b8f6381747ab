"""Per-document limits: a document over one fails with the limit named (stage ``limits``), the
others of its batch go in, and a raised limit lets it in on the next run (issue: an 11 KB
upload expanded to 1,072 chunks and 72 s of work while every other upload waited)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pymupdf
import pytest

from pipeline.archive import Archive
from pipeline.models import LimitOptions, SourceDocument
from pipeline.settings import Settings

TEXT = "The harbour ledger lists crates, tides and mills of Port-Aurèle. " * 60


def _bomb(path: Path, pages: int) -> Path:
    """A small PDF whose pages all draw one compressed content stream: a few KB of file,
    a great deal of text."""
    doc = pymupdf.open()
    for _ in range(pages):
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(20, 20, 590, 820), TEXT, fontsize=4)
    path.write_bytes(doc.tobytes(deflate=True, garbage=4))
    return path


def _archive(tmp_path: Path, embedder: object, **limits: object) -> Archive:
    archive = Archive(Settings(db=str(tmp_path / "idx"), limits=LimitOptions(**limits)).options())  # type: ignore[arg-type]
    archive.__dict__["embedder"] = embedder
    return archive


def _src(path: Path) -> SourceDocument:
    return SourceDocument(uri=str(path), path=path)


def test_an_expansion_bomb_fails_with_its_reason_under_default_limits(
    tmp_path: Path, embedder: object
) -> None:
    bomb = _bomb(tmp_path / "bomb.pdf", 120)
    assert bomb.stat().st_size < 20_000
    archive = _archive(tmp_path, embedder)
    (result,) = archive.ingest([_src(bomb)])
    assert result.action == "failed" and result.errors[0].stage == "limits"
    assert "per byte" in result.reason and "limits.max_chars_per_byte" in result.reason
    assert archive.store.chunks.count_rows() == 0


@pytest.mark.parametrize(
    "limits, reason",
    [
        ({"max_pages": 3}, "5 pages is over the limit of 3 pages (limits.max_pages)"),
        ({"max_chunks": 2}, "is over the limit of 2 (limits.max_chunks)"),
        ({"max_chars": 1000}, "is over the limit of 1000 (limits.max_chars)"),
        ({"max_seconds": 1e-6}, "(limits.max_seconds)"),
    ],
)
def test_each_limit_fails_only_its_document(
    tmp_path: Path,
    embedder: object,
    write_pdf: Callable[..., Path],
    limits: dict[str, object],
    reason: str,
) -> None:
    big = write_pdf("big.pdf", [f"<p>{TEXT}</p>"] * 5)
    small = tmp_path / "small.md"
    small.write_text("# Note\n\nA short note about the harbour.\n")
    archive = _archive(tmp_path, embedder, **limits)
    first, second = archive.ingest([_src(big), _src(small)])
    assert first.action == "failed" and reason in first.reason, first.reason
    assert first.errors[0].stage == "limits"
    if "max_seconds" not in limits:  # a tiny time limit stops every document
        assert second.action == "added"
    raised = _archive(tmp_path, embedder)  # the limit raised: tried again, and it goes in
    assert raised.ingest([_src(big)])[0].action == "added"


def test_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVIST_LIMITS__MAX_CHUNKS", "7")
    monkeypatch.setenv("ARCHIVIST_MAX_PAGES", "9")
    opts = Settings().options()
    assert (opts.limits.max_chunks, opts.limits.max_pages) == (7, 9)
    assert Archive(opts).stages.limits == opts.limits
