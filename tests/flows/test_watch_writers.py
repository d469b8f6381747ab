"""Slow writers: a file that fails truncated while its writer pauses is held, not failed, and a
failed file whose bytes change is taken again (issue: a scanner pausing 4 s mid-file lost it)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flows.runtime import archive_for
from flows.watch import DropFolderWatcher, WatchOptions
from tests.conftest import SAMPLE_DOCS

pytestmark = pytest.mark.slow

PDF = (SAMPLE_DOCS / "2003-08-11_canicule-lorvennes_fr.pdf").read_bytes()
HEAD, REST = PDF[: len(PDF) // 3], PDF[len(PDF) // 3 :]


def _watcher(tmp_path: Path, hold_s: float) -> tuple[DropFolderWatcher, Path]:
    drop = tmp_path / "drop"
    for sub in ("processed", "failed"):
        (drop / sub).mkdir(parents=True)
    archive = archive_for(str(tmp_path / "index"))
    return DropFolderWatcher(drop, archive, WatchOptions(settle_s=0, hold_s=hold_s)), drop


def _steps(watcher: DropFolderWatcher, n: int = 3) -> None:
    for _ in range(n):
        watcher.scan()
        watcher.step()


def test_a_paused_writer_finishes_its_file(tmp_path: Path) -> None:
    watcher, drop = _watcher(tmp_path, hold_s=60)
    (drop / "scan.pdf").write_bytes(HEAD)  # the scanner pauses here
    _steps(watcher)
    assert (drop / "scan.pdf").read_bytes() == HEAD  # held in place, not failed
    assert not list((drop / "failed").iterdir()) and watcher.outcomes == []
    with (drop / "scan.pdf").open("ab") as f:
        f.write(REST)  # ... and goes on
    _steps(watcher)
    (outcome,) = watcher.outcomes
    assert outcome.result.action == "added" and outcome.result.status == "ok"
    assert outcome.moved_to == (drop / "processed" / "scan.pdf").resolve()
    assert outcome.moved_to.read_bytes() == PDF and not list((drop / "failed").iterdir())


def test_a_held_file_that_stays_truncated_fails_then_is_taken_again_once_it_changes(
    tmp_path: Path,
) -> None:
    watcher, drop = _watcher(tmp_path, hold_s=0.2)
    (drop / "scan.pdf").write_bytes(HEAD)
    _steps(watcher)
    time.sleep(0.3)  # the hold runs out with the file unchanged
    _steps(watcher)
    (failed,) = watcher.outcomes
    moved = drop / "failed" / "scan.pdf"
    assert failed.result.action == "failed" and failed.moved_to == moved.resolve()
    assert f"size: {len(HEAD)}" in moved.with_name("scan.pdf.error.txt").read_text()
    with moved.open("ab") as f:  # the writer kept its handle: it writes into the moved file
        f.write(REST)
    _steps(watcher)
    assert len(watcher.outcomes) == 2
    done = watcher.outcomes[1]
    assert done.result.action == "added" and done.moved_to.read_bytes() == PDF
    assert not moved.exists() and not moved.with_name("scan.pdf.error.txt").exists()
    store = watcher.archive.store
    assert store.documents_at(str(moved.resolve())) == []  # its failure record is gone
    (record,) = store.documents_at(str(done.moved_to))
    assert record.status == "ok"
