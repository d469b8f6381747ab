"""archivist's REST API: FastAPI routers over ``pipeline.archive.Archive``.

The core (``pipeline``) never imports this package; ``create_app`` is the entry point. It is
imported on first use, so reading ``api.settings`` (the settings check does) loads no FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from api.app import create_app

        return create_app
    raise AttributeError(name)
