"""The keys of ``archivist.toml``, checked against every settings class that reads the file.

Several settings classes read ``archivist.toml``: the stages' ``Settings``, the REST server's,
the task runner's, and any a plugin declares in the ``archivist.settings`` entry-point group.
Each takes its own keys and leaves the others' alone, so a key that none of them knows (a typo,
``ocr_engnie = "vlm"``, or ``[convert] ocrr``) would be ignored without a word. It is refused
instead, naming the key, the closest known one and every key known at that level.

A settings class may accept names beyond its fields (documented flat names such as
``ocr_engine``) by listing them in a ``config_aliases()`` classmethod.

>>> from pydantic import BaseModel
>>> class Inner(BaseModel):
...     dpi: int = 150
>>> class Outer(BaseModel):
...     convert: Inner = Inner()
>>> unknown_keys({"convert": {"dpii": 200}}, [Outer])
[UnknownKey(key='convert.dpii', known=('dpi',), section='convert')]
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NamedTuple, get_args

from pydantic import BaseModel

from pipeline.errors import ConfigError

log = logging.getLogger(__name__)

GROUP = "archivist.settings"
NESTED = "__"


class UnknownKey(NamedTuple):
    """A key no settings class knows: its dotted path, the keys known where it stands."""

    key: str
    known: tuple[str, ...]
    section: str | None = None  # the table it stands in (None: the top level)

    def message(self, where: str) -> str:
        """One line: the key, the closest known key, the known keys at its level."""
        name = self.key.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(name, self.known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        table = f" in [{self.section}]" if self.section else ""
        return f"{where}: unknown key {self.key!r}{hint}; known{table}: {', '.join(self.known)}"


def settings_classes() -> list[type[BaseModel]]:
    """The settings classes declared in the ``archivist.settings`` entry-point group."""
    classes = []
    for ep in entry_points(group=GROUP):
        try:
            classes.append(ep.load())
        except Exception as e:  # a broken plugin: its keys count as unknown, and it is named
            log.warning("settings class %s (%s) did not load: %s", ep.name, ep.value, e)
    return classes


def unknown_keys(data: Mapping[str, Any], classes: Sequence[type[BaseModel]]) -> list[UnknownKey]:
    """Every key of ``data`` (a parsed TOML file) that no class in ``classes`` takes."""
    top = _top_names(classes)
    out: list[UnknownKey] = []
    for key, value in data.items():
        path = tuple(key.split(NESTED))
        owner = next((c for c in classes if path[0] in c.model_fields), None)
        if owner is not None:
            _walk(owner, path, value, "", out)
        elif path[0] not in top:
            out.append(UnknownKey(key, top))
    return out


def check_file(path: str | Path, data: Mapping[str, Any]) -> None:
    """Refuse ``data`` (the contents of the settings file ``path``) when a key is unknown.

    Checked once per version of the file in a process (its size and modification time).
    """
    file = Path(path)
    try:
        stat = file.stat()
    except OSError:
        return
    version = (str(file.resolve()), stat.st_mtime_ns, stat.st_size)
    if version in _CHECKED:
        return
    unknown = unknown_keys(data, settings_classes())
    if unknown:
        raise ConfigError(unknown[0].message(str(path)))
    _CHECKED.add(version)


_CHECKED: set[tuple[str, int, int]] = set()


def _top_names(classes: Iterable[type[BaseModel]]) -> tuple[str, ...]:
    names: set[str] = set()
    for cls in classes:
        names.update(cls.model_fields)
        aliases = getattr(cls, "config_aliases", None)
        if callable(aliases):
            names.update(aliases())
    return tuple(sorted(names))


def _walk(
    model: type[BaseModel], path: tuple[str, ...], value: Any, prefix: str, out: list[UnknownKey]
) -> None:
    """Check ``path`` (and, for a table, its keys) against ``model``'s fields."""
    name, rest = path[0], path[1:]
    fields = model.model_fields
    if name not in fields:
        out.append(UnknownKey(prefix + name, tuple(sorted(fields)), prefix.rstrip(".") or None))
        return
    inner = _model_of(fields[name].annotation)
    if inner is None:  # a value (a number, a list, a free-form table such as storage_options)
        return
    here = f"{prefix}{name}."
    if rest:
        _walk(inner, rest, value, here, out)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _walk(inner, tuple(str(key).split(NESTED)), item, here, out)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (``X`` or ``X | None``), else None."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None
