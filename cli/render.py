"""How the CLI shows results: plain, readable lines for people; JSON shapes for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from pipeline.models import Answer, Hit, IngestResult

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
# Piped or redirected output is for grep, awk and files: one line stays one line, whatever the
# width (a terminal keeps rich's wrapping).
console.soft_wrap = not console.is_terminal
err_console.soft_wrap = not err_console.is_terminal


def json_line(data: Any) -> None:
    """One JSON document on one line of stdout (never restyled or wrapped)."""
    print(json.dumps(data, ensure_ascii=False, default=str), flush=True)


_MARK = {
    "added": "[green]added[/]",
    "replaced": "[green]replaced[/]",
    "unchanged": "[dim]unchanged[/]",
    "duplicate": "[dim]duplicate[/]",
    "failed": "[red]FAILED[/]",
}


def pages_label(start: int | None, end: int | None) -> str:
    if start is None:
        return "p. ?"
    return f"p. {start}" if end in (None, start) else f"pp. {start}-{end}"


def short_source(source: str) -> str:
    return Path(source).name if "/" in source else source


def ingest_line(result: IngestResult) -> str:
    """One line per document: its action, or FAILED with the reason (also when it failed before
    and its bytes have not changed since: the engine does not convert them again)."""
    name = escape(short_source(result.uri))
    if result.action == "failed":
        return f"{_MARK['failed']:<22} {name}: {escape(result.reason)}"
    if result.status == "failed":
        return f"{_MARK['failed']} (unchanged)  {name}: {escape(result.reason)}"
    detail = f"{result.pages} pages, {result.chunks} chunks"
    line = f"{_MARK[result.action]:<22} {name} ({detail})"
    if result.status == "partial":
        line += f" [yellow]partial[/]: {escape(result.reason)}"
    return line


def ingest_summary(
    results: list[IngestResult], skipped: list[Path], excluded: Sequence[Path] = ()
) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.action] = counts.get(r.action, 0) + 1
    parts = [f"{n} {action}" for action, n in sorted(counts.items())]
    partial = sum(r.status == "partial" for r in results)
    if partial:
        parts.append(f"{partial} partial")
    still = sum(r.status == "failed" and r.action != "failed" for r in results)
    if still:
        parts.append(f"{still} still failed (unchanged since)")
    if skipped:
        parts.append(f"{len(skipped)} skipped (not a supported type)")
    if excluded:
        parts.append(f"{len(excluded)} excluded (--exclude)")
    return f"{len(results)} documents: " + ", ".join(parts)


def hit_json(hit: Hit) -> dict[str, Any]:
    c = hit.chunk
    return {
        "chunk_id": c.chunk_id,
        "doc_id": c.doc_id,
        "title": c.title,
        "source": c.source,
        "page_start": c.page_start,
        "page_end": c.page_end,
        "score": hit.score,
        "text": c.text,
        "variants": [v.model_dump(mode="json") for v in hit.variants],
    }


def print_hits(hits: list[Hit], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"hits": [hit_json(h) for h in hits]}, ensure_ascii=False, default=str))
        return
    if not hits:
        console.print("No matching passages.")
        return
    for i, hit in enumerate(hits, start=1):
        c = hit.chunk
        where = f"{short_source(c.source)}, {pages_label(c.page_start, c.page_end)}"
        console.print(
            f"[bold]{i}. {escape(c.title or '')}[/] — {escape(where)}  [dim]{hit.score:.4f}[/]"
        )
        snippet = " ".join(c.text.split())[:300]
        console.print(f"   {escape(snippet)}")
        for v in hit.variants:
            date = v.date.isoformat() if v.date else "-" * 10
            name = v.title or short_source(v.uri)
            console.print(f"   [dim]version {v.doc_id[:12]}  {date}  {v.language or '--'}  "
                          f"{escape(name)}[/]")  # fmt: skip


def answer_json(answer: Answer) -> dict[str, Any]:
    return {
        "answer": answer.text,
        "short": answer.short,
        "backend": answer.backend,
        "citations": [c.model_dump() for c in answer.citations],
    }


def print_answer(answer: Answer, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer_json(answer), ensure_ascii=False, default=str))
        return
    console.print(escape(answer.text))
    if answer.citations:
        console.print()
        for c in answer.citations:
            where = f"{short_source(c.source)}, {pages_label(c.page_start, c.page_end)}"
            console.print(f"  [{c.n}] {escape(c.title or '')} — {escape(where)}")
    for flag in answer.flagged:
        console.print(f"  [yellow]note:[/] {escape(flag)}")
