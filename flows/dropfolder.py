"""The files of a drop folder: when one has settled, which names are taken, where they move, and
what a failed one's report says. ``flows.watch`` schedules them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.models import IngestResult

# Names that downloaders and editors give to files still being written.
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".swp", "~")


class StabilityTracker:
    """Says when a file's size and mtime have held still for ``settle_s`` seconds."""

    def __init__(self, settle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.settle_s = settle_s
        self.clock = clock
        self._seen: dict[Path, tuple[tuple[int, int], float]] = {}

    def observe(self, path: Path) -> bool:
        """Record the file's current state; True once it has been unchanged long enough."""
        try:
            st = path.stat()
        except OSError:
            self._seen.pop(path, None)
            return False
        sig, now = (st.st_size, st.st_mtime_ns), self.clock()
        previous = self._seen.get(path)
        if previous is None or previous[0] != sig:
            self._seen[path] = (sig, now)
            return False
        return now - previous[1] >= self.settle_s

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)


def eligible(path: Path) -> bool:
    """A visible, finished-looking file name (no dotfile, no ``.part`` download)."""
    name = path.name
    return not name.startswith(".") and not name.lower().endswith(PARTIAL_SUFFIXES)


def reserve(folder: Path, name: str, *, companion: str | None = None) -> Path:
    """A new, empty file in ``folder`` named ``name`` or ``stem (n).suffix``, created exclusively
    so that two files with one name never overwrite each other (the caller replaces it)."""
    stem, suffix = os.path.splitext(name)
    for n in range(1, 100_000):
        candidate = folder / (name if n == 1 else f"{stem} ({n}){suffix}")
        if companion and candidate.with_name(candidate.name + companion).exists():
            continue
        try:
            with candidate.open("x"):
                return candidate
        except FileExistsError:
            continue
    raise ConfigError(f"{folder}: no free name for {name}")


def move_as_read(path: Path, dest: Path, data: bytes, read_as: tuple[int, int]) -> None:
    """Move the dropped file to ``dest``; if it was replaced since it was read (a new file with
    the same name dropped meanwhile), put the bytes that were indexed at ``dest`` instead and
    leave the new file to be taken on its own."""
    try:
        st = path.stat()
        unchanged = (st.st_size, st.st_mtime_ns) == read_as
    except FileNotFoundError:
        unchanged = False
    if unchanged:
        os.replace(path, dest)
        return
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, dest)


def mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def error_text(dropped: Path, dest: Path, data: bytes, result: IngestResult) -> str:
    """The report beside a failed file; its ``size``/``sha256`` lines let the watcher see that
    the file changed since (``changed_since_failed``)."""
    lines = [
        f"file: {dest.name}",
        f"dropped as: {dropped}",
        f"failed at: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC",
        f"sha256: {hashlib.sha256(data).hexdigest()}",
        f"size: {len(data)}",
        "reason:",
        *[f"  {e}" for e in result.errors],
        "",
        "Fix the file and drop it again; this copy is kept as it was received.",
    ]
    return "\n".join(lines) + "\n"


def changed_since_failed(path: Path) -> bool:
    """Whether a file in ``failed/`` no longer holds the bytes its report names (a writer that
    kept writing into it after it was moved): worth checking again."""
    report = path.with_name(path.name + ".error.txt")
    try:
        fields = dict(
            line.split(": ", 1) for line in report.read_text("utf-8").splitlines() if ": " in line
        )
        size = path.stat().st_size
    except (OSError, ValueError):
        return False
    if "size" not in fields or "sha256" not in fields:  # a report from before these lines
        return False
    if str(size) != fields["size"].strip():
        return True
    return hashlib.sha256(path.read_bytes()).hexdigest() != fields["sha256"].strip()
