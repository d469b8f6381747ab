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

from pathlib import Path

from connectors.base import Connector, ConnectorSpec, Listing, SourceRef, make_connector
from flows.ledger import FingerprintLedger
from flows.report import SyncReport
from flows.runtime import STORE_LOCK, archive_for
from pipeline.errors import ArchivistError, DocumentLoadError
from pipeline.ingest import Ingestor, is_placeholder_id
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


def fail(ingestor: Ingestor, ref: SourceRef, errors: list[StageError]) -> IngestResult:
    """Record a document that could not be had at all (so it shows as failed, with why)."""
    src = SourceDocument(uri=ref.uri, data=b"", media_type=ref.media_type, metadata=ref.metadata)
    with STORE_LOCK:
        return ingestor.fail(src, None, errors)


def quick_unchanged(
    ingestor: Ingestor, connector: Connector, ref: SourceRef, ledger: FingerprintLedger
) -> IngestResult | None:
    """The unchanged result without starting a task: a local file by its hash, an object by
    the ETag recorded when its bytes were indexed (no download). None: the task must look."""
    if "://" not in ref.uri:
        try:
            src = connector.fetch(ref)
            return ingestor.known(src, src.doc_id)
        except (DocumentLoadError, OSError):
            return None  # the task will record why
    doc_id = ledger.lookup(ref.uri, ref.fingerprint) if ref.fingerprint else None
    if doc_id is None:
        return None
    src = SourceDocument(uri=ref.uri, data=b"", media_type=ref.media_type, metadata=ref.metadata)
    return ingestor.known(src, doc_id)


def remember(
    ledger: FingerprintLedger, connector: Connector, ref: SourceRef, result: IngestResult
) -> None:
    """File an object's ETag with the bytes just ingested, if it is still the listed one."""
    current = getattr(connector, "fingerprint", None)
    if not ref.fingerprint or current is None or not result.doc_id:
        return
    if is_placeholder_id(result.doc_id):
        return
    try:
        same = current(ref.uri) == ref.fingerprint
    except (ArchivistError, OSError):
        same = False
    if same:
        ledger.record(ref.uri, ref.fingerprint, result.doc_id)
    else:
        ledger.forget(ref.uri)
