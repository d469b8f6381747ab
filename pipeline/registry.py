"""Backends by ``kind`` (STYLE.md 4): one registry class for every swappable role.

Converters, OCR engines, embedders, rerankers, answerers and connectors each have one
``Registry``: kind → factory. Kinds are declared as entry points (``importlib.metadata``) in the
registry's group, so a plugin package adds a kind with one line in its own pyproject.toml;
archivist's built-ins are declared the same way in ours::

    [project.entry-points."archivist.ocr_engines"]
    rapidocr = "pipeline.ocr.rapid:make_rapidocr"

An entry point is loaded (its module imported) only when its kind is first asked for, so listing
the kinds stays cheap. ``register`` adds a kind at run time (tests, notebooks); it wins over a
declared one. An unknown kind fails the same way everywhere, naming the valid ones:

>>> engines = Registry("OCR engine", "archivist.no_such_group")
>>> engines.register("fake", len)
>>> engines.get("nope")
Traceback (most recent call last):
...
pipeline.errors.ConfigError: unknown OCR engine 'nope'; valid: fake
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from pipeline.errors import ConfigError

log = logging.getLogger(__name__)

F = TypeVar("F")
O = TypeVar("O")  # noqa: E741 - options
T = TypeVar("T")

GROUPS = {
    "converters": "archivist.converters",
    "ocr_engines": "archivist.ocr_engines",
    "layout_models": "archivist.layout_models",
    "embedders": "archivist.embedders",
    "rerankers": "archivist.rerankers",
    "answerers": "archivist.answerers",
    "connectors": "archivist.connectors",
}


class Registry(Generic[F]):
    """Kind → factory for one role, filled from the entry-point ``group`` and ``register``."""

    def __init__(self, role: str, group: str, *, extra_valid: tuple[str, ...] = ()) -> None:
        self.role = role
        self.group = group
        self.extra_valid = extra_valid  # shown as valid without being kinds ("auto")
        self._added: dict[str, F] = {}
        self._loaded: dict[str, F] = {}
        self._declared: dict[str, EntryPoint] | None = None
        self._built: dict[tuple[str, Hashable], Any] = {}
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()

    def register(self, kind: str, factory: F) -> None:
        """Make ``kind`` available now (it wins over an entry point of the same name)."""
        with self._lock:
            self._added[kind] = factory
        self.forget_built(kind)

    def unregister(self, kind: str) -> None:
        """Forget a kind added with ``register`` (declared entry points stay)."""
        with self._lock:
            self._added.pop(kind, None)
        self.forget_built(kind)

    @contextlib.contextmanager
    def overridden(self, kind: str, factory: F) -> Iterator[None]:
        """``kind`` made by ``factory`` inside the block, as it was after (tests)."""
        with self._lock:
            before = self._added.get(kind)
            self._added[kind] = factory
        self.forget_built(kind)
        try:
            yield
        finally:
            with self._lock:
                if before is None:
                    self._added.pop(kind, None)
                else:
                    self._added[kind] = before
            self.forget_built(kind)

    def refresh(self) -> None:
        """Read the entry points again (a plugin installed while this process runs)."""
        with self._lock:
            self._declared = None
            self._loaded.clear()

    def kinds(self) -> list[str]:
        """Every kind available, sorted (declared ones are not imported to list them)."""
        return sorted({*self._entry_points(), *self._added})

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and kind in self.kinds()

    def __iter__(self) -> Iterator[str]:
        return iter(self.kinds())

    def get(self, kind: str) -> F:
        """The factory for ``kind``; ``ConfigError`` naming the valid kinds when there is none."""
        if kind in self._added:
            return self._added[kind]
        declared = self._entry_points().get(kind)
        if declared is None:
            valid = ", ".join(sorted({*self.kinds(), *self.extra_valid}))
            raise ConfigError(f"unknown {self.role} {kind!r}; valid: {valid}")
        with self._lock:
            if kind not in self._loaded:
                try:
                    self._loaded[kind] = declared.load()
                except ImportError as e:
                    raise ConfigError(
                        f"{self.role} {kind!r} ({declared.value}) cannot be loaded: {e}"
                    ) from e
            return self._loaded[kind]

    def build(
        self: Registry[Callable[[O], T]], kind: str, options: O, *, key: Hashable | None = None
    ) -> T:
        """``get(kind)(options)``, made once per process for the same kind and ``key`` (the
        options by default): models load once, however many callers ask."""
        factory = self.get(kind)
        cache_key = (kind, options if key is None else key)
        with self._build_lock:
            if cache_key not in self._built:
                log.info("loading %s %s", self.role, kind)
                self._built[cache_key] = factory(options)
            built: T = self._built[cache_key]
            return built

    def forget_built(self, kind: str | None = None) -> None:
        """Drop what ``build`` made (for ``kind``, or all): the next ``build`` makes it again."""
        with self._build_lock:
            for cache_key in [k for k in self._built if kind is None or k[0] == kind]:
                del self._built[cache_key]

    def _entry_points(self) -> dict[str, EntryPoint]:
        if self._declared is None:
            self._declared = {ep.name: ep for ep in entry_points(group=self.group)}
        return self._declared
