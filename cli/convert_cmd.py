"""The body of ``archivist convert``: documents to ``.md`` files with a provenance ``.json`` each,
a progress bar over pages, and one line per document (with ``--json``, one JSON object per line:
``{"source", "status", "markdown", "pages", "methods", "errors"}``, status ``failed`` with a
``reason`` when the document could not be converted).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from cli.render import console, err_console, json_line
from connectors.local import list_local
from pipeline.errors import ArchivistError
from pipeline.models import ConvertOptions, ParsedDocument, SourceDocument


def _describe(parsed: ParsedDocument) -> str:
    how = ", ".join(f"{n} {m}" for m, n in sorted(_methods(parsed).items()))
    note = f" [yellow]{parsed.status}[/]" if parsed.status != "ok" else ""
    return f"({len(parsed.pages)} pages: {how}){note}"


def _methods(parsed: ParsedDocument) -> dict[str, int]:
    methods: dict[str, int] = {}
    for page in parsed.pages:
        methods[page.method] = methods.get(page.method, 0) + 1
    return methods


def _failed(source: Path, reason: str, *, as_json: bool) -> None:
    if as_json:
        json_line({"source": str(source), "status": "failed", "reason": reason})
    else:
        err_console.print(f"[red]FAILED[/] {source}: {reason}")


def _converted(source: Path, target: Path, parsed: ParsedDocument, *, as_json: bool) -> None:
    if as_json:
        json_line(
            {
                "source": str(source),
                "status": parsed.status,
                "markdown": str(target),
                "pages": len(parsed.pages),
                "methods": _methods(parsed),
                "errors": [str(e) for e in parsed.errors],
            }
        )
        return
    console.print(f"{source} → {target} {_describe(parsed)}")
    for error in parsed.errors:
        console.print(f"  [yellow]{error}[/]")


def run_convert(
    paths: list[Path],
    out: Path,
    opts: ConvertOptions,
    *,
    sidecar: bool = True,
    as_json: bool = False,
) -> int:
    """Convert every document under ``paths`` into ``out`` (mirroring folders); failures count."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, transient=True, disable=as_json) as progress:
        for root in paths:
            listing = list_local([root])
            for doc in listing.documents:
                assert doc.path is not None
                rel = doc.path.relative_to(root.resolve()) if root.is_dir() else Path(doc.path.name)
                target = (out / rel).with_suffix(".md")
                task = progress.add_task(doc.path.name[:40], total=None)

                def advance(done: int, total: int, task: int = task) -> None:
                    progress.update(task, completed=done, total=total)

                try:
                    parsed = _convert_one(doc, target, opts, sidecar, advance)
                except ArchivistError as e:
                    failed += 1
                    _failed(doc.path, str(e), as_json=as_json)
                    continue
                finally:
                    progress.remove_task(task)
                _converted(doc.path, target, parsed, as_json=as_json)
            for missing in listing.missing:
                failed += 1
                _failed(missing, "no such file or folder", as_json=as_json)
    return failed


def _convert_one(
    doc: SourceDocument,
    target: Path,
    opts: ConvertOptions,
    sidecar: bool,
    on_page: Callable[[int, int], None],
) -> ParsedDocument:
    """Convert ``doc`` and write its Markdown (and provenance) at ``target``."""
    from pipeline.convert import convert_document
    from pipeline.convert.provenance import provenance_json

    parsed = convert_document(doc, opts, on_page=on_page)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(parsed.markdown, encoding="utf-8")
    if sidecar:
        target.with_suffix(".json").write_text(provenance_json(parsed), "utf-8")
    return parsed


def convert_or_exit(
    paths: list[Path], out: Path, opts: ConvertOptions, sidecar: bool, *, as_json: bool = False
) -> None:
    if run_convert(paths, out, opts, sidecar=sidecar, as_json=as_json):
        raise typer.Exit(1)
