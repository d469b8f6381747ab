"""The ``archivist`` command: ingest, convert, search, ask, demo.

Exit codes (``cli.app``): 0 everything went through, 1 some documents failed (each named with
its reason), 2 usage or configuration error, 3 a backend failed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from cli.app import (
    EXIT_FAILED_DOCUMENTS,
    EXIT_USAGE,
    CollOpt,
    DateOpt,
    DbOpt,
    ExcludeOpt,
    JsonOpt,
    KOpt,
    LangOpt,
    WriteCollOpt,
    app,
    open_archive,
)
from cli.convert_opts import (
    DpiOpt,
    EngineOpt,
    LayoutOpt,
    ModelOpt,
    OcrOpt,
    PrecisionOpt,
    VlmModelOpt,
    VlmUrlOpt,
    WorkersOpt,
    convert_options,
)
from cli.render import (
    answer_json,
    console,
    err_console,
    ingest_line,
    ingest_summary,
    json_line,
    print_answer,
    print_hits,
)
from connectors.local import list_local
from pipeline.models import IngestResult, SearchFilters


def _filters(
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    language: str | None,
    collection: str | None,
) -> SearchFilters | None:
    if not any((date_from, date_to, language, collection)):
        return None
    return SearchFilters(
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
        language=language,
        collection=collection,
    )


def _run_ingest(  # type: ignore[no-untyped-def]
    archive, paths: list[Path], collection: str, exclude: list[str], *, quiet: bool
) -> list[IngestResult]:
    """Ingest the documents under ``paths`` with a progress bar and a line each (unless
    ``quiet``, for JSON output); exit 2 when no path exists."""
    from rich.progress import Progress

    listing = list_local(paths, collection=collection, exclude=exclude)
    for missing in listing.missing:
        err_console.print(f"[red]no such file or folder:[/] {missing}")
    if listing.missing and not listing.documents:
        raise typer.Exit(EXIT_USAGE)
    with Progress(console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task("ingesting", total=len(listing.documents))

        def show(result: IngestResult) -> None:
            progress.advance(task)
            if not quiet:
                console.print(ingest_line(result))

        results = archive.ingest(listing.documents, on_result=show)
    if not quiet:
        console.print(ingest_summary(results, listing.skipped, listing.excluded))
    return results


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (walked recursively).")],
    db: DbOpt = None,
    collection: WriteCollOpt = "default",
    exclude: ExcludeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Convert, chunk, embed and index documents. Unchanged files cost nothing.

    Creates the index at --db if there is none yet.
    """
    archive = open_archive(db, create=True)
    results = _run_ingest(archive, paths, collection, exclude or [], quiet=as_json)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in results], ensure_ascii=False))
    if any(r.status == "failed" for r in results):  # failed now, or before and still so
        raise typer.Exit(EXIT_FAILED_DOCUMENTS)


@app.command()
def convert(
    paths: Annotated[list[Path], typer.Argument(help="PDF, Markdown or text files or folders.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the .md files.")],
    ocr: OcrOpt = None,
    engine: EngineOpt = None,
    dpi: DpiOpt = None,
    workers: WorkersOpt = None,
    vlm_url: VlmUrlOpt = None,
    vlm_model: VlmModelOpt = None,
    ocr_precision: PrecisionOpt = None,
    layout: LayoutOpt = None,
    ocr_model: ModelOpt = None,
    sidecar: Annotated[
        bool, typer.Option("--sidecar/--no-sidecar", help="Write NAME.json provenance.")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per document instead of text.")
    ] = False,
) -> None:
    """Convert documents to Markdown (one .md per input, mirroring folder structure)."""
    from cli.convert_cmd import convert_or_exit

    opts = convert_options(
        ocr, engine, dpi, workers, vlm_url, vlm_model, ocr_precision, layout, ocr_model
    )
    convert_or_exit(paths, out, opts, sidecar, as_json=as_json)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    db: DbOpt = None,
    k: KOpt = None,
    mode: Annotated[str, typer.Option(help="hybrid, fts or vector.")] = "hybrid",
    date_from: DateOpt = None,
    date_to: DateOpt = None,
    language: LangOpt = None,
    collection: CollOpt = None,
    all_variants: Annotated[
        bool,
        typer.Option(
            "--all-variants",
            help="Every version of a story as its own hit (default: one per story, the others "
            "listed under it).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Hybrid (full-text + vector) search over the index: one hit per story."""
    if mode not in ("hybrid", "fts", "vector"):
        raise typer.BadParameter("mode must be hybrid, fts or vector", param_hint="--mode")
    filters = _filters(date_from, date_to, language, collection)
    hits = open_archive(db).search(
        query, k=k, mode=mode, filters=filters, all_variants=all_variants
    )
    print_hits(hits, as_json=as_json)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question, in French or English.")],
    db: DbOpt = None,
    backend: Annotated[
        str | None, typer.Option(help="offline (built-in) or openai (ARCHIVIST_LLM_*).")
    ] = None,
    k: KOpt = None,
    date_from: DateOpt = None,
    date_to: DateOpt = None,
    language: LangOpt = None,
    collection: CollOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question from the archive, citing document and page."""
    archive = open_archive(db)
    filters = _filters(date_from, date_to, language, collection)
    answer = archive.ask(question, backend=backend, k=k, filters=filters)
    print_answer(answer, as_json=as_json)


# The sample folder's README describes the samples and lists their questions: indexed, it would
# answer those questions itself; reference/ holds the samples' text again (the conversion evals'
# ground truth). The demo and the docs' quickstarts leave both out.
SAMPLE_EXCLUDE = ["README*", "reference/**"]


@app.command()
def demo(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Ingest sample_docs/ (its PDFs: README and reference texts excluded), then answer the
    sample English and French questions."""
    samples = _sample_dir()
    archive = open_archive(db, create=True)
    if not as_json:
        console.rule("Ingesting sample_docs/")
    results = _run_ingest(archive, [samples], "default", SAMPLE_EXCLUDE, quiet=as_json)
    questions = json.loads((samples / "questions.json").read_text(encoding="utf-8"))
    answers = []
    for q in (q for q in questions if q.get("demo")):
        answer = archive.ask(q["question"])
        if as_json:
            answers.append({"question": q["question"], "language": q["language"]})
            answers[-1].update(answer_json(answer))
            continue
        console.rule(f"Question ({q['language']})")
        console.print(f"[bold]{q['question']}[/]\n")
        print_answer(answer, as_json=False)
    if as_json:
        json_line({"ingest": [r.model_dump(mode="json") for r in results], "answers": answers})


def _sample_dir() -> Path:
    for candidate in (Path(__file__).resolve().parents[1] / "sample_docs", Path("sample_docs")):
        if (candidate / "questions.json").is_file():
            return candidate
    raise typer.BadParameter("sample_docs/ not found: run from the repository root")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"archivist {version('archivist')}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="-v: what each stage does (info lines on stderr); -vv: debug lines too, "
            "HTTP clients and other libraries included.",
        ),
    ] = 0,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    from cli.logs import setup_logging

    setup_logging(verbose)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# Sub-commands that live in their own modules register themselves on ``app`` when imported:
# one import line per module, in this block.
import cli.documents  # noqa: E402  (archivist documents list|show|delete)
import cli.eval_convert  # noqa: E402  (archivist eval convert)
import cli.evals  # noqa: E402  (archivist eval retrieval|answers|history)
import cli.flows  # noqa: E402  (archivist sync|watch|deploy)
import cli.serve  # noqa: E402,F401  (archivist serve, archivist api-key)

if __name__ == "__main__":
    app()
