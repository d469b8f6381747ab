"""Several writers on one index: commit conflicts are retried, batches commit once, and two
processes writing (and compacting) the same tables leave every row exactly once."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import EngineError
from pipeline.models import Chunk, DocumentRecord, StoreOptions
from pipeline.store import DocumentWrite, LanceChunkStore
from pipeline.store.upkeep import commit, is_commit_conflict

CONFLICT = (
    "lance error: Retryable commit conflict for version 12: This Rewrite transaction was "
    "preempted by concurrent transaction Rewrite at version 12. Please retry."
)


def _doc(name: str, n_chunks: int, seed: int) -> DocumentWrite:
    doc_id = hashlib.sha256(name.encode()).hexdigest()
    chunks = [
        Chunk(chunk_id=Chunk.make_id(doc_id, i), doc_id=doc_id, ordinal=i, text=f"{name} {i}")
        for i in range(n_chunks)
    ]
    vectors = np.random.default_rng(seed).standard_normal((n_chunks, 8)).astype(np.float32)
    record = DocumentRecord(doc_id=doc_id, uri=f"/w/{name}.pdf", chunks=n_chunks)
    return DocumentWrite(record, chunks, vectors)


def test_conflicts_are_retried_other_errors_are_not() -> None:
    calls: list[int] = []
    naps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError(CONFLICT)
        return "done"

    refreshed: list[int] = []
    done = commit(
        "write",
        flaky,
        retries=4,
        backoff_s=0.1,
        refresh=lambda: refreshed.append(1),
        sleep=naps.append,
    )
    assert done == "done" and len(calls) == 3
    assert len(naps) == 2 and naps[1] > naps[0] * 0.5  # backing off
    assert len(refreshed) == 2  # the table handle moved to the latest version before each retry

    def broken() -> None:
        calls.append(1)
        raise ValueError("Invalid input, no such column: nope")

    calls.clear()
    with pytest.raises(ValueError, match="no such column"):
        commit("write", broken, retries=4, backoff_s=0.0, sleep=naps.append)
    assert len(calls) == 1

    def always() -> None:
        raise RuntimeError("Commit conflict for version 4: too slow")

    with pytest.raises(EngineError, match="3 attempts") as info:
        commit("write chunks", always, retries=2, backoff_s=0.0, sleep=naps.append)
    assert info.value.retryable
    assert is_commit_conflict(RuntimeError("Too much write contention"))
    assert not is_commit_conflict(OSError("No such file or directory"))


def test_a_batch_is_one_commit_per_step(tmp_path: Path) -> None:
    opts = StoreOptions(uri=str(tmp_path / "idx"), compact_every_writes=0)
    store = LanceChunkStore(opts, embedder="toy", dim=8)
    store.write_document(*_doc("warm-up", 2, 0))
    chunks_v, docs_v = store.chunks.version, store.documents.version
    store.write_documents([_doc(f"doc{i}", 3, i) for i in range(6)])
    assert store.chunks.version - chunks_v <= 2  # upsert + stale-chunk delete, not 6 × 2
    assert store.documents.version - docs_v == 1
    assert store.chunks.count_rows() == 2 + 18 and store.count_documents() == 7
    # shrinking one document in a batch drops its extra chunks only
    store.write_documents([_doc("doc1", 1, 1), _doc("doc2", 3, 2)])
    assert store.chunks.count_rows() == 2 + 18 - 2


def _writer(uri: str, worker: int, n_docs: int) -> int:
    """One process's share: batches, single writes, deletes and frequent compaction."""
    opts = StoreOptions(uri=uri, compact_every_writes=3, commit_retries=10)
    store = LanceChunkStore(opts, embedder="toy", dim=8)
    docs = [_doc(f"w{worker}-{i}", 4, worker * 1000 + i) for i in range(n_docs)]
    for i in range(0, n_docs, 3):
        store.write_documents(docs[i : i + 3])
    store.write_document(*_doc(f"w{worker}-gone", 2, 99))
    store.delete_document(_doc(f"w{worker}-gone", 2, 99).record.doc_id)
    store.write_documents(docs[:2])  # the same documents again: idempotent
    store.compact()
    return n_docs


@pytest.mark.slow
def test_two_processes_write_one_index_every_row_once(tmp_path: Path) -> None:
    uri = str(tmp_path / "idx")
    LanceChunkStore(StoreOptions(uri=uri), embedder="toy", dim=8)  # both tables exist first
    ctx = mp.get_context("spawn")  # never fork a process that holds LanceDB's runtime
    with ctx.Pool(2) as pool:
        written = pool.starmap(_writer, [(uri, 0, 12), (uri, 1, 12)])
    assert written == [12, 12]
    store = LanceChunkStore(StoreOptions(uri=uri), embedder="toy", dim=8)
    chunk_ids = store.chunks.to_arrow().column("chunk_id").to_pylist()
    assert len(chunk_ids) == 2 * 12 * 4
    assert not [c for c, n in Counter(chunk_ids).items() if n > 1]
    uris = sorted(store.documents.to_arrow().column("uri").to_pylist())
    assert uris == sorted(f"/w/w{w}-{i}.pdf" for w in (0, 1) for i in range(12))
