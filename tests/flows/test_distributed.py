"""Distributed ingestion: a local Dask cluster of two worker processes prepares, this process
writes; the index ends the same as with the thread runner. Runner choice and batching rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.ingest import run_ingest
from flows.runners import RunnerSettings, result_storage, runner_plan
from flows.runtime import archive_for
from flows.writer import BatchWriter
from pipeline.errors import ConfigError
from pipeline.ingest import prepare
from tests.flows.runner_checks import assert_same_as_threads, sample_folder


def test_runner_setting_names_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("prefect_dask")
    assert runner_plan("threads", concurrency=3).kind == "threads"
    local = runner_plan("dask", workers=3)
    assert local.kind == "dask" and local.runner.cluster_kwargs["n_workers"] == 3
    assert local.runner.cluster_kwargs["threads_per_worker"] == 1
    remote = runner_plan("dask://scheduler.lan:8786")
    assert remote.runner.address == "tcp://scheduler.lan:8786"
    with pytest.raises(ConfigError, match="valid: threads, dask"):
        runner_plan("spark://x")
    monkeypatch.setenv("ARCHIVIST_TASK_RUNNER", "tcp://10.0.0.5:8786")
    monkeypatch.setenv("ARCHIVIST_DASK_WORKERS", "4")
    settings = RunnerSettings()
    assert (settings.task_runner, settings.dask_workers) == ("tcp://10.0.0.5:8786", 4)
    assert result_storage(None, Path("/idx/.flows/results")) == Path("/idx/.flows/results")
    assert result_storage("/mnt/shared/results", Path("/x")) == Path("/mnt/shared/results")
    assert result_storage("s3-bucket/archive-results", Path("/x")) == "s3-bucket/archive-results"


@pytest.mark.integration  # a Prefect API server
@pytest.mark.usefixtures("prefect_harness")
def test_result_storage_url_is_a_saved_block() -> None:
    from prefect.filesystems import RemoteFileSystem

    block = result_storage("memory://archivist-results/", Path("/x"))
    assert block.basepath == "memory://archivist-results"
    saved = RemoteFileSystem.load(block._block_document_name)  # what a worker would load
    assert saved.basepath == "memory://archivist-results"


def test_ray_without_its_package_names_the_package() -> None:
    try:
        import prefect_ray  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="prefect-ray"):
            runner_plan("ray://head:10001")
    else:
        assert runner_plan("ray://head:10001").kind == "ray"


def test_batch_writer_is_due_when_full_or_when_the_oldest_waited(tmp_path: Path) -> None:
    now = [100.0]
    writer: BatchWriter[int] = BatchWriter(None, max_docs=3, max_wait_s=5, clock=lambda: now[0])  # type: ignore[arg-type]
    assert writer.seconds_left() is None and not writer.due()
    writer.add(1, None, None)  # type: ignore[arg-type]
    now[0] = 103.0
    assert writer.seconds_left() == 2.0 and not writer.due()
    writer.add(2, None, None)  # type: ignore[arg-type]
    now[0] = 105.0
    assert writer.due()  # the first one has waited 5 s
    now[0] = 100.0
    writer.add(3, None, None)  # type: ignore[arg-type]
    assert writer.due() and len(writer) == 3  # full


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_local_dask_cluster_ingests_like_the_thread_runner(tmp_path: Path) -> None:
    pytest.importorskip("prefect_dask")
    folder = sample_folder(tmp_path, 4)

    threads = run_ingest(str(folder), db=str(tmp_path / "threads"), task_runner="threads")
    dask = run_ingest(str(folder), db=str(tmp_path / "dask"), task_runner="dask")

    assert dask.counts == threads.counts == {"added": 4, "failed": 1}
    assert dask.converted == 5 and dask.cached == 0
    assert_same_as_threads(
        threads, dask, folder=folder, dbs=(tmp_path / "threads", tmp_path / "dask")
    )

    again = run_ingest(str(folder), db=str(tmp_path / "dask"), task_runner="dask")
    assert again.counts == {"unchanged": 5} and again.converted == 0


@pytest.mark.slow
def test_the_writer_commits_a_batch_in_one_write_per_table(tmp_path: Path) -> None:
    from pipeline.models import SourceDocument

    archive = archive_for(str(tmp_path / "index"))
    ingestor = archive.ingestor
    sources = [
        SourceDocument(uri=f"mem://note-{i}.md", data=f"# Note {i}\n\nTide mill {i}.\n".encode())
        for i in range(3)
    ]
    writer: BatchWriter[int] = BatchWriter(ingestor, max_docs=3, max_wait_s=60)
    for i, src in enumerate(sources):
        writer.add(i, src, prepare(src, ingestor.stages))
    assert writer.due()
    before = ingestor.store.documents.version
    flushed = writer.flush()
    assert [tag for tag, _ in flushed] == [0, 1, 2]
    assert [r.action for _, r in flushed] == ["added"] * 3
    assert ingestor.store.documents.version == before + 1  # three rows, one commit
    assert ingestor.store.count_documents() == 3 and len(writer) == 0
