"""Keeping a LanceDB index healthy as it grows and as several writers share it.

- ``commit``: run one table write (merge_insert, delete, optimize) and retry it, with jittered
  exponential backoff, when Lance reports a commit conflict. Lance already rebases compatible
  concurrent commits itself (two appends, two merge_inserts of different rows); what reaches
  Python is the rest: two compactions of the same fragments, or contention that outlasted Lance's
  own retries. Every write archivist makes is idempotent, so running it again is safe.
- ``ensure_scalar_indexes``, ``ensure_vector_index`` (for ``LanceChunkStore.ensure_indexes``):
  the indexes a table should have at its size: full-text (one per language), scalar (BTREE on
  dates and ids, BITMAP on collection and language), and on the chunks table an IVF vector
  index (``StoreOptions.vector_index_kind``) once it passes ``vector_index_min_rows``,
  retrained when the table has grown ``vector_retrain_growth`` times since training. New rows
  are folded into every index by ``optimize`` once more than ``reindex_after_rows`` are
  unindexed; until then searches still see them (Lance scans unindexed rows).

IVF rather than an HNSW variant: LanceDB recommends IVF_PQ or IVF_RQ for vector search with
metadata filters, which is how archivist searches (collection, date, language). IVF_RQ is the
default: on the scale bench's sweep it reached a higher recall than IVF_PQ for the same number
of re-ranked rows, and it builds in seconds where IVF_PQ's codebook takes minutes
(docs/scale.md, "Vector index").
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from pipeline.errors import EngineError
from pipeline.models import StoreOptions
from pipeline.store.errors import as_storage_error

log = logging.getLogger(__name__)

T = TypeVar("T")

# Lance reports conflicts as error text (a RuntimeError here); these are the phrases it uses
# ("Retryable commit conflict for version N", "Commit conflict for version N",
# "Too much write contention", "... preempted by concurrent transaction ...").
_CONFLICT_MARKERS = ("commit conflict", "write contention", "preempted by concurrent")
# Scalar indexes: BTREE for ranges and ids, BITMAP for columns with few distinct values.
CHUNK_SCALAR = {"date": "BTREE", "collection": "BITMAP", "language": "BITMAP",
                "doc_id": "BTREE", "chunk_id": "BTREE"}  # fmt: skip
DOCUMENT_SCALAR = {"date": "BTREE", "collection": "BITMAP", "language": "BITMAP",
                   "doc_id": "BTREE", "uri": "BTREE", "cluster_id": "BTREE",
                   "variant_keys": "LABEL_LIST"}  # fmt: skip
META_VECTOR_ROWS = "archivist.vector_index_rows"  # rows the IVF centroids were trained on
META_VECTOR_CODES = "archivist.vector_index_codes"  # the codes it holds (``vector_codes``)
PQ_MIN_ROWS = 256  # 8-bit product quantisation trains 256 centroids per sub-vector


def connect(opts: StoreOptions) -> Any:
    """A LanceDB connection to ``opts.uri`` with its storage options (or Cloud credentials).

    Secrets leave their ``SecretStr`` only here, on their way into LanceDB.
    """
    import lancedb

    storage = {k: v.get_secret_value() for k, v in opts.storage_options.items()} or None
    if opts.uri.startswith("db://"):  # LanceDB Cloud: always reads the latest version
        key = opts.api_key.get_secret_value() if opts.api_key else None
        return lancedb.connect(
            opts.uri,
            api_key=key,
            region=opts.region,
            host_override=opts.host_override,
            storage_options=storage,
        )
    consistency = None
    if opts.read_consistency_s is not None:
        consistency = dt.timedelta(seconds=opts.read_consistency_s)
    return lancedb.connect(opts.uri, storage_options=storage, read_consistency_interval=consistency)


def is_commit_conflict(error: BaseException) -> bool:
    """True when ``error`` is Lance saying another writer committed first."""
    text = str(error).lower()
    return any(marker in text for marker in _CONFLICT_MARKERS)


def commit(
    what: str,
    op: Callable[[], T],
    *,
    retries: int,
    backoff_s: float,
    refresh: Callable[[], object] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``op()``, tried again up to ``retries`` times when it fails on a commit conflict.

    ``refresh`` runs before each new try: a table handle keeps the version it last saw, and a
    compaction planned on that stale version would conflict again, forever (seen with two
    processes compacting one table). Other errors are raised at once, as a ``StorageError``
    carrying the errno when the operating system refused (a full or read-only disk). When the
    conflicts outlast the retries, a retryable ``EngineError`` says so (orchestration may retry
    the stage).

    >>> commit("write chunks", lambda: 3, retries=2, backoff_s=0.1)
    3
    """
    for attempt in range(retries + 1):
        try:
            return op()
        except Exception as e:
            if not is_commit_conflict(e):
                storage = as_storage_error(e)
                if storage is None or storage is e:
                    raise
                raise storage from e
            if attempt == retries:
                raise EngineError(
                    f"{what}: commit conflict persisted after {retries + 1} attempts: {e}",
                    retryable=True,
                ) from e
            delay = backoff_s * (2**attempt) * (0.5 + random.random())
            log.info("%s: commit conflict, retrying in %.2fs (%s)", what, delay, e)
            sleep(delay)
            if refresh is not None:
                refresh()
    raise AssertionError("unreachable")  # pragma: no cover


