"""Where the command's log lines go: stderr, quiet unless asked.

- no flag: warnings and errors;
- ``-v``: archivist's own info lines too (what each stage does); other libraries stay at
  warnings, since HTTP clients (httpx, botocore…) log every request at info level;
- ``-vv``: debug lines of everything, libraries included.

Only the terminal is filtered: archivist's loggers always emit their info lines, so the log of
a Prefect flow run (whose handler Prefect attaches to them, ``PREFECT_LOGGING_EXTRA_LOGGERS``)
gets them whatever ``-v`` says.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

OWN_LOGGERS = ("pipeline", "connectors", "flows", "api", "cli", "evals")
FORMAT = "%(levelname)s %(name)s: %(message)s"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(FORMAT))

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # set by the base class; the property wins
        pass


def setup_logging(verbose: int) -> None:
    """Send log lines to stderr at the level ``verbose`` (the count of ``-v``) asks for."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)  # called again in one process (tests): one handler
    handler = StderrHandler()
    handler.setLevel(
        logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING
    )
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    own = logging.DEBUG if verbose >= 2 else logging.INFO
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own)
