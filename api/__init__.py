"""archivist's REST API: FastAPI routers over ``pipeline.archive.Archive``.

The core (``pipeline``) never imports this package; ``create_app`` is the entry point.
"""

from api.app import create_app

__all__ = ["create_app"]
