"""Backends by ``kind`` (STYLE.md 4): one lookup, so every registry fails the same way.

>>> lookup({"offline": 1, "openai": 2}, "gpt", "answer backend")
Traceback (most recent call last):
...
pipeline.errors.ConfigError: unknown answer backend 'gpt'; valid: offline, openai
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pipeline.errors import ConfigError

F = TypeVar("F")


def lookup(registry: Mapping[str, F], kind: str, role: str) -> F:
    """The factory registered under ``kind``; an unknown kind names the valid ones."""
    try:
        return registry[kind]
    except KeyError:
        valid = ", ".join(sorted(registry))
        raise ConfigError(f"unknown {role} {kind!r}; valid: {valid}") from None
