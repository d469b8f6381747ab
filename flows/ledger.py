"""Which bytes an object's version marker stood for, so unchanged objects are not downloaded.

Local files are hashed on every sync (reading a file is cheap); objects in a bucket are not
downloaded again when their ETag is the one recorded at the last sync *and* the index still
holds the bytes recorded with it. The ledger is only a hint: a missing or lost ledger costs a
download, never a wrong result, because the index is checked before anything is skipped.

An entry is recorded only when the object's ETag after ingesting equals the one listed before,
so bytes fetched while the object was being replaced are never filed under the old ETag.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class FingerprintLedger:
    """``uri → (fingerprint, doc_id)``, kept as JSON in the index's work folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, list[str]] = {}
        try:
            self._entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._entries = {}  # missing or damaged: it only costs downloads

    def lookup(self, uri: str, fingerprint: str) -> str | None:
        """The doc id recorded for ``uri`` at this ``fingerprint``, if any."""
        entry = self._entries.get(uri)
        return entry[1] if entry and entry[0] == fingerprint else None

    def record(self, uri: str, fingerprint: str, doc_id: str) -> None:
        with self._lock:
            self._entries[uri] = [fingerprint, doc_id]

    def forget(self, uri: str) -> None:
        with self._lock:
            self._entries.pop(uri, None)

    def save(self) -> None:
        """Write atomically (a crash leaves the old ledger, not half a file). A ledger that
        cannot be written (a full or read-only disk) is logged, not raised: it is only a hint,
        and raising here would lose the run's report after its documents were handled."""
        with self._lock:
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            try:
                tmp.write_text(json.dumps(self._entries, ensure_ascii=False), encoding="utf-8")
                tmp.replace(self.path)
            except OSError as e:
                log.warning("could not save the fingerprint ledger %s: %s", self.path, e)
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
