"""The web page at ``/`` and the API docs (``/docs``, ``/redoc``), all served from this machine.

The page is plain HTML, CSS and a little JavaScript kept in ``api/web/`` (package data): no build
step, nothing from a CDN. It holds no data of its own: it calls ``/v1/ask``, ``/v1/documents`` and
the page images with the API key the user types, kept in the browser's ``sessionStorage``.

Swagger UI and ReDoc come from the ``fastapi-offline`` wheel's copies of their scripts, served
under ``/docs-assets/``, so ``/docs`` works with no network.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(str(files("api") / "web"))
UI_PREFIX = "/ui"
DOCS_ASSETS = "/docs-assets"

router = APIRouter(include_in_schema=False)


def docs_assets_dir() -> Path:
    """Swagger UI's and ReDoc's scripts as the ``fastapi-offline`` wheel ships them."""
    return Path(str(files("fastapi_offline") / "static"))


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/docs", response_class=HTMLResponse)
def swagger(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="archivist API",
        swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{UI_PREFIX}/favicon.svg",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from the validator
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_redoc_html(
        openapi_url=f"{root}/openapi.json",
        title="archivist API",
        redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{UI_PREFIX}/favicon.svg",
        with_google_fonts=False,
    )


def mount_web(app: FastAPI) -> None:
    """The page, its assets and the offline API docs on ``app`` (created with ``docs_url`` and
    ``redoc_url`` None, so FastAPI's CDN pages are not there)."""
    app.include_router(router)
    app.mount(UI_PREFIX, StaticFiles(directory=WEB_DIR), name="ui")
    app.mount(DOCS_ASSETS, StaticFiles(directory=docs_assets_dir()), name="docs-assets")
