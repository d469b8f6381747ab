"""The archive as the server holds it: loaded in the background, shared, kept fresh.

Loading the embedder and opening the tables takes seconds, so it runs in a thread started with the
app: ``/healthz`` answers at once, ``/readyz`` says 503 until the index and models are loaded, and
a request that arrives meanwhile waits a little (``api_ready_wait_s``), then gets 503.

Writes (ingest, delete) take one lock: LanceDB handles concurrent readers, and one writer at a time
keeps "replace the old version, then drop its upload" atomic as seen from this server. Writes made
by another process (``archivist ingest``, a watcher) are picked up every ``refresh_s`` seconds by
checking out the tables' latest versions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from api.errors import ApiError
from pipeline.archive import Archive

log = logging.getLogger(__name__)


class ArchiveRuntime:
    """One ``Archive`` behind readiness, a writer lock and periodic refresh."""

    def __init__(self, archive: Archive, *, refresh_s: float = 5.0, ready_wait_s: float = 30.0):
        self.archive = archive
        self.refresh_s = refresh_s
        self.ready_wait_s = ready_wait_s
        self.ready = threading.Event()
        self.error: str | None = None
        self._started = False
        self._start_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._refreshed_at = time.monotonic()

    def start(self) -> None:
        """Begin loading in a background thread (once)."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._warm, name="archivist-warmup", daemon=True).start()

    def _warm(self) -> None:
        started = time.perf_counter()
        try:
            store = self.archive.store  # loads the embedder, opens (or creates) both tables
            self.archive.embedder.embed_query("warm-up")
            self.archive.counter.count("warm-up")  # the tokenizer every answerer is built with
            log.info(
                "index ready: %d documents, embedder %s (%.1fs)",
                store.count_documents(),
                self.archive.embedder.name,
                time.perf_counter() - started,
            )
        except Exception as e:  # reported by /readyz and every request, not lost in a thread
            self.error = f"{type(e).__name__}: {e}"
            log.exception("could not load the index")
        finally:
            self._refreshed_at = time.monotonic()
            self.ready.set()

    def status(self) -> tuple[bool, str]:
        """(ready, reason) for ``/readyz``."""
        if not self.ready.is_set():
            return False, "loading the index and models"
        if self.error:
            return False, self.error
        return True, "ready"

    def get(self) -> Archive:
        """The loaded archive, fresh; waits for loading, else raises a 503 ``ApiError``."""
        self.start()
        if not self.ready.wait(self.ready_wait_s):
            raise ApiError(503, "the index is still loading", headers={"Retry-After": "5"})
        if self.error:
            raise ApiError(503, f"the index could not be loaded: {self.error}")
        self._refresh()
        return self.archive

    @contextmanager
    def writing(self) -> Iterator[Archive]:
        """The archive, with this server's single-writer lock held."""
        archive = self.get()
        with self._write_lock:
            yield archive

    def _refresh(self) -> None:
        if time.monotonic() - self._refreshed_at < self.refresh_s:
            return
        if not self._refresh_lock.acquire(blocking=False):
            return  # another request is refreshing: this one reads the version it has
        try:
            store = self.archive.store
            for table in (store.documents, store.chunks):
                table.checkout_latest()
            self._refreshed_at = time.monotonic()
        except Exception:  # a failed refresh must not fail the read: it uses the last version
            log.exception("could not refresh the index from disk")
        finally:
            self._refresh_lock.release()
