"""Real storage faults under the index: a disk that fills up mid-run, a disk remounted read-only.

Unlike the injected ``OSError`` of ``test_faults.py``, the index (``--db``, with the flows' work
folder ``.flows`` inside it) lies on a small tmpfs, so LanceDB, Prefect's persisted results and
the fingerprint ledger meet the operating system's own ENOSPC and EROFS. Mounting needs root and
a kernel that allows it: otherwise these tests skip, saying why.

After each fault: the run ends with a report (no crash, no hang), every document is either fully
in the index (its row, all its chunks, searchable) or failed with a reason that names the index
and the OS error, no chunk lies in the index without its row, and once the disk is usable again
a re-run adds the rest, each document exactly once.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import lancedb
import pymupdf
import pytest

from flows.ingest import run_ingest
from flows.report import SyncReport
from flows.runtime import archive_for, refresh_indexes
from tests.flows.test_faults import _assert_exactly_once, _make_pdfs

# A hang (a writer stuck on a full disk) fails the test instead of stalling the suite.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.usefixtures("prefect_harness"),
]

Mount = Callable[[str], Path]


def _sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def _remount(point: Path, options: str) -> None:
    done = _sh("mount", "-o", f"remount,{options}", str(point))
    assert done.returncode == 0, f"remount {options} of {point} failed: {done.stderr}"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Mount]:
    """Mount a tmpfs of a given size under ``tmp_path`` (skips when mounting is not allowed);
    every mount is undone at teardown, whatever the test did."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    if shutil.which("mount") is None or shutil.which("umount") is None:
        pytest.skip("no mount/umount command here")
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"tmpfs-{len(mounted)}"
        point.mkdir()
        done = _sh("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point))
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        if _sh("umount", str(point)).returncode != 0:
            _sh("umount", "-l", str(point))  # still busy (an open table): detach it anyway


def _make_bulky_pdfs(folder: Path, n: int, pages: int = 12) -> list[Path]:
    """``n`` PDFs of dense, distinct text (about 100 chunks each): large in the index, each
    with one word (``bulk<i>tag``) found nowhere else."""
    rng = random.Random(7)
    out = []
    for i in range(n):
        doc = pymupdf.open()
        for _page in range(pages):
            words = [f"w{rng.randrange(10**6)}" for _ in range(300)]
            words[150] = f"bulk{i}tag"  # mid-page: a line starting each page is a running head
            page = doc.new_page()
            text = " ".join(words)
            left = page.insert_textbox(pymupdf.Rect(40, 40, 560, 800), text, fontsize=7)
            assert left >= 0, "the text did not fit on the page (and was not written)"
        path = folder / f"bulk-{i:02d}.pdf"
        doc.save(path)
        doc.close()
        out.append(path)
    return out


def _used_bytes(point: Path) -> int:
    st = os.statvfs(point)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def _assert_consistent(db: str, report: SyncReport, reason: str) -> None:
    """Each result is fully in the index or failed because of ``reason`` (naming the index),
    and no chunk lies in the index without the ``documents`` row that vouches for it."""
    store = archive_for(db).store
    for result in report.results:
        if result.status == "failed":
            assert result.action == "failed" and result.errors[0].stage == "store", result
            assert db in result.errors[0].message and reason in result.errors[0].message
            assert store.chunks.count_rows(f"doc_id = '{result.doc_id}'") == 0
            row = store.get_document(result.doc_id)
            assert row is None or row.status == "failed"
        else:
            row = store.get_document(result.doc_id)
            assert row is not None and row.status == "ok" and row.chunks == result.chunks > 0
            assert len(store.chunks_of(result.doc_id)) == row.chunks
    # Read from disk by a fresh connection: what another process (a search API) would see.
    tables = lancedb.connect(db)
    rows = set(tables.open_table("documents").to_arrow().column("doc_id").to_pylist())
    chunk_docs = tables.open_table("chunks").to_arrow().column("doc_id").to_pylist()
    assert not [d for d in chunk_docs if d not in rows], "chunks without their document row"


def _top_doc(db: str, query: str) -> str | None:
    """The document of the best full-text hit for ``query`` (None: no hit at all)."""
    hits = archive_for(db).search(query, k=1, mode="fts")
    return hits[0].chunk.doc_id if hits else None


def _fill(point: Path) -> Path:
    """Write a file until the disk at ``point`` is full; returns it (delete it to free space)."""
    filler = point / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return filler


def test_disk_full_mid_run_fails_documents_cleanly_then_rerun_adds_them(
    tmp_path: Path, tmpfs: Mount, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "docs"
    small = _make_pdfs(folder, 2)
    bulky = _make_bulky_pdfs(folder, 6)
    point = tmpfs("64m")
    db = str(point / "index")
    first = run_ingest(str(folder), db=db, patterns=["dispatch-*.pdf"])
    assert first.ok and first.counts == {"added": len(small)}
    # Room for two or three bulky documents (index and stage-output cache): six do not fit.
    _remount(point, f"size={_used_bytes(point) + 3 * 1024 * 1024}")

    full = run_ingest(str(folder), db=db)

    by_name = {Path(r.uri).name: r for r in full.results}
    assert len(full.results) == len(small) + len(bulky)  # a result per file, none lost
    assert {by_name[p.name].action for p in small} == {"unchanged"}
    failed = [r for r in full.results if r.status == "failed"]
    assert failed, "the disk never filled up: make the bulky documents bigger"
    _assert_consistent(db, full, "No space left on device")
    assert "disk holding the index is full" in failed[0].reason
    # The flows' work folder shares the disk: the log says how much of it, and what to do.
    assert any(db in r.getMessage() and "work folder" in r.getMessage() for r in caplog.records)
    # What was there before is still searchable; what went in is, what failed is not.
    assert _top_doc(db, "Dispatch 001") == by_name[small[1].name].doc_id
    for i, pdf in enumerate(bulky):
        result = by_name[pdf.name]
        assert _top_doc(db, f"bulk{i}tag") == (result.doc_id if result.status == "ok" else None)

    _remount(point, "size=64m")  # space is back
    again = run_ingest(str(folder), db=db)
    assert again.ok
    assert again.counts == {"unchanged": len(full.results) - len(failed), "added": len(failed)}
    _assert_exactly_once(db, len(small) + len(bulky))
    now = {Path(r.uri).name: r for r in again.results}  # a failure had its own record id
    assert [_top_doc(db, f"bulk{i}tag") for i in range(len(bulky))] == [
        now[p.name].doc_id for p in bulky
    ]


def test_read_only_disk_fails_new_documents_cleanly_then_rerun_adds_them(
    tmp_path: Path, tmpfs: Mount
) -> None:
    folder = tmp_path / "docs"
    _make_pdfs(folder, 2)
    point = tmpfs("64m")
    db = str(point / "index")
    assert run_ingest(str(folder), db=db).ok
    (tmp_path / "more").mkdir()
    (late,) = _make_bulky_pdfs(tmp_path / "more", 1, pages=2)
    late = late.rename(folder / "late.pdf")
    before = sorted(p.name for p in Path(db).rglob("*"))
    _remount(point, "ro")

    report = run_ingest(str(folder), db=db)

    assert report.counts == {"unchanged": 2, "failed": 1}
    (bad,) = report.failed
    assert bad.uri == str(late)
    _assert_consistent(db, report, "Read-only file system")
    assert "mounted read-only" in bad.reason
    assert _top_doc(db, "Dispatch 001") is not None and _top_doc(db, "bulk0tag") is None
    assert sorted(p.name for p in Path(db).rglob("*")) == before  # nothing written at all

    _remount(point, "rw")
    again = run_ingest(str(folder), db=db)
    assert again.ok and again.counts == {"unchanged": 2, "added": 1}
    _assert_exactly_once(db, 3)
    (added,) = [r for r in again.results if r.uri == bad.uri]
    assert _top_doc(db, "bulk0tag") == added.doc_id and added.doc_id != bad.doc_id


def test_index_refresh_on_a_full_disk_is_postponed_not_fatal(
    tmp_path: Path, tmpfs: Mount, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "docs"
    _make_pdfs(folder, 2)
    point = tmpfs("64m")
    db = str(point / "index")
    assert run_ingest(str(folder), db=db).ok
    chunks = archive_for(db).store.chunks
    (fts,) = [ix.name for ix in chunks.list_indices() if ix.columns == ["fts_en"]]
    chunks.drop_index(fts)  # the index a refresh must build again
    filler = _fill(point)

    refresh_indexes(db)  # the end of every ingest run: must not lose the run's report

    assert fts not in [ix.name for ix in chunks.list_indices()]
    warned = [r.getMessage() for r in caplog.records if "not refreshed" in r.getMessage()]
    assert warned and db in warned[0] and "No space left on device" in warned[0]
    filler.unlink()
    refresh_indexes(db)
    assert fts in [ix.name for ix in chunks.list_indices()]
    assert _top_doc(db, "Dispatch 001") is not None
