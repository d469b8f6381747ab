"""``/v1/documents``: list (paged), read (metadata + Markdown), delete — within the caller's scope.

A document in a collection the key may not see answers 404, exactly like one that does not
exist: a scoped key learns nothing about other collections.
"""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.auth import Principal
from api.deps import ArchiveDep, Reader, RuntimeDep, Writer, scoped
from api.errors import ApiError
from api.page_images import PageImageCache, PageUnavailable, page_size, render_page
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
    record = _visible(archive, principal, doc_id)
    return DocumentDetail.of(record, archive.store.variants_of(record))


@router.get(
    "/{doc_id}/pages/{page}.png",
    summary="A page as a PNG image",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "the page (PNG)"},
        304: {"description": "the image the client holds is current"},
        404: {"description": "no such document or page here, or its file is gone"},
    },
)
async def page_image(
    doc_id: DocId,
    page: Annotated[int, Path(ge=1, le=100_000, description="1-based")],
    principal: Reader,
    archive: ArchiveDep,
    request: Request,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Page ``page`` of the document rendered to PNG (PDF), or a text view of it (Markdown,
    text). ``X-Page-Width``/``X-Page-Height`` give the page's size in PDF points, the unit of
    ``citations[].regions``. Cached: only the first request for a page renders it."""
    record = await run_in_threadpool(_visible, archive, principal, doc_id)
    cache: PageImageCache = request.app.state.page_cache
    px: int = request.app.state.api_settings.api_page_image_px
    key = cache.key(doc_id, page, px)
    etag = f'"{key.removesuffix(".png")}"'
    headers = {"Cache-Control": "private, max-age=86400", "ETag": etag}
    if if_none_match == etag and cache.has(key):
        return Response(status_code=304, headers=headers)
    png = await run_in_threadpool(cache.get, key)
    if png is None:
        uploads = request.app.state.uploads_dir
        try:
            image = await run_in_threadpool(
                render_page, record, page, uploads_dir=uploads, max_px=px
            )
        except PageUnavailable as e:
            raise ApiError(404, str(e), param="page") from e
        await run_in_threadpool(cache.put, key, image.png)
        png = image.png
    size = page_size(png[:256])
    if size is not None:
        headers["X-Page-Width"], headers["X-Page-Height"] = (f"{v:.2f}" for v in size)
    return Response(png, media_type="image/png", headers=headers)


@router.delete("/{doc_id}", response_model=DeleteResponse, summary="Delete a document")
def delete_document(
    doc_id: DocId, principal: Writer, runtime: RuntimeDep, request: Request
) -> DeleteResponse:
    """Remove the document, its chunks and its uploaded file (if it came through ``/v1/ingest``)."""
    with runtime.writing() as archive:
        record = _visible(archive, principal, doc_id)
        archive.store.delete_document(doc_id)
        request.app.state.page_cache.drop(doc_id)
        folder = upload_folder(request.app.state.uploads_dir, doc_id)
        if folder is not None and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
    return DeleteResponse(deleted=doc_id, chunks=record.chunks)


def _visible(archive: Archive, principal: Principal, doc_id: str) -> DocumentRecord:
    record = archive.store.get_document(doc_id)
    if record is None or not principal.can_see(record.collection):
        raise ApiError(404, f"no document {doc_id}", param="doc_id")
    return record
