"""``/v1/documents``: list (paged), read (metadata + Markdown), delete — within the caller's scope.

A document in a collection the key may not see answers 404, exactly like one that does not
exist: a scoped key learns nothing about other collections.
"""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.auth import Principal
from api.deps import ArchiveDep, Reader, RuntimeDep, Writer, scoped
from api.errors import ApiError
from api.schemas import (
    COLLECTION_PATTERN,
    MAX_OFFSET,
    DeleteResponse,
    DocumentDetail,
    DocumentOut,
    DocumentPage,
)
from api.uploads import upload_folder
from pipeline.archive import Archive
from pipeline.models import DocumentRecord, DocumentStatus, SearchFilters

router = APIRouter(prefix="/v1/documents", tags=["documents"])

DocId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="the sha256 of the bytes")
]


@router.get("", response_model=DocumentPage, summary="List documents")
def list_documents(
    principal: Reader,
    archive: ArchiveDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    collection: Annotated[str | None, Query(pattern=COLLECTION_PATTERN)] = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2,3}$")] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: DocumentStatus | None = None,
) -> DocumentPage:
    """Documents in the index, failed ones included (``status``, ``errors``), without their text;
    ``status`` keeps one state (``failed``: what did not go in, and why)."""
    if date_from and date_to and date_from > date_to:
        raise ApiError(
            422, f"date_from ({date_from}) is after date_to ({date_to})", param="date_from"
        )
    wanted = SearchFilters(
        collection=collection, language=language, date_from=date_from, date_to=date_to
    )
    filters = scoped(principal, wanted)
    store = archive.store
    total = store.count_documents(filters, status)
    items = store.list_documents(limit=limit, offset=offset, filters=filters, status=status)
    end = offset + len(items)
    return DocumentPage(
        items=[DocumentOut.of(r) for r in items],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=end if end < total else None,
    )


@router.get("/{doc_id}", response_model=DocumentDetail, summary="A document with its Markdown")
def get_document(doc_id: DocId, principal: Reader, archive: ArchiveDep) -> DocumentDetail:
    return DocumentDetail.of(_visible(archive, principal, doc_id))


@router.delete("/{doc_id}", response_model=DeleteResponse, summary="Delete a document")
def delete_document(
    doc_id: DocId, principal: Writer, runtime: RuntimeDep, request: Request
) -> DeleteResponse:
    """Remove the document, its chunks and its uploaded file (if it came through ``/v1/ingest``)."""
    with runtime.writing() as archive:
        record = _visible(archive, principal, doc_id)
        archive.store.delete_document(doc_id)
        folder = upload_folder(request.app.state.uploads_dir, doc_id)
        if folder is not None and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
    return DeleteResponse(deleted=doc_id, chunks=record.chunks)


def _visible(archive: Archive, principal: Principal, doc_id: str) -> DocumentRecord:
    record = archive.store.get_document(doc_id)
    if record is None or not principal.can_see(record.collection):
        raise ApiError(404, f"no document {doc_id}", param="doc_id")
    return record