def vector_index_config(rows: int, dim: int, opts: StoreOptions) -> Any:
    """The vector index (``opts.vector_index_kind``) on cosine distance sized for ``rows``
    vectors of ``dim``.

    Partitions hold about ``vector_partition_rows`` rows each (LanceDB's own default target is
    8192), never fewer than k-means can train. ``ivf_rq`` codes each vector in
    ``vector_rq_bits`` bits per dimension (RaBitQ) and needs no codebook; ``ivf_pq`` uses
    ``vector_pq_sub_vectors``
    sub-vectors, by default dim/16 (dim/8 when 16 does not divide it), the layout LanceDB's SIMD
    kernels are built for.
    """
    from lancedb.index import IvfPq, IvfRq

    partitions = max(1, min(rows // opts.vector_partition_rows, rows // PQ_MIN_ROWS))
    if opts.vector_index_kind == "ivf_rq":
        return IvfRq(
            distance_type="cosine", num_partitions=partitions, num_bits=opts.vector_rq_bits
        )
    sub_vectors = opts.vector_pq_sub_vectors
    if sub_vectors is None:
        sub_vectors = dim // 16 if dim % 16 == 0 else dim // 8 if dim % 8 == 0 else 1
    return IvfPq(distance_type="cosine", num_partitions=partitions, num_sub_vectors=sub_vectors)


_KIND_NAMES = {"IvfRq": "IVF_RQ", "IvfPq": "IVF_PQ"}


def vector_codes(config: Any) -> str:
    """What each vector of an index built from ``config`` is stored as, its partitions aside
    (they follow the rows): ``8-bit codes, 24 sub-vectors`` (IVF_PQ), ``4-bit codes`` (IVF_RQ:
    bits per dimension). An index whose codes differ from the configured ones is rebuilt."""
    subs = getattr(config, "num_sub_vectors", None)
    return f"{config.num_bits}-bit codes" + (
        f", {subs} sub-vectors" if isinstance(subs, int) else ""
    )


def describe_vector_index(config: Any, where: str, verb: str, rows: int) -> str:
    """One line for logs and ``ensure_indexes``: kind, table, what was done, layout."""
    kind = type(config).__name__
    layout = f"{config.num_partitions} partitions, {vector_codes(config)}"
    return f"{_KIND_NAMES.get(kind, kind)} {where} {verb}: {layout}, {rows} rows"


def _index_stats(table: Any) -> dict[str, Any]:
    with warnings.catch_warnings():  # index_stats warns about its own deprecations
        warnings.simplefilter("ignore")
        return {ix.name: table.index_stats(ix.name) for ix in table.list_indices()}


Run = Callable[[str, Callable[[], Any], Any], Any]  # LanceChunkStore._commit: what, op, table


def ensure_scalar_indexes(table: Any, wanted: Mapping[str, str], done: list[str], run: Run) -> None:
    """Create the missing ``column -> BTREE|BITMAP|LABEL_LIST`` indexes of ``table``."""
    from lancedb.index import Bitmap, BTree, LabelList

    kinds = {"BTREE": BTree, "BITMAP": Bitmap, "LABEL_LIST": LabelList}

    names = set(table.schema.names)
    existing = {tuple(ix.columns) for ix in table.list_indices()}
    for column, kind in wanted.items():
        if column in names and (column,) not in existing:
            config = kinds[kind]()
            run(
                f"index {column}",
                functools.partial(table.create_index, column, config=config),
                table,
            )
            done.append(f"{kind} {table.name}.{column}")


def ensure_vector_index(
    table: Any, *, rows: int, dim: int, opts: StoreOptions, run: Run
) -> str | None:
    """Build the vector index when the table reaches the threshold; retrain it when the table
    has grown ``vector_retrain_growth`` times since; rebuild it when it is of another kind than
    ``vector_index_kind`` or holds other codes (``vector_codes``: an index built before the
    setting changed). Returns what was done, or None."""
    if rows < max(opts.vector_index_min_rows, PQ_MIN_ROWS):
        return None
    index = _vector_index(table)
    meta = table.schema.field("vector").metadata or {}
    trained = int(meta.get(META_VECTOR_ROWS.encode(), b"0") or 0)
    if index is not None and not trained:  # built elsewhere (by hand, a bench): adopt it
        trained = int(index.num_indexed_rows or rows)
        run("vector index rows", functools.partial(_record, table, {META_VECTOR_ROWS: trained}),
            table)  # fmt: skip
    config = vector_index_config(rows, dim, opts)
    same_kind = index is not None and _holds(index, meta, config)  # else: a rebuild
    if same_kind and rows < trained * opts.vector_retrain_growth:
        return None
    build = functools.partial(table.create_index, "vector", config=config, replace=True)
    run("vector index", build, table)
    built = {META_VECTOR_ROWS: rows, META_VECTOR_CODES: vector_codes(config)}
    run("vector index rows", functools.partial(_record, table, built), table)
    verb = "built" if index is None else "retrained" if same_kind else "rebuilt"
    return describe_vector_index(config, f"{table.name}.vector", verb, rows)


def outdated_vector_index(table: Any, dim: int, opts: StoreOptions) -> str | None:
    """What the vector index of ``table`` holds, when that is not what ``opts`` asks for
    (another kind, other codes); None when it is, or when there is none. Searches use the index
    as it is until ``ensure_vector_index`` rebuilds it."""
    index = _vector_index(table)
    if index is None or dim <= 0:
        return None
    meta = table.schema.field("vector").metadata or {}
    config = vector_index_config(PQ_MIN_ROWS, dim, opts)  # kind and codes do not depend on rows
    if _holds(index, meta, config):
        return None
    held = _built_codes(index.index_type, meta) or "codes not recorded"
    has = _KIND_NAMES.get(index.index_type, index.index_type)
    wanted = _KIND_NAMES[type(config).__name__]
    return f"{has} with {held}, where the settings ask for {wanted} with {vector_codes(config)}"


def _vector_index(table: Any) -> Any:
    return next((ix for ix in table.list_indices() if list(ix.columns) == ["vector"]), None)


def _holds(index: Any, meta: dict[bytes, bytes], config: Any) -> bool:
    """True when ``index`` is of ``config``'s kind and holds its codes (or its codes are not
    known: then only the kind is compared)."""
    kind = type(config).__name__
    return bool(index.index_type == kind) and _built_codes(kind, meta) in (
        None,
        vector_codes(config),
    )


def _built_codes(index_type: str, meta: dict[bytes, bytes]) -> str | None:
    """The codes the vector index was built with, as recorded when it was built; an IVF_RQ
    index built before they were recorded holds 1-bit codes (the only ones built then); None
    when not known (then only its kind is compared)."""
    recorded = meta.get(META_VECTOR_CODES.encode())
    if recorded:
        return recorded.decode()
    return "1-bit codes" if index_type == "IvfRq" else None


def _record(table: Any, fields: dict[str, object]) -> None:
    metadata = {key: str(value) for key, value in fields.items()}
    table.update_field_metadata({"path": "vector", "metadata": metadata})


def needs_refresh(table: Any, opts: StoreOptions) -> bool:
    """True when some index of ``table`` misses more than ``reindex_after_rows`` rows."""
    stats = _index_stats(table).values()
    return any(s and s.num_unindexed_rows > opts.reindex_after_rows for s in stats)


class Maintenance(NamedTuple):
    """What ``LanceChunkStore.maintain`` did: table versions before and after, per table,
    and the indexes it created on the way."""

    versions_before: dict[str, int]
    versions_after: dict[str, int]
    rows: dict[str, int]
    indexes: list[str]
    older_than: dt.timedelta
    # Chunks a crash left without a committed document row, removed first (per document).
    leftovers: Mapping[str, int] = {}


def maintain(
    tables: Mapping[str, Any],
    ensure_indexes: Callable[[], list[str]],
    commit_op: Callable[[str, Callable[[], Any], Any], Any],
    older_than: dt.timedelta,
) -> Maintenance:
    """``LanceChunkStore.maintain``: indexes, then ``optimize`` with old-version cleanup."""
    before = {name: len(t.list_versions()) for name, t in tables.items()}
    created = ensure_indexes()
    for name, table in tables.items():
        optimize = functools.partial(table.optimize, cleanup_older_than=older_than)
        commit_op(f"optimize {name}", optimize, table)
    return Maintenance(
        versions_before=before,
        versions_after={name: len(t.list_versions()) for name, t in tables.items()},
        rows={name: int(t.count_rows()) for name, t in tables.items()},
        indexes=created,
        older_than=older_than,
    )
