"""The FastAPI application factory.

``create_app`` wires Settings, API keys and one ``Archive`` into the routers. It is what
``archivist serve`` runs, and what a deployment can run directly::

    uvicorn api.app:create_app --factory --host 127.0.0.1 --port 8000

The archive loads in the background when the app starts (``/readyz`` turns 200 once it has).

>>> app = create_app(Settings(db="/tmp/idx"))                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.auth import Gate, KeyRing
from api.errors import ErrorResponse, install_error_handlers
from api.middleware import RequestContextMiddleware
from api.page_images import PageImageCache
from api.routes import chat, documents, health, ingest, query
from api.routes.web import mount_web
from api.runtime import ArchiveRuntime
from api.settings import ApiSettings
from pipeline.archive import Archive
from pipeline.settings import Settings

DESCRIPTION = """\
Ask an archive of documents questions over HTTP and get answers that cite document and page.

Authenticate with `Authorization: Bearer <API key>`. `/v1/chat/completions` and `/v1/models`
follow OpenAI's API, so OpenAI clients and chat UIs work against `/v1` unchanged.
"""


def create_app(
    settings: Settings | None = None,
    *,
    archive: Archive | None = None,
    api_settings: ApiSettings | None = None,
    keys: KeyRing | None = None,
) -> FastAPI:
    """The REST API over one archive.

    ``settings`` gives the index (``db``) and stage options; ``archive`` reuses one already open
    (tests, embedding in another app); ``api_settings`` and ``keys`` default to the environment
    (``ARCHIVIST_API_*``).
    """
    settings = settings or Settings()
    api_settings = api_settings or ApiSettings()
    keys = keys if keys is not None else KeyRing.from_settings(api_settings)
    runtime = ArchiveRuntime(
        archive or Archive(settings.options()),
        refresh_s=api_settings.api_refresh_s,
        ready_wait_s=api_settings.api_ready_wait_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        yield

    app = FastAPI(
        title="archivist",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from local copies by api.routes.web, not from a CDN
        redoc_url=None,
        responses={
            401: {"model": ErrorResponse, "description": "missing or invalid API key"},
            422: {"model": ErrorResponse, "description": "invalid request"},
        },
    )
    app.state.settings = settings
    app.state.api_settings = api_settings
    app.state.runtime = runtime
    app.state.uploads_dir = api_settings.uploads_dir(settings.db)
    app.state.page_cache = PageImageCache(
        api_settings.page_cache_dir(settings.db),
        max_bytes=int(api_settings.api_page_cache_mb * 1024 * 1024),
    )
    install_error_handlers(app)
    for module in (health, query, chat, documents, ingest):
        app.include_router(module.router)
    mount_web(app)
    _add_middleware(app, api_settings, keys)
    return app


def _add_middleware(app: FastAPI, api_settings: ApiSettings, keys: KeyRing) -> None:
    """The gate (keys, rate limit), body limits and request ids; CORS outside them when asked."""

    def body_limit(path: str) -> int:
        if path.rstrip("/") == "/v1/ingest":
            return api_settings.max_ingest_body_bytes
        return api_settings.max_json_bytes

    gate = Gate(
        keys, insecure=api_settings.api_insecure, rate_per_minute=api_settings.api_rate_limit
    )
    app.add_middleware(RequestContextMiddleware, gate=gate, body_limit=body_limit)
    origins = [o.strip() for o in api_settings.api_cors_origins.split(",") if o.strip()]
    if origins:  # outermost, so a browser's preflight is answered before the key is asked for
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "X-Page-Width", "X-Page-Height"],
        )


def _version() -> str:
    try:
        return version("archivist")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0.0.0"
