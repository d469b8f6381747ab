"""The ``archivist`` Typer app and the options its commands share.

Command modules import ``app`` from here and register on it; ``cli.main`` imports them all.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.archive import Archive

app = typer.Typer(
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


def open_archive(db: str | None, **overrides: object) -> Archive:
    """An Archive from Settings (env, archivist.toml) with ``--db`` and other flags on top."""
    from pipeline.archive import Archive

    values = {k: v for k, v in overrides.items() if v is not None}
    if db:
        values["db"] = db
    return Archive(Settings(**values).options())  # type: ignore[arg-type]
