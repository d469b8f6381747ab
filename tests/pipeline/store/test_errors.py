"""Storage errors carry their OS error code from the store up to the flows: read once, from
Lance's text, in ``pipeline.store.errors``; decided on as a number everywhere above."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest

from flows.runtime import note_full_disk
from pipeline.errors import EngineError, StorageError
from pipeline.ingest import Ingestor, prepare
from pipeline.models import IngestResult, SourceDocument, StageError, StoreOptions
from pipeline.store import LanceChunkStore, as_storage_error
from pipeline.store.upkeep import commit

LANCE_FULL = (
    "lance error: LanceError(IO): No space left on device (os error 28), "
    "/root/.cargo/registry/src/lance-encoding/src/encodings/logical/structural.rs:191:9"
)


def test_an_os_error_in_lance_text_becomes_a_storage_error_with_its_errno() -> None:
    def write() -> None:
        raise RuntimeError(LANCE_FULL)

    with pytest.raises(StorageError) as caught:
        commit("write chunks", write, retries=2, backoff_s=0)
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == (
        "No space left on device (os error 28): the disk holding the index is full; "
        "free space, then run again"
    )
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_other_errors_pass_through_and_conflicts_are_still_retried() -> None:
    tries = []

    def conflicted() -> str:
        tries.append(1)
        if len(tries) < 2:
            raise RuntimeError("Retryable commit conflict for version 7")
        return "written"

    assert commit("write chunks", conflicted, retries=2, backoff_s=0) == "written"
    assert as_storage_error(ValueError("bad vector")) is None
    with pytest.raises(ValueError, match="bad vector"):
        commit("write", lambda: (_ for _ in ()).throw(ValueError("bad vector")), retries=1,
               backoff_s=0)  # fmt: skip
    assert issubclass(StorageError, EngineError)


def test_a_failed_write_records_the_errno_in_the_result(
    tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LanceChunkStore(
        StoreOptions(uri=str(tmp_path / "idx")), embedder=embedder.name, dim=embedder.dim
    )
    ingestor = Ingestor(store=store, embedder=embedder)
    src = SourceDocument(uri="mem://a.md", data=b"# Harbour\n\nThe dockers struck in 1983.\n")
    prepared = prepare(src, ingestor.stages)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "write_documents", full)
    (result,) = ingestor.commit_many([(src, prepared)])
    assert result.action == "failed" and result.errors[0].stage == "store"
    assert (
        result.errors[0].errno == errno.ENOSPC and "disk holding the index is full" in result.reason
    )


def test_the_flows_decide_on_the_errno_not_the_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "idx"
    (db / ".flows").mkdir(parents=True)
    said = StageError(stage="store", message="… (os error 28) …")  # text alone: no errno
    full = StageError(stage="store", message="could not write", errno=errno.ENOSPC)
    with caplog.at_level(logging.WARNING, logger="flows.runtime"):
        note_full_disk(str(db), [IngestResult(uri="a", doc_id="x", action="failed",
                                              status="failed", errors=[said])])  # fmt: skip
        assert not caplog.records
        note_full_disk(str(db), [IngestResult(uri="a", doc_id="x", action="failed",
                                              status="failed", errors=[full])])  # fmt: skip
    assert "is full" in caplog.records[0].getMessage()
