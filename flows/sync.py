"""Incremental sync, the part that compares a source with the index: what left the source.

New, changed and unchanged documents are told apart per document by content hash (see
``flows.ingest``); documents that *left* the source can only be found by comparing the listing
with what the index holds under the source's scope: its uri prefix (a folder, a bucket prefix),
or, for URL lists and feeds that have none, its collection.

Pruning is refused, with the reason in the report, when it would more likely be a mistake than
an intent: a listing with unreadable entries, an empty listing (an unmounted share, a wrong
prefix), or a feed pruned within the shared default collection.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from connectors.base import Connector, ConnectorSpec, Listing, SourceRef, make_connector
from flows.ledger import FingerprintLedger
from flows.report import SyncReport
from flows.runtime import STORE_LOCK, archive_for
from pipeline.convert import CONVERTER_VERSION
from pipeline.errors import ArchivistError, DocumentLoadError
from pipeline.ingest import Ingestor
from pipeline.models import DEFAULT_COLLECTION, IngestResult, SourceDocument, StageError


def reconcile_removed(
    report: SyncReport, spec: ConnectorSpec, listing: Listing, db: str, *, prune: bool
) -> None:
    """Find the indexed documents this source no longer holds; remove them when ``prune``.

    Done before ingesting, so that bytes which only moved (removed here, listed under another
    uri) are indexed again under their new uri instead of vanishing with the old one.
    """
    store = archive_for(db).store
    scope = make_connector(spec).prune_scope()
    if scope is not None:
        indexed = store.documents_under(scope)
    else:
        indexed = store.documents_under("", collection=spec.collection)
    listed = {ref.uri for ref in listing.refs}
    on_disk = _still_on_disk if spec.resolved_kind() == "local" else (lambda uri: False)
    gone = sorted({d.uri for d in indexed if d.uri not in listed and not on_disk(d.uri)})
    note = None
    if not prune:
        pass
    elif scope is None and spec.collection == DEFAULT_COLLECTION:
        note = "a URL list or feed is pruned within its own collection: give it --collection"
    elif listing.problems:
        note = f"{len(listing.problems)} source entries could not be read; nothing removed"
    elif gone and not listing.refs:
        note = "the source lists no document (unmounted? wrong prefix?); nothing removed"
    if not prune or note:
        report.stale, report.prune_note = gone, note
        return
    with STORE_LOCK:
        for doc in indexed:
            if doc.uri in gone:
                store.delete_document(doc.doc_id)
    report.pruned = gone


def _still_on_disk(uri: str) -> bool:
    """A local file that exists but was not listed (excluded by a pattern) is not gone."""
    return "://" not in uri and Path(uri).is_file()


def known_result(ingestor: Ingestor, src: SourceDocument, doc_id: str) -> IngestResult | None:
    """The index's result for these bytes when nothing needs doing, else None.

    Beyond the core's rule (same bytes, converter and embedder: unchanged), a document that
    failed for its own content at this uri with this converter is not converted again.
    """
    result = ingestor.known(src, doc_id)
    if result is not None:
        return result
    rec = ingestor.store.get_document(doc_id)
    if (
        rec is not None
        and rec.status == "failed"
        and rec.uri == src.uri
        and rec.converter == CONVERTER_VERSION
        and rec.errors
        and all(e.stage == "convert" for e in rec.errors)
    ):
        return IngestResult(
            uri=src.uri, doc_id=doc_id, action="unchanged", status="failed", errors=rec.errors
        )
    return None


def fail(
    ingestor: Ingestor, ref: SourceRef, doc_id: str | None, stage: str, message: str
) -> IngestResult:
    """Record a document that could not be had at all (so it shows as failed, with why)."""
    src = SourceDocument(uri=ref.uri, data=b"", media_type=ref.media_type, metadata=ref.metadata)
    doc_id = doc_id or "unfetched-" + hashlib.sha256(ref.uri.encode()).hexdigest()[:48]
    with STORE_LOCK:
        return ingestor.fail(src, doc_id, [StageError(stage=stage, message=message)])


def quick_unchanged(
    ingestor: Ingestor, connector: Connector, ref: SourceRef, ledger: FingerprintLedger
) -> IngestResult | None:
    """The unchanged result without starting a task: a local file by its hash, an object by
    the ETag recorded when its bytes were indexed (no download). None: the task must look."""
    if "://" not in ref.uri:
        try:
            src = connector.fetch(ref)
            return known_result(ingestor, src, src.doc_id)
        except (DocumentLoadError, OSError):
            return None  # the task will record why
    doc_id = ledger.lookup(ref.uri, ref.fingerprint) if ref.fingerprint else None
    if doc_id is None:
        return None
    src = SourceDocument(uri=ref.uri, data=b"", media_type=ref.media_type, metadata=ref.metadata)
    return known_result(ingestor, src, doc_id)


def remember(
    ledger: FingerprintLedger, connector: Connector, ref: SourceRef, result: IngestResult
) -> None:
    """File an object's ETag with the bytes just ingested, if it is still the listed one."""
    current = getattr(connector, "fingerprint", None)
    if not ref.fingerprint or current is None or not result.doc_id:
        return
    if result.doc_id.startswith("unfetched-"):
        return
    try:
        same = current(ref.uri) == ref.fingerprint
    except (ArchivistError, OSError):
        same = False
    if same:
        ledger.record(ref.uri, ref.fingerprint, result.doc_id)
    else:
        ledger.forget(ref.uri)
