"""The ingest engine's state machine, its one failure rule and its one id rule, on a real index."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline.ingest.steps as steps_module
from pipeline.convert import CONVERTERS, TEXT, Converter
from pipeline.errors import EngineError
from pipeline.ingest import DocState, Ingestor, failure_of, is_placeholder_id, placeholder_id
from pipeline.models import ParsedDocument, SourceDocument, StageError, StoreOptions
from pipeline.store import LanceChunkStore


@pytest.fixture
def ingestor(tmp_path: Path, embedder) -> Ingestor:
    store = LanceChunkStore(
        StoreOptions(uri=str(tmp_path / "idx")), embedder=embedder.name, dim=embedder.dim
    )
    return Ingestor(store=store, embedder=embedder)


def _note(tmp_path: Path, name: str, text: str) -> SourceDocument:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return SourceDocument(uri=str(path), path=path)


def test_a_document_walks_fetched_converted_embedded_committed(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    run = ingestor.start(_note(tmp_path, "a.md", "# Harbour\n\nThe dockers struck in 1983.\n"))
    seen = [run.state]
    while not run.done:
        seen.append(ingestor.advance(run).state)
    assert seen == [DocState.FETCHED, DocState.CONVERTED, DocState.EMBEDDED, DocState.COMMITTED]
    assert run.result is not None and run.result.action == "added" and run.result.chunks >= 1
    again = ingestor.start(_note(tmp_path, "a.md", "# Harbour\n\nThe dockers struck in 1983.\n"))
    assert again.done and again.result is not None and again.result.action == "unchanged"


def test_a_content_failure_is_remembered_and_not_converted_again(
    ingestor: Ingestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n this is not really a PDF at all")
    src = SourceDocument(uri=str(broken), path=broken)
    first = ingestor.ingest(src)
    assert first.action == "failed" and first.errors[0].stage == "convert"

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(steps_module, "convert_document", boom)
    again = ingestor.ingest(SourceDocument(uri=str(broken), path=broken))
    assert (again.action, again.status) == ("unchanged", "failed")
    assert again.reason == first.reason
    monkeypatch.undo()
    moved = tmp_path / "moved.pdf"  # the same bytes at another uri are tried there
    moved.write_bytes(broken.read_bytes())
    assert ingestor.ingest(SourceDocument(uri=str(moved), path=moved)).action == "failed"


def test_an_engine_failure_is_not_remembered(
    ingestor: Ingestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(texts: object) -> None:
        raise EngineError("embedding server down", retryable=True)

    monkeypatch.setattr(ingestor.embedder, "embed_documents", down)
    note = _note(tmp_path, "b.md", "# Bridge\n\nThe bridge opened in June 1998.\n")
    failed = ingestor.ingest(note)
    assert failed.action == "failed" and failed.errors[0].stage == "engine"
    assert ingestor.store.get_document(failed.doc_id or "").status == "failed"
    monkeypatch.undo()
    assert ingestor.ingest(note).action == "added"  # next run: tried again, and it goes in


def test_no_page_converted_is_a_content_failure_with_each_page_reason(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    def unreadable(src: SourceDocument, opts: object, **kwargs: object) -> ParsedDocument:
        errors = [StageError(stage="convert", page=1, message="page 1 is unreadable")]
        return ParsedDocument(
            doc_id=src.doc_id, uri=src.uri, metadata=src.metadata, media_type="text/plain",
            status="failed", errors=errors,
        )  # fmt: skip

    nothing = Converter(TEXT.media_types, TEXT.extensions, unreadable)
    with CONVERTERS.overridden("text", nothing):
        result = ingestor.ingest(_note(tmp_path, "c.txt", "whatever"))
    assert (result.action, result.status) == ("failed", "failed")
    assert result.errors == [StageError(stage="convert", page=1, message="page 1 is unreadable")]


def test_unreadable_bytes_get_the_placeholder_id(ingestor: Ingestor, tmp_path: Path) -> None:
    gone = tmp_path / "gone.pdf"
    result = ingestor.ingest(SourceDocument(uri=str(gone), path=gone))
    assert result.action == "failed" and result.errors[0].stage == "read"
    assert result.doc_id == placeholder_id(str(gone)) and is_placeholder_id(result.doc_id)
    row = ingestor.store.get_document(result.doc_id)
    assert row is not None and row.uri == str(gone) and row.status == "failed"


@pytest.mark.parametrize(
    ("error", "stage", "retryable"),
    [
        (EngineError("timeout", retryable=True), "engine", True),
        (EngineError("refused"), "engine", False),
        (OSError(5, "Input/output error"), "read", False),
        (KeyError("bug"), "ingest", False),
    ],
)
def test_one_rule_names_the_stage_and_says_whether_to_retry(
    error: Exception, stage: str, retryable: bool
) -> None:
    failure = failure_of(error, attempts=3)
    assert failure.errors[0].stage == stage and failure.retryable is retryable
    assert ("after 3 attempts" in failure.reason) is retryable
