"""Faults during ingestion: a killed run, a full or read-only disk, a dying Dask worker, a killed
watcher. After each, every document is in the index exactly once (or failed with a clear
reason), no chunk lies in the index without its ``documents`` row, and search still works."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymupdf
import pytest

import flows.tasks as tasks_module
from flows.ingest import run_ingest
from flows.runtime import archive_for
from pipeline.ingest import prepare
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

KILL_MARKER = "ARCHIVIST_TEST_KILL_MARKER"
WORDS = [
    "harbour",
    "ledger",
    "crate",
    "tide",
    "mill",
    "bridge",
    "vote",
    "flood",
    "probe",
    "trial",
    "archive",
    "river",
]


def _make_pdfs(folder: Path, n: int, pages: int = 2) -> list[Path]:
    """``n`` distinct small PDFs (different bytes, searchable words) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        doc = pymupdf.open()
        for p in range(pages):
            page = doc.new_page()
            words = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(40))
            page.insert_htmlbox(
                pymupdf.Rect(50, 50, 550, 800),
                f"<h1>Dispatch {i:03d} part {p}</h1><p>Number {i:03d}: {words}.</p>",
            )
        path = folder / f"dispatch-{i:03d}.pdf"
        doc.save(path)
        doc.close()
        out.append(path)
    return out


def _assert_exactly_once(db: str, expected_docs: int) -> None:
    """Every document once, every chunk once and vouched for by its document row."""
    store = archive_for(db).store
    docs = store.list_documents(limit=10_000)
    assert len(docs) == expected_docs
    assert len({d.uri for d in docs}) == len({d.doc_id for d in docs}) == expected_docs
    assert all(d.status == "ok" for d in docs), [(d.uri, d.errors) for d in docs]
    chunk_ids = [c.chunk_id for d in docs for c in store.chunks_of(d.doc_id)]
    assert len(chunk_ids) == len(set(chunk_ids)) == sum(d.chunks for d in docs)
    assert store.chunks.count_rows() == len(chunk_ids)  # no orphan chunk


def _wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _committed(db: Path) -> int:
    """Documents committed so far, read from another process's point of view."""
    import lancedb

    try:
        return int(lancedb.connect(str(db)).open_table("documents").count_rows())
    except Exception:  # the tables are not created yet
        return 0


def _api_env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "HF_HUB_OFFLINE": "1"}


def test_run_killed_mid_way_then_rerun_has_every_document_once(tmp_path: Path) -> None:
    folder, db = tmp_path / "docs", tmp_path / "index"
    total = 30
    _make_pdfs(folder, total, pages=3)
    env = {**_api_env(), "ARCHIVIST_INGEST_BATCH_DOCS": "2", "ARCHIVIST_INGEST_BATCH_SECONDS": "1"}
    code = f"from flows.ingest import run_ingest; run_ingest({str(folder)!r}, db={str(db)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_until(lambda: _committed(db) >= 4 or proc.poll() is not None, 180, "4 commits")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    before = _committed(db)
    assert 4 <= before < total  # killed mid-way

    report = run_ingest(str(folder), db=str(db))
    assert report.ok and len(report.results) == total
    assert report.counts == {"unchanged": before, "added": total - before}
    _assert_exactly_once(str(db), total)
    hit = archive_for(str(db)).search("Dispatch 017 part 2", k=1, mode="fts")[0]
    assert "017" in hit.chunk.text


