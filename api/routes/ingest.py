"""``POST /v1/ingest``: multipart upload of documents, one status per file.

Every file is received and checked first (size: 413, type: 415); only when all pass is anything
ingested, so a refused request leaves the archive as it was. An upload's identity is its collection
and file name (``upload://<collection>/<name>``): sending new bytes under the same name replaces the
old version, as re-ingesting a changed file does from the CLI. Bytes are deduplicated within a
collection only (``pipeline.models.document_id``): the same bytes sent into another collection
are indexed for it, and the answer never names another collection's document.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import RuntimeDep, Writer, write_collection
from api.errors import ApiError
from api.runtime import ArchiveRuntime
from api.schemas import COLLECTION_PATTERN, IngestFileResult, IngestResponse
from api.settings import ApiSettings
from api.uploads import Spooled, place, remove_upload, spool, upload_folder
from pipeline.archive import Archive
from pipeline.models import IngestResult, SourceDocument, SourceMetadata, document_id

router = APIRouter(prefix="/v1", tags=["ingest"])


@router.post("/ingest", response_model=IngestResponse, summary="Upload and ingest documents")
async def ingest(
    request: Request,
    principal: Writer,
    runtime: RuntimeDep,
    files: Annotated[list[UploadFile], File(description="PDF, Markdown or text files")],
    collection: Annotated[
        str | None, Form(pattern=COLLECTION_PATTERN, description="default: the key's own")
    ] = None,
    source: Annotated[
        str | None, Form(max_length=2000, description="source label stored with each file")
    ] = None,
) -> IngestResponse:
    """Convert, chunk, embed and index the uploaded files; each gets its own result."""
    settings: ApiSettings = request.app.state.api_settings
    uploads: Path | None = request.app.state.uploads_dir
    if uploads is None:
        raise ApiError(
            503, "uploads need ARCHIVIST_API_UPLOADS_DIR when the index is not on local disk"
        )
    if len(files) > settings.api_max_files:
        raise ApiError(
            413, f"{len(files)} files in one request; the limit is {settings.api_max_files}"
        )
    target = write_collection(principal, collection, request.app.state.settings.collection)
    spooled: list[Spooled] = []
    try:
        for upload in files:
            spooled.append(
                await spool(upload, uploads / ".incoming", max_bytes=settings.max_upload_bytes)
            )
        results = await run_in_threadpool(_ingest, runtime, spooled, target, source, uploads)
    finally:
        for s in spooled:
            s.temp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.action] = counts.get(r.action, 0) + 1
    return IngestResponse(collection=target, files=results, counts=counts)


def _ingest(
    runtime: ArchiveRuntime,
    spooled: list[Spooled],
    collection: str,
    source: str | None,
    uploads: Path,
) -> list[IngestFileResult]:
    meta = SourceMetadata(collection=collection, source=source)
    with runtime.writing() as archive:
        placed = [
            place(s.temp, uploads, document_id(s.sha256, collection), s.name) for s in spooled
        ]
        uris = [f"upload://{collection}/{s.name}" for s in spooled]
        older = [{d.doc_id for d in archive.store.documents_at(uri)} for uri in uris]
        sources = [
            SourceDocument(uri=uri, path=path, media_type=s.media_type, metadata=meta)
            for uri, path, s in zip(uris, placed, spooled, strict=True)
        ]
        results = archive.ingest(sources)
        out = []
        for s, path, old, result in zip(spooled, placed, older, results, strict=True):
            shared = result.action == "duplicate" and _kept_by_other(archive, result, s.name)
            out.append(_settle(s, path, old, result, uploads, shared=shared))
    return out


def _kept_by_other(archive: Archive, result: IngestResult, name: str) -> bool:
    """Whether the indexed twin of a duplicate is an upload with this very file name (and path)."""
    known = archive.store.get_document(result.doc_id or "")
    return bool(known and known.uri.startswith("upload://") and known.uri.endswith("/" + name))


def _settle(
    s: Spooled, path: Path, old: set[str], result: IngestResult, uploads: Path, *, shared: bool
) -> IngestFileResult:
    """Tidy the uploads folder after one file's ingest and say where it is kept (under the
    id of its record: a failed file's record is its own)."""
    if result.action == "failed" and result.doc_id and result.doc_id != path.parent.name:
        path = place(path, uploads, result.doc_id, s.name)
    stored_as: str | None = f"{path.parent.name}/{s.name}"
    if result.action == "duplicate":  # the same bytes are already indexed under another uri
        if not shared:
            remove_upload(path)
        stored_as = None
    if result.action == "replaced":
        for doc_id in old - {result.doc_id}:
            folder = upload_folder(uploads, doc_id)
            if folder is not None and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
    return IngestFileResult(
        filename=s.original or s.name,
        stored_as=stored_as,
        doc_id=result.doc_id,
        action=result.action,
        status=result.status,
        pages=result.pages,
        chunks=result.chunks,
        errors=result.errors,
    )
