"""The chunker keeps heading paths and page spans, respects the token bound, and overlaps."""

from __future__ import annotations

from itertools import pairwise

from pipeline.chunk import chunk_markdown, context_header
from pipeline.models import ChunkOptions, ParsedDocument, SourceMetadata
from pipeline.tokens import default_token_counter


def _doc(markdown: str) -> ParsedDocument:
    return ParsedDocument(
        doc_id="f" * 64,
        uri="mem://doc.md",
        metadata=SourceMetadata(title="Annual report"),
        media_type="text/markdown",
        markdown=markdown,
    )


def _sentences(prefix: str, n: int) -> str:
    return " ".join(
        f"The {prefix} sentence {i} says something specific about {prefix}." for i in range(n)
    )


def test_heading_path_and_page_spans() -> None:
    md = (
        "<!-- page 1 -->\n# Harbour\n\nIntro on page one.\n\n## Strike\n\nDockers stopped work.\n\n"
        "<!-- page 2 -->\nStill on strike on page two.\n\n"
        "<!-- page 3 -->\n# Elections\n\nVotes counted."
    )
    chunks = chunk_markdown(_doc(md))
    by_text = {c.text.split("\n")[0]: c for c in chunks}
    strike = by_text["Dockers stopped work."]
    assert strike.heading_path == ["Harbour", "Strike"]
    assert (strike.page_start, strike.page_end) == (1, 2)
    assert "Still on strike on page two." in strike.text
    elections = by_text["Votes counted."]
    assert elections.heading_path == ["Elections"]
    assert (elections.page_start, elections.page_end) == (3, 3)
    assert by_text["Intro on page one."].heading_path == ["Harbour"]


def test_token_bound_overlap_and_deterministic_ids() -> None:
    counter = default_token_counter()
    md = "<!-- page 1 -->\n# Long\n\n" + "\n\n".join(_sentences(f"topic{i}", 6) for i in range(8))
    opts = ChunkOptions(max_tokens=120, overlap_tokens=30)
    chunks = chunk_markdown(_doc(md), opts)
    assert len(chunks) > 3
    assert all(counter.count(c.text) <= opts.max_tokens for c in chunks)
    # consecutive chunks share a sentence (the overlap)
    shared = [set(a.text.split(". ")) & set(b.text.split(". ")) for a, b in pairwise(chunks)]
    assert any(shared)
    assert [c.chunk_id for c in chunks] == [c.chunk_id for c in chunk_markdown(_doc(md), opts)]
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_monster_paragraph_is_cut_and_tables_stay_whole() -> None:
    table = "| year | votes |\n|---|---|\n" + "\n".join(
        f"| {1980 + i} | {i * 100} |" for i in range(5)
    )
    md = "<!-- page 1 -->\n" + "word " * 2000 + "\n\n" + table
    chunks = chunk_markdown(_doc(md), ChunkOptions(max_tokens=200, overlap_tokens=0))
    counter = default_token_counter()
    assert all(counter.count(c.text) <= 200 for c in chunks)
    tables = [c for c in chunks if "| year | votes |" in c.text]
    assert len(tables) == 1 and "| 1984 | 400 |" in tables[0].text


def test_context_header_names_title_and_sections() -> None:
    md = "<!-- page 1 -->\n# Annual report\n\n## Finances\n\nIt rose 4 %."
    chunk = chunk_markdown(_doc(md))[0]
    assert context_header(chunk) == "Annual report > Finances"
