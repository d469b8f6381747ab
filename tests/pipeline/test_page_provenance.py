"""Citations on the right page and nothing lost to furniture: from a generated PDF to the index,
through ``Archive.ask``/``search``, the ``archivist`` command and ``/v1/ask`` on a real server."""

from __future__ import annotations

import json

import httpx
import pymupdf
import pytest

from api import create_app
from api.auth import KeyRing
from api.settings import ApiSettings
from pipeline.archive import Archive
from pipeline.chunk import chunk_markdown
from pipeline.convert import convert_document
from pipeline.models import SearchFilters, SourceDocument
from pipeline.settings import Settings
from pipeline.spans import find_range, locate
from tests.api.server import running
from tests.cli.test_cli import run
from tests.pipeline.convert.test_convert import lines_at, make_pdf, source
from tests.pipeline.convert.test_convert_furniture import three_bulletins

QUESTION = "Who inaugurated the new lighthouse of Kerlouan?"
LIGHTHOUSE = (
    "The new lighthouse of Kerlouan was inaugurated by mayor Odile Tramontane on Saturday,",
    "in front of three hundred guests, after two years of works on the rocks of the point.",
)
PAGE2_Y = 100.0


def lighthouse_pdf() -> bytes:
    """Page 1: a title, a date, one sentence. Page 2: the sentence the question is about."""

    def first(page: pymupdf.Page) -> None:
        page.insert_text((72, 80), "Coastal News", fontsize=20)
        page.insert_text((72, 110), "12 June 2021", fontsize=10)
        lines_at(page, 140, ["The harbour master published the summer timetable of the ferries."])

    def second(page: pymupdf.Page) -> None:
        lines_at(page, PAGE2_Y, LIGHTHOUSE)

    return make_pdf(first, second)


def test_a_chunk_over_a_page_break_knows_each_sentence_s_page_and_lines() -> None:
    doc = convert_document(source(lighthouse_pdf(), "lighthouse.pdf"))
    chunks = chunk_markdown(doc)
    chunk = next(c for c in chunks if "Kerlouan" in c.text)
    assert (chunk.page_start, chunk.page_end) == (1, 2)  # the chunk spans the break...
    where = locate(chunk, LIGHTHOUSE[0] + " " + LIGHTHOUSE[1])
    assert where.found and where.pages == (2, 2)  # ...the sentence does not
    assert {r.page for r in where.regions} == {2}
    box = where.regions[0].box
    assert box.y0 < PAGE2_Y < box.y1 + 12 and box.x0 == pytest.approx(72, abs=2)
    first = locate(chunk, "The harbour master published the summer timetable of the ferries.")
    assert first.pages == (1, 1) and {r.page for r in first.regions} == {1}


def test_find_range_follows_a_quote_cleaned_of_its_markup() -> None:
    text = "Intro.\n\nThe **new** lighthouse of  Kerlouan was inaugurated."
    start, end = find_range(text, "The new lighthouse of Kerlouan was inaugurated.") or (0, 0)
    assert text[start:end].startswith("The **new**") and text[start:end].endswith("inaugurated")
    assert find_range(text, "Nothing of the sort here at all") is None


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, embedder: object) -> Archive:
    root = tmp_path_factory.mktemp("provenance")
    for name, data in (("lighthouse.pdf", lighthouse_pdf()), ("bulletin.pdf", three_bulletins())):
        (root / name).write_bytes(data)
    archive = Archive(Settings(db=str(root / "index")).options())
    archive.__dict__["embedder"] = embedder
    results = archive.ingest(
        [
            SourceDocument(uri=str(root / n), path=root / n)
            for n in ("lighthouse.pdf", "bulletin.pdf")
        ]
    )
    assert [r.action for r in results] == ["added", "added"], results
    return archive


def test_ask_cites_the_page_of_the_quoted_sentence(archive: Archive) -> None:
    answer = archive.ask(QUESTION)
    cited = [c for c in answer.citations if "Kerlouan" in c.quote]
    assert cited, answer
    for citation in cited:
        assert (citation.page_start, citation.page_end) == (2, 2)
        assert citation.regions and {r.page for r in citation.regions} == {2}


def test_an_identifier_in_body_text_and_one_in_a_running_header_are_both_found(
    archive: Archive,
) -> None:
    body = archive.search("ZQX0171", mode="fts")
    assert body and all("bulletin.pdf" in h.chunk.source for h in body)
    assert "ZQX0171" in body[0].chunk.text
    header = archive.search("HBX-2291", mode="fts")
    assert header and "bulletin.pdf" in header[0].chunk.source
    assert "HBX-2291" not in header[0].chunk.text  # found through the page's furniture
    assert "HBX-2291" in header[0].chunk.furniture


def test_the_command_line_cites_page_two(archive: Archive) -> None:
    db = archive.options.store.uri
    proc = run("ask", QUESTION, "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    cited = [c for c in json.loads(proc.stdout)["citations"] if "Kerlouan" in c["quote"]]
    assert cited and all((c["page_start"], c["page_end"]) == (2, 2) for c in cited)
    proc = run("search", "ZQX0171", "--mode", "fts", "--db", str(db), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["hits"], proc.stderr


def test_v1_ask_cites_page_two(archive: Archive) -> None:
    key = "provenance-key-0123456789"
    db = archive.options.store.uri
    settings = ApiSettings(api_keys=key)
    app = create_app(
        Settings(db=str(db)), archive=archive, api_settings=settings,
        keys=KeyRing.from_settings(settings),
    )  # fmt: skip
    with running(app) as url:
        reply = httpx.post(
            url + "/v1/ask",
            json={"question": QUESTION},
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        )
    assert reply.status_code == 200, reply.text
    cited = [c for c in reply.json()["citations"] if "Kerlouan" in c["quote"]]
    assert cited and all((c["page_start"], c["page_end"]) == (2, 2) for c in cited)
    assert all(r["page"] == 2 for c in cited for r in c["regions"])


def test_furniture_matches_obey_filters(archive: Archive) -> None:
    assert archive.search("HBX-2291", mode="fts", filters=SearchFilters(collection="default"))
    assert not archive.search("HBX-2291", mode="fts", filters=SearchFilters(collection="other"))
