"""``archivist documents list | show | delete``: the index's documents, as ``/v1/documents``
shows them (the same JSON shapes), failed ones included.

A document is named by its id (the sha256 of its bytes) or by a unique prefix of it, at least
8 characters, as ``list`` prints them. The index is opened with the embedder recorded in it, so
no model is loaded.
"""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING, Annotated, Any, get_args

import typer
from rich.markup import escape

from cli.app import (
    EXIT_USAGE,
    CollOpt,
    DateOpt,
    DbOpt,
    JsonOpt,
    LangOpt,
    app,
    fail,
    require_index,
    settings_for,
)
from cli.render import console, json_line, pages_label, short_source
from pipeline.models import DocumentRecord, DocumentStatus, SearchFilters

if TYPE_CHECKING:
    from pipeline.settings import Settings
    from pipeline.store import LanceChunkStore

documents_app = typer.Typer(
    no_args_is_help=True,
    help="The documents in the index: list (with filters), show one, delete some.",
)
app.add_typer(documents_app, name="documents")

STATUSES = get_args(DocumentStatus)
MIN_PREFIX = 8
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
IdsArg = Annotated[list[str], typer.Argument(help="Document ids, or unique prefixes of them.")]


def _open(settings: Settings) -> LanceChunkStore:
    from pipeline.store import LanceChunkStore

    require_index(settings)
    return LanceChunkStore.open(settings.store)


@documents_app.command("list")
def list_cmd(
    db: DbOpt = None,
    collection: CollOpt = None,
    language: LangOpt = None,
    date_from: DateOpt = None,
    date_to: DateOpt = None,
    status: Annotated[
        str | None, typer.Option(help="Only documents in this state: ok, partial or failed.")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed documents.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Documents to show.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Documents to skip first.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List documents in the order they are stored, with their state and why they failed."""
    if failed:
        status = "failed"
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"must be one of {', '.join(STATUSES)}", param_hint="--status")
    filters = SearchFilters(
        collection=collection,
        language=language,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
    )
    store = _open(settings_for(db))
    total = store.count_documents(filters, status)
    items = store.list_documents(limit=limit, offset=offset, filters=filters, status=status)
    end = offset + len(items)
    if as_json:
        page = {"items": [_out(r) for r in items], "total": total, "limit": limit}
        json_line({**page, "offset": offset, "next_offset": end if end < total else None})
        return
    for record in items:
        console.print(escape(_line(record)))
    shown = f"{offset + 1}-{end} of {total}" if items else f"none of {total}"
    more = f"; next: --offset {end}" if end < total else ""
    console.print(f"{shown} documents{more}")


def _line(record: DocumentRecord) -> str:
    """One document on one line: id prefix, state, date, language, collection, size, name."""
    date = record.date.isoformat() if record.date else "-" * 10
    size = f"{record.pages}p/{record.chunks}c"
    name = record.title or short_source(record.uri)
    line = (
        f"{record.doc_id[:12]}  {record.status:<7}  {date}  {record.language or '--':<2}  "
        f"{record.collection}  {size}  {name}"
    )
    if record.status != "ok" and record.errors:
        line += f"  ({'; '.join(str(e) for e in record.errors)})"
    return line


@documents_app.command("show")
def show(
    doc_id: Annotated[str, typer.Argument(help="A document id, or a unique prefix of it.")],
    db: DbOpt = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the document's Markdown after its details.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """A document's metadata, ingestion state and variants (with --json, its Markdown too)."""
    store = _open(settings_for(db))
    record = store.get_document(_resolve(store, doc_id))
    assert record is not None  # _resolve found it
    view = document_view(store, record)
    if as_json:
        json_line(view)
        return
    for field in ("doc_id", "title", "uri", "date", "language", "collection", "status"):
        console.print(f"{field:<12} {escape(str(view[field]))}")
    pages = pages_label(1, record.pages) if record.pages else "no pages"
    methods = ", ".join(record.page_methods) or "-"
    console.print(f"{'pages':<12} {pages} ({methods}), {record.chunks} chunks")
    console.print(f"{'ingested':<12} {view['ingested_at']} ({record.converter})")
    for error in record.errors:
        console.print(f"{'error':<12} {escape(str(error))}")
    if view["variants"]:
        console.print(f"{'story':<12} {view['cluster_id']}")
    for variant in view["variants"]:
        console.print(f"{'variant':<12} {escape(_line(DocumentRecord(**variant)))}")
    if markdown:
        console.print()
        print(record.markdown)


def document_view(store: LanceChunkStore, record: DocumentRecord) -> dict[str, Any]:
    """What ``show --json`` prints: ``GET /v1/documents/{id}``, metadata, Markdown and
    ``variants``: the other versions of its story in the index, as list items, oldest first."""
    from api.schemas import DocumentDetail

    detail = DocumentDetail.of(record, store.variants_of(record))
    return detail.model_dump(mode="json")


@documents_app.command("delete")
def delete(ids: IdsArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Remove documents with their chunks (and their uploaded file, if they came through the
    API). Every id is checked before anything is deleted."""
    from api.settings import ApiSettings

    settings = settings_for(db)
    store = _open(settings)
    records = {}
    for given in ids:  # every id resolved before anything is deleted
        doc_id = _resolve(store, given)
        records[doc_id] = store.get_document(doc_id)
    uploads = ApiSettings().uploads_dir(settings.db)
    for record in (r for r in records.values() if r is not None):
        store.delete_document(record.doc_id)
        folder = uploads / record.doc_id if uploads is not None else None
        if folder is not None and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        if as_json:
            json_line({"deleted": record.doc_id, "chunks": record.chunks})
        else:
            console.print(f"deleted {record.doc_id[:12]} ({record.chunks} chunks) {record.uri}")


def _resolve(store: LanceChunkStore, given: str) -> str:
    """The full id of the one document ``given`` names (exit 2 when none or several do)."""
    if not _ID.match(given):
        fail(f"not a document id: {given!r}", EXIT_USAGE)
    if store.get_document(given) is not None:
        return given
    if len(given) < MIN_PREFIX:
        fail(f"no document {given} (a prefix needs {MIN_PREFIX} characters)", EXIT_USAGE)
    found = store.document_ids_starting(given, limit=2)
    if len(found) != 1:
        fail(f"no document {given}" if not found else f"{given} names several", EXIT_USAGE)
    return found[0]


def _out(record: DocumentRecord) -> dict[str, Any]:
    """A document as ``/v1/documents`` lists it (no Markdown), JSON-ready."""
    from api.schemas import DocumentOut

    return DocumentOut.of(record).model_dump(mode="json")
