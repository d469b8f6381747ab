"""The ``archivist`` Typer app, the options its commands share, and how errors end a command.

Command modules import ``app`` from here and register on it; ``cli.main`` imports them all.

Exit codes, the same for every command:

- ``0``: everything went through;
- ``1``: the run finished, but some documents failed (each named with its reason), or an eval
  fell below its ``--fail-below`` bar;
- ``2``: nothing ran: a usage or configuration error (unknown option, missing path, malformed
  or unknown key in ``archivist.toml``, an invalid setting, no index at ``--db``);
- ``3``: a backend failed while running (the LLM or vision server, the index's storage).

A configuration error or a backend failure prints one line (``error: …``), never a traceback;
``-vv`` adds the traceback to the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from pipeline.errors import ConfigError, EngineError, IndexSchemaError
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.archive import Archive

log = logging.getLogger("cli")

EXIT_FAILED_DOCUMENTS = 1
EXIT_USAGE = 2
EXIT_BACKEND = 3
# Settings classes whose validation errors are an operator's settings, not a bug of ours.
SETTINGS_MODELS = ("Settings", "ApiSettings", "RunnerSettings")


class ArchivistGroup(TyperGroup):
    """The command group: turns configuration errors and backend failures into one line and an
    exit code (module docstring), whichever command raised them."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, IndexSchemaError) as e:
            fail(str(e), EXIT_USAGE, e)
        except ValidationError as e:
            if e.title not in SETTINGS_MODELS:
                raise
            fail(settings_problem(e), EXIT_USAGE, e)
        except EngineError as e:
            fail(str(e), EXIT_BACKEND, e)


def fail(message: str, code: int, error: BaseException | None = None) -> None:
    """Print ``error: message`` on stderr and end the command with ``code``."""
    from rich.markup import escape

    from cli.render import err_console

    if error is not None:
        log.debug("%s", message, exc_info=error)
    err_console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def settings_problem(error: ValidationError) -> str:
    """A settings validation error in one line: each bad setting by its path, and why."""
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(p) for p in item.get("loc", ())) or "settings"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    more = f" (and {error.error_count() - 3} more)" if error.error_count() > 3 else ""
    return "invalid setting " + "; ".join(parts) + more + " (flags, ARCHIVIST_*, archivist.toml)"


app = typer.Typer(
    cls=ArchivistGroup,
    add_completion=False,
    no_args_is_help=True,
    help="archivist: turn an archive of PDFs into something you can ask questions of.",
)

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Index location (env ARCHIVIST_DB).", show_default=False)
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
KOpt = Annotated[
    int | None, typer.Option("--k", "-k", min=1, max=200, help="Passages to retrieve.")
]
DateOpt = Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])]
LangOpt = Annotated[str | None, typer.Option("--language", help="Only this language (fr, en...).")]
CollOpt = Annotated[str | None, typer.Option("--collection", help="Only this collection.")]


ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        help="Glob of files to leave out of folders (repeatable), e.g. 'README*' or 'drafts/**'.",
    ),
]


def collection_name(value: str) -> str:
    """A ``--collection`` that documents are filed under: refused early when not a valid name."""
    from pipeline.models import check_collection

    try:
        return check_collection(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e


WriteCollOpt = Annotated[
    str,
    typer.Option("--collection", help="Collection to file them under.", callback=collection_name),
]


def settings_for(db: str | None, **overrides: object) -> Settings:
    """Settings (env, archivist.toml) with ``--db`` and other flags on top."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if db:
        values["db"] = db
    return Settings(**values)  # type: ignore[arg-type]


def require_index(settings: Settings, *, create: bool = False) -> None:
    """Refuse (exit 2, one line) a file given as the index location, and, unless ``create``, a
    location that holds no index: only ``ingest``, ``sync``, ``watch`` and ``demo`` create one."""
    from pipeline.store import check_location

    try:
        check_location(settings.store, create=create)
    except ConfigError as e:
        message = str(e)
        if message.startswith("no index"):
            message += f" (`archivist ingest PATH --db {settings.db}` creates one)"
        fail(message, EXIT_USAGE, e)


def open_archive(db: str | None, *, create: bool = False, **overrides: object) -> Archive:
    """An Archive from Settings (env, archivist.toml) with ``--db`` and other flags on top.

    Unless ``create``, the location must already hold an index (``require_index``).
    """
    from pipeline.archive import Archive

    settings = settings_for(db, **overrides)
    require_index(settings, create=create)
    return Archive(settings.options())
