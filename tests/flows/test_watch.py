"""The drop-folder watcher: its rules, then the real command on a temp folder, up to SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymupdf
import pytest

from flows.dropfolder import StabilityTracker, eligible, reserve
from flows.runtime import archive_for
from tests.conftest import REPO


def test_stability_needs_an_unchanged_file_for_the_settle_time(tmp_path: Path) -> None:
    now = [0.0]
    tracker = StabilityTracker(2.0, clock=lambda: now[0])
    path = tmp_path / "a.pdf"
    path.write_bytes(b"half")
    assert not tracker.observe(path)  # first sight
    now[0] = 1.9
    assert not tracker.observe(path)
    path.write_bytes(b"half and the rest")  # grew: the clock starts again
    now[0] = 3.0
    assert not tracker.observe(path)
    now[0] = 4.9
    assert not tracker.observe(path)
    now[0] = 5.0
    assert tracker.observe(path)
    path.unlink()
    assert not tracker.observe(path)


def test_reserve_never_reuses_a_name(tmp_path: Path) -> None:
    first = reserve(tmp_path, "report.pdf")
    second = reserve(tmp_path, "report.pdf")
    (tmp_path / "note (2).md.error.txt").write_text("left from before")
    third = reserve(tmp_path, "note.md")
    fourth = reserve(tmp_path, "note.md", companion=".error.txt")
    assert [p.name for p in (first, second, third, fourth)] == [
        "report.pdf",
        "report (2).pdf",
        "note.md",
        "note (3).md",
    ]
    assert [eligible(Path(n)) for n in ("a.pdf", ".a.pdf", "a.pdf.part", "a.crdownload")] == [
        True,
        False,
        False,
        False,
    ]


def _pdf_bytes(lines: list[str]) -> bytes:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_htmlbox(pymupdf.Rect(50, 50, 550, 800), "".join(f"<p>{t}</p>" for t in lines))
    data = doc.tobytes()
    doc.close()
    return data


class Watcher:
    """``archivist watch`` as a subprocess, its output lines collected as they come."""

    def __init__(self, drop: Path, db: Path) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
        args = ["watch", str(drop), "--db", str(db), "--settle", "1.5", "--rescan", "2"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in output:\n{''.join(self.seen)}")
            try:
                self.seen.append(self.lines.get(timeout=0.5))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError(f"watcher exited:\n{''.join(self.seen)}") from None


def _wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.integration
def test_watch_drop_folder_end_to_end(tmp_path: Path) -> None:
    drop, db = tmp_path / "drop", tmp_path / "index"
    drop.mkdir()
    (drop / "early.md").write_text("# Early\n\nDropped while the watcher was down.\n")
    (drop / "dup.md").write_text("# First\n\nThe first note about the Kestrel probe.\n")
    watcher = Watcher(drop, db)
    try:
        watcher.wait_for("watching")
        processed, failed = drop / "processed", drop / "failed"
        _wait_until(lambda: (processed / "dup.md").exists(), 90, "the files present at start")

        (drop / "dup.md").write_text("# Second\n\nA second note with the same file name.\n")
        (drop / "bad.pdf").write_bytes(b"%PDF-1.7\n1 0 obj garbage, no xref, no trailer")
        slow = _pdf_bytes(["Calvane vaccine trial: phase three began in November 2020.",
                           "The second half says 30,000 volunteers took part."])  # fmt: skip
        with (drop / "slow.pdf").open("wb") as f:  # written in two halves, half a second apart
            f.write(slow[: len(slow) // 2])
            f.flush()
            time.sleep(0.5)
            f.write(slow[len(slow) // 2 :])
        for i in range(100):
            (drop / f"wire-{i:03d}.md").write_text(f"# Wire {i}\n\nDispatch number {i} of 100.\n")

        def settled() -> bool:
            left = [p for p in drop.iterdir() if p.is_file() and not p.name.startswith(".")]
            return not left and len(list(processed.iterdir())) == 104

        _wait_until(settled, 240, "all dropped files to be handled")
        watcher.proc.send_signal(signal.SIGTERM)
        assert watcher.proc.wait(timeout=60) == 0
        watcher.wait_for("stopped: 105 files handled, 1 failed", timeout=5)
    finally:
        if watcher.proc.poll() is None:
            watcher.proc.kill()

    names = sorted(p.name for p in processed.iterdir())
    assert names[:4] == ["dup (2).md", "dup.md", "early.md", "slow.pdf"]
    assert sorted(p.name for p in failed.iterdir()) == ["bad.pdf", "bad.pdf.error.txt"]
    error = (failed / "bad.pdf.error.txt").read_text()
    assert "dropped as: " + str(drop.resolve() / "bad.pdf") in error and "convert" in error
    assert (processed / "dup.md").read_text().startswith("# First")  # nothing overwritten

    archive = archive_for(str(db))
    hit = archive.search("how many volunteers took part in the vaccine trial", k=1)[0]
    assert "30,000 volunteers" in hit.chunk.text  # the second half was there when it was taken
    assert hit.chunk.source == str(processed.resolve() / "slow.pdf")
    (bad,) = archive.store.documents_at(str(failed.resolve() / "bad.pdf"))
    assert bad.status == "failed" and bad.errors[0].stage == "convert"
    assert archive.store.count_documents() == 105
    assert "Dispatch number 42 of 100" in archive.search("Wire 42", k=1, mode="fts")[0].chunk.text


@pytest.mark.slow
def test_watcher_recovers_an_interrupted_move_and_retries_engine_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.watch import DropFolderWatcher, WatchOptions
    from pipeline.errors import EngineError
    from pipeline.models import SourceDocument

    drop = tmp_path / "drop"
    (drop / "processed").mkdir(parents=True)
    archive = archive_for(str(tmp_path / "index"))
    watcher = DropFolderWatcher(drop, archive, WatchOptions(settle_s=0))

    def settle_and_step() -> list:  # type: ignore[type-arg]
        watcher.scan()
        watcher.step()  # first sight of the files
        return watcher.step()

    # A stop came after the index write and before the move: the placeholder name is reused.
    data = b"# Ledger\n\nThe harbour ledger of 1983 was found in a crate.\n"
    (drop / "ledger.md").write_bytes(data)
    placeholder = drop / "processed" / "ledger.md"
    placeholder.touch()
    src = SourceDocument(uri=str(placeholder.resolve()), data=data)
    watcher._ingest(src, src.doc_id)
    (outcome,) = settle_and_step()
    assert outcome.moved_to == placeholder.resolve() and placeholder.read_bytes() == data
    assert outcome.result.action == "unchanged"
    assert [p.name for p in (drop / "processed").iterdir()] == ["ledger.md"]

    # Engine errors leave the file in place for another attempt, then it goes through.
    real, calls = archive.embedder.embed_documents, []

    def flaky(texts):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) < 3:
            raise EngineError("embedder busy", retryable=True)
        return real(texts)

    monkeypatch.setattr(archive.embedder, "embed_documents", flaky)
    (drop / "crate.md").write_text("# Crate\n\nA crate of harbour ledgers.\n")
    assert settle_and_step() == [] and (drop / "crate.md").exists()
    assert settle_and_step() == [] and not list((drop / "processed").glob("crate*"))
    (outcome,) = settle_and_step()
    assert outcome.result.action == "added" and outcome.moved_to.name == "crate.md"
