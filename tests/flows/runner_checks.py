"""What every distributed runner test checks: the runner's index ends the same as the threads'."""

from __future__ import annotations

import shutil
from pathlib import Path

from flows.report import SyncReport
from flows.runtime import archive_for
from tests.conftest import SAMPLE_DOCS

SAMPLES = sorted(SAMPLE_DOCS.glob("*.pdf"))


def sample_folder(tmp_path: Path, pdfs: int) -> Path:
    """``pdfs`` sample PDFs and one broken file in a fresh folder."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for pdf in SAMPLES[:pdfs]:
        shutil.copy(pdf, folder / pdf.name)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n not a PDF at all")
    return folder


def assert_same_as_threads(
    threads: SyncReport, other: SyncReport, *, folder: Path, dbs: tuple[Path, Path]
) -> None:
    """Same ids, pages, chunks and statuses document by document; in both indexes each document
    once, its chunks unique, no chunk without its document; the runner's index finds a sample."""
    by_uri = {r.uri: r for r in threads.results}
    for result in other.results:
        expected = by_uri[result.uri]
        assert (result.doc_id, result.pages, result.chunks, result.status) == (
            expected.doc_id, expected.pages, expected.chunks, expected.status)  # fmt: skip
    files = len(list(folder.iterdir()))
    for db in dbs:
        store = archive_for(str(db)).store
        docs = store.documents_under(str(folder))
        assert len(docs) == files and len({d.doc_id for d in docs}) == files
        chunk_ids = [c.chunk_id for d in docs for c in store.chunks_of(d.doc_id)]
        assert len(chunk_ids) == len(set(chunk_ids)) == sum(d.chunks for d in docs)
        assert store.chunks.count_rows() == len(chunk_ids)  # no chunk without its document
    hit = archive_for(str(dbs[1])).search("Kestrel probe launch", k=1)[0]
    assert "kestrel" in hit.chunk.source.lower()
