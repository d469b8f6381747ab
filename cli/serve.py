"""``archivist serve`` (the REST API on uvicorn) and ``archivist api-key`` (make a key).

Without any API key the server listens on loopback only; ``--host 0.0.0.0`` then needs keys
(``ARCHIVIST_API_KEYS`` or ``--keys-file``) or an explicit ``--insecure``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.app import DbOpt, app, require_index
from cli.render import err_console
from pipeline.errors import ConfigError
from pipeline.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    db: DbOpt = None,
    keys_file: Annotated[
        Path | None,
        typer.Option("--keys-file", help="TOML file of API keys (env ARCHIVIST_API_KEYS_FILE)."),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            help="Allow serving beyond loopback with no API key (a gateway authenticates)."
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    create_index: Annotated[
        bool,
        typer.Option(
            "--create-index", help="Serve an empty new index when --db holds none (for /v1/ingest)."
        ),
    ] = False,
) -> None:
    """Serve the REST API and the OpenAI-compatible facade (OpenAPI docs at /docs).

    The index at --db must exist (`archivist ingest` makes one), unless --create-index.
    """
    import uvicorn

    from api.app import create_app
    from api.auth import KeyRing, check_bind
    from api.settings import ApiSettings

    overrides: dict[str, Any] = {"api_insecure": True} if insecure else {}
    if keys_file is not None:
        overrides["api_keys_file"] = keys_file
    try:
        settings = Settings(**({"db": db} if db else {}))  # type: ignore[arg-type]
        api_settings = ApiSettings(**overrides)
        keys = KeyRing.from_settings(api_settings)
        check_bind(host, keys, insecure=api_settings.api_insecure)
    except ConfigError as e:
        err_console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from e
    require_index(settings, create=create_index)
    level = log_level.lower()
    if level not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter("debug, info, warning or error", param_hint="--log-level")
    auth = f"{len(keys)} API key(s)" if keys else "no API key: loopback clients only"
    if not keys and api_settings.api_insecure:
        auth = "no API key, --insecure: every client is trusted"
    url = page_url(host, port)
    err_console.print(f"archivist API on {url} (docs: {url}docs), index {settings.db}, {auth}")
    print(f"Open {url} in a browser to ask the archive.", flush=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    uvicorn.run(
        create_app(settings, api_settings=api_settings, keys=keys),
        host=host,
        port=port,
        log_config=log_config(level),
        log_level=level,
        access_log=False,  # api.access logs each request with its id and key name instead
    )


def page_url(host: str, port: int) -> str:
    """The address to open in a browser: the bound one, or loopback when bound to every address.

    >>> page_url("0.0.0.0", 8000), page_url("::1", 8080)
    ('http://127.0.0.1:8000/', 'http://[::1]:8080/')
    """
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def log_config(level: str) -> dict[str, Any]:
    """Logging for the server: one format with the request id, for uvicorn's loggers and ours."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "plain",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.context.RequestIdFilter"}},
        "formatters": {"plain": {"format": LOG_FORMAT}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": level.upper()},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"level": "WARNING"},
        },
    }


@app.command("api-key")
def api_key(
    name: Annotated[str, typer.Option(help="Shown in the server log for this key's requests.")],
    collection: Annotated[
        list[str] | None,
        typer.Option("--collection", help="Limit the key to this collection (repeatable)."),
    ] = None,
    read_only: Annotated[bool, typer.Option(help="No ingest, no delete.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a new API key and print it with the keys-file entry (which holds only its hash)."""
    from api.auth import new_key
    from api.schemas import COLLECTION_PATTERN

    bad = [c for c in collection or [] if not re.match(COLLECTION_PATTERN, c)]
    if bad:
        raise typer.BadParameter(
            f"not a collection name: {', '.join(bad)}", param_hint="--collection"
        )
    key = new_key()
    entry: dict[str, str | list[str]] = {
        "name": name,
        "sha256": hashlib.sha256(key.encode()).hexdigest(),
    }
    if collection:
        entry["collections"] = sorted(set(collection))
    if read_only:
        entry["scopes"] = ["read"]
    if as_json:
        print(json.dumps({"key": key, "entry": entry}))
        return
    # plain print: a key must never be wrapped or restyled by the terminal renderer
    print(f"API key (shown once, give it to the client): {key}\n")
    print("Add to the keys file (ARCHIVIST_API_KEYS_FILE / --keys-file):\n")
    print("[[keys]]")
    for field, value in entry.items():
        print(f"{field} = {json.dumps(value)}")