class _FailingWrites:
    """A LanceDB table whose writes of ``victim``'s rows fail with ``err`` (a full disk, a
    read-only mount), as the real table would raise it; everything else passes through."""

    def __init__(self, table: Any, victim: str, err: int) -> None:
        self._table, self._victim, self._err = table, victim, err

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def _check(self, data: Any) -> None:
        if self._victim in data.column("doc_id").to_pylist():
            raise OSError(self._err, os.strerror(self._err))

    def add(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        self._check(data)
        return self._table.add(data, *args, **kwargs)

    def merge_insert(self, on: Any) -> Any:
        outer, builder = self, self._table.merge_insert(on)

        class Builder:
            def __getattr__(self, name: str) -> Any:
                attr = getattr(builder, name)
                if name == "execute":
                    return lambda data, *a, **k: (outer._check(data), attr(data, *a, **k))[1]
                return lambda *a, **k: (attr(*a, **k), self)[1]

        return Builder()


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS], ids=["disk-full", "read-only"])
def test_a_failed_write_leaves_no_half_written_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    folder, db = tmp_path / "docs", str(tmp_path / "index")
    pdfs = _make_pdfs(folder, 3)
    victim = hashlib.sha256(pdfs[1].read_bytes()).hexdigest()
    store = archive_for(db).store
    # The row write fails after the chunks went in: the worst moment for a half-written document.
    monkeypatch.setattr(store, "documents", _FailingWrites(store.documents, victim, err))

    report = run_ingest(str(folder), db=db)
    monkeypatch.undo()

    results = {Path(r.uri).name: r for r in report.results}
    bad = results[pdfs[1].name]
    assert bad.status == "failed" and bad.errors[0].stage == "store"
    assert os.strerror(err) in bad.errors[0].message and "could not write" in bad.reason
    assert {results[p.name].action for p in (pdfs[0], pdfs[2])} == {"added"}
    assert store.chunks.count_rows(f"doc_id = '{victim}'") == 0  # its chunks were taken back
    assert store.get_document(victim) is None  # and no row claims it (the disk refused that too)
    hit = archive_for(db).search("Dispatch 002", k=1, mode="fts")[0]
    assert "002" in hit.chunk.text  # the index is readable

    again = run_ingest(str(folder), db=db)  # space is back: the document goes in
    assert again.ok and again.counts == {"unchanged": 2, "added": 1}
    _assert_exactly_once(db, 3)


def test_read_only_index_folder_gives_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop root's writes")
    folder, db = tmp_path / "docs", tmp_path / "index"
    _make_pdfs(folder, 1)
    assert run_ingest(str(folder), db=str(db)).ok
    _make_pdfs(tmp_path / "more", 1)
    (tmp_path / "more" / "dispatch-000.pdf").rename(folder / "late.pdf")
    (folder / "late.pdf").write_bytes((folder / "late.pdf").read_bytes() + b"\n% late\n")
    tables = [p for p in db.iterdir() if p.suffix == ".lance"]
    modes = {p: p.stat().st_mode for t in tables for p in [t, *t.rglob("*")]}
    try:
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        report = run_ingest(str(folder), db=str(db))
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
    (late,) = [r for r in report.results if r.uri.endswith("late.pdf")]
    assert late.status == "failed" and late.errors[0].stage == "store"
    _assert_exactly_once(str(db), 1)


def _kill_own_worker_once(*args: Any, **kwargs: Any) -> Any:
    """Stands in for the engine's ``prepare`` step on a Dask worker: the first call kills its
    worker process outright (as the OOM killer would), later calls convert and embed."""
    marker = Path(os.environ[KILL_MARKER])
    try:
        with marker.open("x"):
            pass
    except FileExistsError:
        return prepare(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_dask_worker_killed_mid_task_the_document_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("prefect_dask")
    folder, db = tmp_path / "docs", str(tmp_path / "index")
    _make_pdfs(folder, 4)
    marker = tmp_path / "killed-once"
    monkeypatch.setenv(KILL_MARKER, str(marker))  # workers inherit it
    # The prepare task travels to the workers by value with its globals: this one included.
    monkeypatch.setattr(tasks_module, "prepare", _kill_own_worker_once)

    report = run_ingest(str(folder), db=db, task_runner="dask")

    assert marker.exists()  # a worker did die
    assert report.counts == {"added": 4}, [(r.uri, r.errors) for r in report.results]
    _assert_exactly_once(db, 4)


def test_watcher_killed_mid_batch_then_restarted_loses_nothing(tmp_path: Path) -> None:
    drop, db = tmp_path / "drop", tmp_path / "index"
    total = 16
    _make_pdfs(drop, total, pages=2)
    processed = drop / "processed"

    def start() -> subprocess.Popen[bytes]:
        args = ["watch", str(drop), "--db", str(db), "--settle", "0.2", "--rescan", "1"]
        return subprocess.Popen([sys.executable, "-m", "cli.main", *args], cwd=REPO,
                                env=_api_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip

    first = start()
    try:
        _wait_until(lambda: _committed(db) >= 3 or first.poll() is not None, 180, "3 files")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        left = [p for p in drop.glob("*.pdf")]
        assert 0 < len(left) < total  # killed mid-way
        second = start()
        try:
            _wait_until(lambda: not list(drop.glob("*.pdf")), 180, "every file to be handled")
            time.sleep(0.5)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
    finally:
        for proc in (first,):
            if proc.poll() is None:
                proc.kill()

    names = sorted(p.name for p in processed.iterdir())
    assert names == [f"dispatch-{i:03d}.pdf" for i in range(total)]  # no "(2)" copy, no gap
    assert all(p.stat().st_size > 0 for p in processed.iterdir())
    _assert_exactly_once(str(db), total)
