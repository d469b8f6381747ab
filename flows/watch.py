"""Drop-folder watching: files dropped into a folder become searchable, or fail with a reason.

``DropFolderWatcher`` takes the files at the top of ``drop_dir``:

- it learns of them from filesystem events *and* from a periodic rescan (events get lost: a full
  inotify queue, a network share, a watcher that was down), and scans once at start, so files
  that arrived while it was stopped are taken too;
- a file is taken only once its size and modification time have not changed for ``settle_s``
  (a copy in progress is left alone), and its bytes are read once, so what is hashed is what is
  converted; a file that changes while being read is put back to settle;
- a success (``ok`` or ``partial``) moves to ``processed/``; a failure moves to ``failed/`` with
  ``<name>.error.txt`` beside it, and is recorded as failed in the index; a name already there
  is never overwritten (``report (2).pdf``);
- a file that fails for its content (a truncated PDF) is held in place for up to ``hold_s``
  first: a writer that paused (a scanner writing to a share) and goes on writing makes it
  settle and be tried again; only a file that stayed as it was moves to ``failed/``;
- a file in ``failed/`` whose bytes change afterwards (a writer that kept its handle open and
  wrote on into the moved file) is moved back and tried again at the next rescan;
- an engine error that is worth retrying leaves the file in place for a few more attempts;
- ``stop`` (set on SIGINT/SIGTERM by the CLI) ends the loop after the current file.

The index uri of a document is its path under ``processed/``, where it stays. One watcher per
folder: a lock file (``.archivist-watch.lock``) refuses a second one.

This schedules the ingest engine's steps directly (``pipeline.ingest``: the same steps and the
same failure rule as every other way in) rather than one Prefect flow run per file: a drop folder
wants seconds of latency, and a flow run costs more than converting a short document.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from flows.dropfolder import (
    StabilityTracker,
    changed_since_failed,
    eligible,
    error_text,
    move_as_read,
    mtime,
    reserve,
)
from flows.runtime import STORE_LOCK
from pipeline.archive import Archive
from pipeline.errors import ConfigError
from pipeline.ingest import failure_of, prepare
from pipeline.ingest.failures import is_content_failure
from pipeline.models import (
    DEFAULT_COLLECTION,
    IngestResult,
    SourceDocument,
    SourceMetadata,
    StageError,
    document_id,
)

log = logging.getLogger(__name__)

PROCESSED = "processed"
FAILED = "failed"
LOCK_NAME = ".archivist-watch.lock"
ENGINE_ATTEMPTS = 3


@dataclass(frozen=True)
class WatchOptions:
    """How the watcher decides a file is complete, and how often it looks."""

    settle_s: float = 2.0
    poll_s: float = 0.5
    rescan_s: float = 30.0
    collection: str = DEFAULT_COLLECTION
    hold_s: float = 30.0  # how long a file that failed for its content may still change


class Held(NamedTuple):
    """A file that failed for its content, waiting to see whether it is still being written."""

    signature: tuple[int, int]
    since: float
    data: bytes
    doc_id: str
    errors: list[StageError]


class WatchOutcome(NamedTuple):
    """Where a dropped file went, and its ingest result."""

    dropped: Path
    moved_to: Path
    result: IngestResult


class DropFolderWatcher:
    """Watches one drop folder and ingests what lands in it into ``archive``."""

    def __init__(
        self,
        drop_dir: Path,
        archive: Archive,
        opts: WatchOptions | None = None,
        *,
        on_outcome: Callable[[WatchOutcome], None] | None = None,
    ) -> None:
        self.drop_dir = drop_dir.resolve()
        self.processed = self.drop_dir / PROCESSED
        self.failed = self.drop_dir / FAILED
        self.archive = archive
        self.opts = opts or WatchOptions()
        self.on_outcome = on_outcome
        self.tracker = StabilityTracker(self.opts.settle_s)
        self.pending: set[Path] = set()
        self.inbox: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self.attempts: dict[Path, int] = {}
        self.held: dict[Path, Held] = {}
        self.outcomes: list[WatchOutcome] = []

    # --- the loop ---

    def run(self, stop: threading.Event, *, ready: Callable[[], None] | None = None) -> None:
        """Watch until ``stop`` is set; the file being ingested when it is set is finished."""
        if not self.drop_dir.is_dir():
            raise ConfigError(f"no such folder: {self.drop_dir}")
        self.processed.mkdir(exist_ok=True)
        self.failed.mkdir(exist_ok=True)
        lock = self._lock()
        self.archive.ingestor  # noqa: B018 - load the embedder before the first file waits on it
        observer = self._start_observer()
        try:
            self.scan()
            if ready:
                ready()
            next_scan = time.monotonic() + self.opts.rescan_s
            while not stop.is_set():
                self._drain_inbox()
                if time.monotonic() >= next_scan:
                    self.scan()
                    next_scan = time.monotonic() + self.opts.rescan_s
                self.step(stop)
                stop.wait(self.opts.poll_s)
        finally:
            if observer is not None:
                # watchdog logs an ERROR for events that race its own shutdown; they are moot.
                logging.getLogger("watchdog.observers.inotify").setLevel(logging.CRITICAL)
                observer.stop()
                observer.join(timeout=5)
            lock.close()

    def scan(self) -> None:
        """Queue every eligible file at the top of the drop folder, and bring back the failed
        files whose bytes changed since they failed."""
        for failed in sorted(self.failed.glob("*")) if self.failed.is_dir() else []:
            report = failed.name.endswith(".error.txt")
            if (
                failed.is_file()
                and eligible(failed)
                and not report
                and changed_since_failed(failed)
            ):
                self._retry_failed(failed)
        for path in self.drop_dir.iterdir():
            if path.is_file() and eligible(path):
                self.pending.add(path)

    def _retry_failed(self, failed: Path) -> None:
        """Move a changed file out of ``failed/`` to be taken again; its record goes."""
        back = reserve(self.drop_dir, failed.name)
        os.replace(failed, back)
        failed.with_name(failed.name + ".error.txt").unlink(missing_ok=True)
        with STORE_LOCK:
            for record in self.archive.store.documents_at(str(failed)):
                self.archive.store.delete_document(record.doc_id)
        log.info("%s changed since it failed: taken again as %s", failed.name, back.name)
        self.pending.add(back)

    def step(self, stop: threading.Event | None = None) -> list[WatchOutcome]:
        """Ingest the pending files that have settled (oldest first); refresh the indexes."""
        ready = [p for p in sorted(self.pending, key=mtime) if self.tracker.observe(p)]
        ready = [p for p in ready if not self._still_held(p)]
        self.pending = {p for p in self.pending if p.exists()}
        done: list[WatchOutcome] = []
        for path in ready:
            if stop is not None and stop.is_set():
                break
            outcome = self.process(path)
            if outcome is None:
                continue
            self.pending.discard(path)
            self.tracker.forget(path)
            done.append(outcome)
            self.outcomes.append(outcome)
            if self.on_outcome:
                self.on_outcome(outcome)
        if done:
            with STORE_LOCK:
                self.archive.store.ensure_indexes()
        return done

    # --- one file ---

    def process(self, path: Path) -> WatchOutcome | None:
        """Ingest one settled file and move it; None when it must wait (changed, retry later)."""
        try:
            before = path.stat()
            data = path.read_bytes()
            after = path.stat()
        except FileNotFoundError:
            self.pending.discard(path)
            return None
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
            self.tracker.forget(path)  # still being written: settle again
            return None
        doc_id = document_id(hashlib.sha256(data).hexdigest(), self.opts.collection)
        meta = SourceMetadata(collection=self.opts.collection)
        dest = (
            self._resume_target(doc_id)
            or self._unclaimed_placeholder(path.name)
            or reserve(self.processed, path.name)
        )
        src = SourceDocument(uri=str(dest), data=data, metadata=meta)
        try:
            result = self._ingest(src, doc_id)
        except Exception as e:  # the engine's one rule says what it is and whether to retry
            dest.unlink(missing_ok=True)
            tries = self.attempts.get(path, 0) + 1
            self.attempts[path] = tries
            failure = failure_of(e, attempts=tries)
            if failure.retryable and tries < ENGINE_ATTEMPTS:
                log.warning("%s: %s (attempt %d of %d)", path.name, e, tries, ENGINE_ATTEMPTS)
                self.tracker.forget(path)
                return None
            if is_content_failure(failure.errors) and self.opts.hold_s > 0:
                signature = (after.st_size, after.st_mtime_ns)
                self.held[path] = Held(signature, time.monotonic(), data, doc_id, failure.errors)
                return None  # held: failed only if it stays as it is (``_still_held``)
            return self._fail(path, data, doc_id, failure.errors)
        if result.action == "failed":  # the index refused the write (undone by the engine)
            dest.unlink(missing_ok=True)
            return self._fail(path, data, doc_id, result.errors)
        move_as_read(path, dest, data, (after.st_size, after.st_mtime_ns))
        self.attempts.pop(path, None)
        return WatchOutcome(path, dest, result)

    def _still_held(self, path: Path) -> bool:
        """For a settled file that failed for its content: True while it may still change;
        once ``hold_s`` passed unchanged it fails as it was; a change lets it be tried again."""
        held = self.held.get(path)
        if held is None:
            return False
        try:
            st = path.stat()
        except FileNotFoundError:
            self.held.pop(path)
            return True
        if (st.st_size, st.st_mtime_ns) != held.signature:
            self.held.pop(path)  # written on: settled again, so tried again
            return False
        if time.monotonic() - held.since < self.opts.hold_s:
            return True
        self.held.pop(path)
        outcome = self._fail(path, held.data, held.doc_id, held.errors)
        self.pending.discard(path)
        self.tracker.forget(path)
        self.outcomes.append(outcome)
        if self.on_outcome:
            self.on_outcome(outcome)
        return True

    def _ingest(self, src: SourceDocument, doc_id: str) -> IngestResult:
        """The engine's steps for one file; raises what went wrong before the write, so that
        retryable engine errors leave the file in place for another attempt."""
        ingestor = self.archive.ingestor
        known = ingestor.known(src, doc_id)
        if known is not None:
            return known
        prepared = prepare(src, ingestor.stages)
        with STORE_LOCK:
            (result,) = ingestor.commit_many([(src, prepared)])
        return result

    def _fail(self, path: Path, data: bytes, doc_id: str, errors: list[StageError]) -> WatchOutcome:
        dest = reserve(self.failed, path.name, companion=".error.txt")
        src = SourceDocument(
            uri=str(dest), data=data, metadata=SourceMetadata(collection=self.opts.collection)
        )
        with STORE_LOCK:
            result = self.archive.ingestor.fail(src, doc_id, errors)
        report = dest.with_name(dest.name + ".error.txt")
        report.write_text(error_text(path, dest, data, result), encoding="utf-8")
        os.replace(path, dest)
        self.attempts.pop(path, None)
        return WatchOutcome(path, dest, result)

    def _resume_target(self, doc_id: str) -> Path | None:
        """The ``processed/`` name these bytes were indexed under if a stop came between the
        index write and the move (the name is there but empty or missing): reuse it."""
        known = self.archive.store.get_document(doc_id)
        if known is None or known.status == "failed":
            return None
        target = Path(known.uri)
        if target.parent != self.processed:
            return None
        try:
            empty = target.stat().st_size == 0
        except FileNotFoundError:
            empty = True
        return target if empty else None

    def _unclaimed_placeholder(self, name: str) -> Path | None:
        """``processed/<name>`` when it is an empty placeholder that no indexed document claims:
        a watcher killed between reserving the name and writing the index left it. Reusing it
        keeps the file's name (no ``name (2)`` beside an empty ``name``)."""
        target = self.processed / name
        try:
            if target.stat().st_size != 0:
                return None
        except FileNotFoundError:
            return None
        return None if self.archive.store.documents_at(str(target)) else target

    # --- plumbing ---

    def _drain_inbox(self) -> None:
        while True:
            try:
                path = self.inbox.get_nowait()
            except queue.Empty:
                return
            if path.parent == self.drop_dir and eligible(path) and path.is_file():
                self.pending.add(path)

    def _start_observer(self) -> Any:
        """Filesystem events through watchdog; without them the rescan still finds every file."""
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - a core dependency
            log.warning(
                "watchdog is not installed: relying on rescans every %ss", self.opts.rescan_s
            )
            return None
        inbox, root = self.inbox, self.drop_dir

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.is_directory:
                    return
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    if raw:
                        inbox.put(Path(os.fsdecode(raw)))

        observer = Observer()
        try:
            observer.schedule(Handler(), str(root), recursive=False)
            observer.start()
        except OSError as e:  # e.g. the inotify watch limit: degrade to rescans, say so
            log.warning("no filesystem events for %s (%s): rescanning every %ss", root, e,
                        self.opts.rescan_s)  # fmt: skip
            return None
        return observer

    def _lock(self) -> IO[str]:
        import fcntl

        handle = (self.drop_dir / LOCK_NAME).open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            handle.close()
            raise ConfigError(f"another watcher is already running on {self.drop_dir}") from e
        return handle
