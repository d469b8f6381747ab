"""Ingest end to end with real PyMuPDF, LanceDB on disk and the real default embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pymupdf
import pytest

import pipeline.ingest.steps as steps_module
from connectors.local import list_local
from pipeline.ingest import Ingestor
from pipeline.models import SearchFilters, SourceDocument, StoreOptions
from pipeline.retrieve import retrieve
from pipeline.store import LanceChunkStore
from tests.conftest import SAMPLE_DOCS


@pytest.fixture
def ingestor(tmp_path: Path, embedder) -> Ingestor:
    store = LanceChunkStore(
        StoreOptions(uri=str(tmp_path / "idx")), embedder=embedder.name, dim=embedder.dim
    )
    return Ingestor(store=store, embedder=embedder)


def _src(path: Path) -> SourceDocument:
    return SourceDocument(uri=str(path), path=path)


@pytest.mark.slow
def test_sample_docs_are_searchable_with_pages(ingestor: Ingestor, embedder) -> None:
    results = ingestor.ingest_many(list_local([SAMPLE_DOCS], patterns=["*.pdf"]).documents)
    assert len(results) == 8 and all(r.action == "added" for r in results)
    bridge = next(r for r in results if "bridge" in r.uri)
    assert bridge.status == "ok" and bridge.pages == 2  # page 2 is a scan, read by OCR
    telex = retrieve("toll waived for residents", store=ingestor.store, embedder=embedder)
    assert "bridge" in telex[0].chunk.source and telex[0].chunk.page_end == 2
    hits = retrieve(
        "River Brennach peak level at Mill Lane", store=ingestor.store, embedder=embedder
    )
    assert "brennach" in hits[0].chunk.source
    assert "6.82 metres" in hits[0].chunk.text and hits[0].chunk.page_start == 1
    table = retrieve(
        "dépêches des années 1990 numérisées",
        store=ingestor.store,
        embedder=embedder,
        filters=SearchFilters(language="fr", date_from=__import__("datetime").date(2020, 1, 1)),
    )
    assert table and all(h.chunk.date and h.chunk.date.year == 2025 for h in table)
    assert any(h.chunk.page_start == 2 and "297 900" in h.chunk.text for h in table)


def test_reingest_same_bytes_does_no_work(ingestor: Ingestor, write_pdf, monkeypatch) -> None:
    pdf = write_pdf("a.pdf", ["<h1>Port strike</h1><p>The dockers stopped work on 1 May.</p>"])
    first = ingestor.ingest(_src(pdf))
    assert first.action == "added" and first.chunks >= 1
    rows = ingestor.store.chunks.count_rows()

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(steps_module, "convert_document", boom)
    monkeypatch.setattr(ingestor.embedder, "embed_documents", boom)
    again = ingestor.ingest(_src(pdf))
    assert again.action == "unchanged" and again.doc_id == first.doc_id
    copy = pdf.with_name("copy.pdf")
    shutil.copy(pdf, copy)
    assert ingestor.ingest(_src(copy)).action == "duplicate"
    assert ingestor.store.chunks.count_rows() == rows
    assert ingestor.store.count_documents() == 1


def test_changed_bytes_replace_the_old_version(
    ingestor: Ingestor, write_pdf, tmp_path: Path
) -> None:
    pdf = write_pdf("a.pdf", ["<p>The harbour strike began in May 1983.</p>"])
    old = ingestor.ingest(_src(pdf))
    newer = write_pdf("b.pdf", ["<p>The bridge opened in June 1998 after four years.</p>"])
    shutil.copy(newer, pdf)
    new = ingestor.ingest(_src(pdf))
    assert new.action == "replaced" and new.doc_id != old.doc_id
    assert ingestor.store.get_document(old.doc_id) is None
    assert ingestor.store.chunks_of(old.doc_id) == []
    assert [d.doc_id for d in ingestor.store.documents_at(str(pdf))] == [new.doc_id]
    texts = [c.text for c in ingestor.store.chunks_of(new.doc_id)]
    assert any("bridge opened" in t for t in texts)


def _encrypted(path: Path) -> Path:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret")
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    return path


def test_bad_inputs_fail_with_reasons_and_the_batch_goes_on(
    ingestor: Ingestor, write_pdf, tmp_path: Path
) -> None:
    good = write_pdf("good.pdf", ["<p>A perfectly fine dispatch about the 1987 election.</p>"])
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    not_pdf = tmp_path / "notes.pdf"
    not_pdf.write_text("just some text, not a PDF")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    bad = [corrupt, _encrypted(tmp_path / "locked.pdf"), empty, not_pdf, truncated]
    results = {Path(r.uri).name: r for r in ingestor.ingest_many([_src(p) for p in [*bad, good]])}
    assert results["good.pdf"].action == "added"
    for path in bad:
        r = results[path.name]
        assert r.action == "failed" and r.status == "failed" and r.reason, path.name
        row = ingestor.store.get_document(r.doc_id)
        assert row is not None and row.status == "failed" and row.errors
    assert "password" in results["locked.pdf"].reason.lower()
    assert "empty" in results["empty.pdf"].reason.lower()
    assert "not a pdf" in results["notes.pdf"].reason.lower()
    # a failed file changed into a good one is picked up on the next run
    shutil.copy(good, corrupt)
    assert ingestor.ingest(_src(corrupt)).action in ("duplicate", "added", "replaced")


def test_markdown_front_matter_flows_into_chunks(ingestor: Ingestor, tmp_path: Path) -> None:
    md = tmp_path / "note.md"
    md.write_text(
        "---\ntitle: Élection régionale\ndate: 1987-03-16\nlanguage: fr\nsource: Meridien\n---\n"
        "# Résultats\n\nLa liste de Hélène Marchais obtient 38,4 % des voix.\n",
        encoding="utf-8",
    )
    assert ingestor.ingest(_src(md)).action == "added"
    doc_id = SourceDocument(uri=str(md), path=md).doc_id
    chunk = ingestor.store.chunks_of(doc_id)[0]
    assert chunk.title == "Élection régionale" and chunk.language == "fr"
    assert str(chunk.date) == "1987-03-16" and chunk.heading_path == ["Résultats"]


def test_citations_point_to_page_regions(ingestor: Ingestor, embedder) -> None:
    from pipeline.answer import make_answerer
    from pipeline.models import AnswerOptions

    flood = SAMPLE_DOCS / "2011-04-19_brennach-flood_en.pdf"
    assert ingestor.ingest(_src(flood)).action == "added"
    hits = retrieve("Brennach peak at the Mill Lane gauge", store=ingestor.store, embedder=embedder)
    chunk = hits[0].chunk
    assert chunk.regions and all(r.page == 1 for r in chunk.regions)
    with pymupdf.open(flood) as doc:  # the boxes really hold the chunk's words
        page = doc[0]
        boxed = " ".join(
            page.get_textbox(pymupdf.Rect(r.box.x0, r.box.y0, r.box.x1, r.box.y1))
            for r in chunk.regions
        )
    assert "6.82" in chunk.text and "6.82" in boxed
    answer = make_answerer(AnswerOptions(), embedder=embedder).answer(
        "How high did the Brennach rise?", hits
    )
    cited = answer.citations[0]
    assert cited.regions and {r.page for r in cited.regions} <= {cited.page_start, cited.page_end}


def test_an_index_without_regions_is_migrated(tmp_path: Path, embedder) -> None:
    import lancedb

    opts = StoreOptions(uri=str(tmp_path / "old"))
    store = LanceChunkStore(opts, embedder=embedder.name, dim=embedder.dim)
    store.chunks.drop_columns(["regions"])  # as an index made before regions existed
    again = LanceChunkStore(opts, embedder=embedder.name, dim=embedder.dim)
    assert "regions" in again.chunks.schema.names
    assert "regions" in lancedb.connect(opts.uri).open_table("chunks").schema.names
