"""What the flows share inside one process: the archive per index, locks, the work folder.

Flow tasks run in threads (Prefect's thread-pool task runner) or on Dask/Ray workers and receive
small values (a db location, a uri, a content hash), so the heavy objects (embedder, LanceDB
tables) are built once per process here and shared. Writes to one index are serialised with a
lock (concurrent LanceDB commits to one table conflict and retry); conversion takes its own lock
inside the ingest engine's step (PyMuPDF is not thread-safe). Embedding, hashing and downloads
run in parallel.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from pipeline.archive import Archive
from pipeline.errors import StorageError
from pipeline.models import IngestResult
from pipeline.settings import Settings

log = logging.getLogger(__name__)
STORE_LOCK = threading.Lock()
_ARCHIVE_LOCK = threading.Lock()


def resolve_db(db: str | None) -> str:
    """The index location from ``db`` or Settings (env, archivist.toml), made absolute when
    local, so a scheduled run started from another folder finds the same index."""
    value = db or Settings().db
    if "://" in value:
        return value
    return str(Path(value).expanduser().resolve())


_ARCHIVES: dict[str, Archive] = {}
_STAGES: dict[str, Archive] = {}


def archive_for(db: str) -> Archive:
    """The process-wide ``Archive`` for index ``db`` (embedder and tables loaded once)."""
    with _ARCHIVE_LOCK:
        if db not in _ARCHIVES:
            archive = Archive(Settings(db=db).options())
            archive.ingestor  # noqa: B018 - build embedder, store and ingestor now, in one thread
            _ARCHIVES[db] = archive
        return _ARCHIVES[db]


def stages_for(db: str) -> Archive:
    """What converting, chunking and embedding for index ``db`` need, without the index.

    In the flow's own process (the thread runner) this is ``archive_for(db)``; on a Dask or Ray
    worker it is an ``Archive`` whose tables are never opened: workers prepare documents, only
    the flow process writes, so a worker needs neither access to the index nor its credentials.
    """
    with _ARCHIVE_LOCK:
        if db in _ARCHIVES:
            return _ARCHIVES[db]
        if db not in _STAGES:
            archive = Archive(Settings(db=db).options())
            archive.embedder  # noqa: B018 - load the model once per worker process
            _STAGES[db] = archive
        return _STAGES[db]


def refresh_indexes(db: str) -> None:
    """Bring the full-text indexes of index ``db`` up to date (after a run's writes).

    A full or read-only disk is logged, not raised: the run's documents are already stored
    (or recorded as failed), searches see unindexed rows, and the next run or ``archivist
    maintain`` builds what is missing; raising would lose the run's report.
    """
    with STORE_LOCK:
        try:
            archive_for(db).store.ensure_indexes()
        except StorageError as e:
            log.warning("indexes of %s not refreshed: %s", db, e)


def work_dir(db: str) -> Path:
    """Where the flows keep cached stage results and staged downloads for index ``db``.

    Beside the tables for a local index (deleting the index deletes its cache); under the
    user's cache folder for an index on object storage.
    """
    if "://" not in db:
        path = Path(db) / ".flows"
    else:
        digest = hashlib.sha256(db.encode()).hexdigest()[:16]
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        path = base / "archivist" / "flows" / digest
    path.mkdir(parents=True, exist_ok=True)
    return path


def note_full_disk(db: str, results: Iterable[IngestResult]) -> None:
    """When documents failed for a full disk, say how much of it the work folder holds.

    For a local index the work folder (stage-output cache, ledger) lies inside the index, on
    the same disk: it can take as much room as the tables. It is only a cache, safe to delete,
    and ``ARCHIVIST_RESULT_STORAGE`` puts the cached results elsewhere.
    """
    if "://" in db or not any(e.errno == errno.ENOSPC for r in results for e in r.errors):
        return
    folder = Path(db) / ".flows"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    log.warning(
        "the disk holding the index %s is full; the flows' work folder %s takes %.1f MiB of it "
        "(a cache: safe to delete; ARCHIVIST_RESULT_STORAGE keeps results elsewhere)",
        db,
        folder,
        size / 2**20,
    )
