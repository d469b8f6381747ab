"""The body of ``archivist convert``: documents to ``.md`` files with a provenance ``.json`` each,
a progress bar over pages, and one line per document.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.render import console, err_console
from connectors.local import list_local
from pipeline.errors import ArchivistError
from pipeline.models import ConvertOptions, ParsedDocument


def _describe(parsed: ParsedDocument) -> str:
    methods: dict[str, int] = {}
    for page in parsed.pages:
        methods[page.method] = methods.get(page.method, 0) + 1
    how = ", ".join(f"{n} {m}" for m, n in sorted(methods.items()))
    note = f" [yellow]{parsed.status}[/]" if parsed.status != "ok" else ""
    return f"({len(parsed.pages)} pages: {how}){note}"


def run_convert(paths: list[Path], out: Path, opts: ConvertOptions, *, sidecar: bool = True) -> int:
    """Convert every document under ``paths`` into ``out`` (mirroring folders); failures count."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from pipeline.convert import convert_document
    from pipeline.convert.provenance import provenance_json

    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
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
                    parsed = convert_document(doc, opts, on_page=advance)
                except ArchivistError as e:
                    failed += 1
                    err_console.print(f"[red]FAILED[/] {doc.path}: {e}")
                    continue
                finally:
                    progress.remove_task(task)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(parsed.markdown, encoding="utf-8")
                if sidecar:
                    target.with_suffix(".json").write_text(provenance_json(parsed), "utf-8")
                console.print(f"{doc.path} → {target} {_describe(parsed)}")
                for error in parsed.errors:
                    console.print(f"  [yellow]{error}[/]")
            for missing in listing.missing:
                failed += 1
                err_console.print(f"[red]no such file or folder:[/] {missing}")
    return failed


def convert_or_exit(paths: list[Path], out: Path, opts: ConvertOptions, sidecar: bool) -> None:
    if run_convert(paths, out, opts, sidecar=sidecar):
        raise typer.Exit(1)
