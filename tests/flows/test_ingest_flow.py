"""The ingest flow under a real (temporary) Prefect API: incremental sync, caching, retries."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import flows.ingest as ingest_module
import pipeline.ingest.steps as steps_module
from flows.ingest import prepare_document, run_ingest
from flows.runtime import archive_for
from pipeline.errors import EngineError

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


class Calls:
    """Counts conversions and embeddings by wrapping the real functions."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, db: str) -> None:
        self.count: Counter[str] = Counter()
        convert = steps_module.convert_document
        embedder = archive_for(db).embedder
        embed = embedder.embed_documents

        def counted_convert(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            self.count["convert"] += 1
            return convert(*args, **kwargs)

        def counted_embed(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            self.count["embed"] += 1
            return embed(*args, **kwargs)

        monkeypatch.setattr(steps_module, "convert_document", counted_convert)
        monkeypatch.setattr(embedder, "embed_documents", counted_embed)


@pytest.fixture
def folder(tmp_path: Path, write_pdf: Callable[..., Path]) -> Path:
    src = tmp_path / "press"
    (src / "1987").mkdir(parents=True)
    pdf = write_pdf(
        "strike.pdf", ["<h1>Port strike</h1><p>The dockers of Port-Aurèle stopped work."]
    )
    shutil.move(pdf, src / "1987" / "strike.pdf")
    (src / "bridge.md").write_text("# Bridge\n\nThe Saint-Ferréol bridge opened in June 1998.\n")
    (src / "flood.txt").write_text("The river Brennach rose to 6.82 metres at Mill Lane.\n")
    (src / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not really a PDF at all")
    (src / "notes.docx").write_bytes(b"PK\x03\x04 not taken: no pattern matches")
    return src


def _by_name(report) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {Path(r.uri).name: r for r in report.results}


def test_sync_adds_skips_replaces_and_prunes(folder: Path, tmp_path: Path, monkeypatch) -> None:
    db = str(tmp_path / "index")
    first = run_ingest(str(folder), db=db, collection="press")
    results = _by_name(first)
    assert sorted(results) == ["bridge.md", "broken.pdf", "flood.txt", "strike.pdf"]
    assert first.counts == {"added": 3, "failed": 1}
    assert results["broken.pdf"].errors[0].stage == "convert"
    assert first.converted == 4 and not first.ok  # the broken one was tried too
    archive = archive_for(db)
    assert "6.82 metres" in archive.search("Brennach Mill Lane", k=1)[0].chunk.text
    assert archive.search("dockers", k=1)[0].chunk.collection == "press"

    calls = Calls(monkeypatch, db)
    again = run_ingest(str(folder), db=db, collection="press")
    assert again.counts == {"unchanged": 4}
    assert [r.uri for r in again.failed] == [results["broken.pdf"].uri]  # still failed, and why
    assert calls.count == Counter() and again.converted == again.cached == 0

    (folder / "bridge.md").write_text(
        "# Bridge\n\nThe new footbridge at Lorvennes opened in 2003.\n"
    )
    (folder / "flood.txt").unlink()
    (folder / "1987" / "vote.md").write_text("# Vote\n\nHaute-Varenne voters elected a mayor.\n")
    third = run_ingest(str(folder), db=db, collection="press")
    assert Counter(third.counts) == Counter({"unchanged": 2, "replaced": 1, "added": 1})
    assert calls.count == Counter({"convert": 2, "embed": 2})
    assert third.stale == [str((folder / "flood.txt").resolve())] and not third.pruned
    texts = " ".join(h.chunk.text for h in archive.search("bridge opened", k=10))
    assert "footbridge at Lorvennes" in texts and "June 1998" not in texts
    assert archive.store.documents_at(str((folder / "flood.txt").resolve()))  # kept: no --prune

    fourth = run_ingest(str(folder), db=db, collection="press", prune=True)
    assert fourth.pruned == third.stale and fourth.counts == {"unchanged": 4}
    assert not archive.store.documents_at(third.stale[0])
    assert all("Brennach" not in h.chunk.text for h in archive.search("Brennach", k=10))


def test_removed_then_restored_document_comes_from_the_cache(
    folder: Path, tmp_path: Path, monkeypatch
) -> None:
    db = str(tmp_path / "index")
    run_ingest(str(folder), db=db, patterns=["*.md"])
    archive = archive_for(db)
    (doc,) = archive.store.documents_under(str(folder))
    archive.store.delete_document(doc.doc_id)  # lost from the index, bytes unchanged
    calls = Calls(monkeypatch, db)
    report = run_ingest(str(folder), db=db, patterns=["*.md"])
    assert report.counts == {"added": 1} and report.cached == 1 and report.converted == 0
    assert calls.count == Counter()  # stage output reused: no conversion, no embedding
    assert "June 1998" in archive.search("Saint-Ferréol bridge", k=1)[0].chunk.text


def test_engine_errors_are_retried_bad_input_is_not(
    folder: Path, tmp_path: Path, monkeypatch
) -> None:
    db = str(tmp_path / "index")
    embedder = archive_for(db).embedder
    real = embedder.embed_documents
    attempts: Counter[str] = Counter()

    def flaky(texts):  # type: ignore[no-untyped-def]
        attempts["embed"] += 1
        if attempts["embed"] == 1:
            raise EngineError("embedding server restarting", retryable=True)
        return real(texts)

    monkeypatch.setattr(embedder, "embed_documents", flaky)
    monkeypatch.setattr(
        ingest_module, "prepare_document", prepare_document.with_options(retry_delay_seconds=0)
    )
    report = run_ingest(str(folder), db=db, patterns=["*.txt"])
    assert report.counts == {"added": 1} and attempts["embed"] == 2

    def down(texts):  # type: ignore[no-untyped-def]
        raise EngineError("embedding server down", retryable=True)

    monkeypatch.setattr(embedder, "embed_documents", down)
    report = run_ingest(str(folder), db=db, patterns=["*.md"])
    (failed,) = report.failed
    assert failed.errors[0].stage == "engine" and "after 3 attempts" in failed.reason
    record = archive_for(db).store.documents_at(failed.uri)[0]
    assert record.status == "failed" and "embedding server down" in record.errors[0].message


def test_summary_artifact_names_failures(folder: Path, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    report = run_ingest(str(folder), db=str(tmp_path / "index"))
    key = ingest_module.artifact_key(report.source)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    markdown = artifacts[0].data
    assert "| added | 3 |" in markdown and "| failed | 1 |" in markdown
    assert "broken.pdf" in markdown and "## Failed (1)" in markdown
