"""``archivist eval convert``: score the converter on olmOCR-Bench-format tests, side by side
with pymupdf4llm, and write a Markdown + HTML report.

    archivist eval convert --tests tests.jsonl --pdfs pdfs/ --report out/ [--labels labels/]
    archivist eval convert --suite ../shared/data/pdf --suite sample_docs --report out/ \
        [--variant "rules:layout=rules"]

``--suite`` scores every ground-truth set found under the folders in one run
(``evals.convert.suite``); ``--variant NAME:field=value,...`` adds our converter with other
``ConvertOptions`` as one more column, so a change is compared before/after on the same files.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

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
from cli.eval_app import eval_app
from cli.render import console, err_console


@eval_app.command("convert")
def eval_convert(
    pdfs: Annotated[
        Path | None,
        typer.Option("--pdfs", help="Folder the tests' pdf paths are relative to."),
    ] = None,
    tests: Annotated[
        Path | None, typer.Option("--tests", help="olmOCR-Bench JSONL tests.", show_default=False)
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Folder for report.md/.html/.json.")
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels", help="Folder of full-page Markdown labels (NAME.md for NAME*.pdf)."
        ),
    ] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Also run pymupdf4llm side by side.")
    ] = True,
    ocr: OcrOpt = None,
    engine: EngineOpt = None,
    dpi: DpiOpt = None,
    workers: WorkersOpt = None,
    vlm_url: VlmUrlOpt = None,
    vlm_model: VlmModelOpt = None,
    ocr_precision: PrecisionOpt = None,
    layout: LayoutOpt = None,
    ocr_model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    suite: Annotated[
        list[Path] | None,
        typer.Option(
            "--suite", help="Score every ground-truth set under this folder (repeatable)."
        ),
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option(
            "--variant",
            help="With --suite: also run NAME:field=value,... (ConvertOptions fields).",
        ),
    ] = None,
    checkout: Annotated[
        list[str] | None,
        typer.Option(
            "--checkout",
            help="With --suite: also run the converter of another checkout, NAME=DIR "
            "(an earlier commit: before and after in one run).",
        ),
    ] = None,
) -> None:
    """Score conversion on unit tests (present, absent, order, table, baseline, math)."""
    opts = convert_options(
        ocr, engine, dpi, workers, vlm_url, vlm_model, ocr_precision, layout, ocr_model
    )
    if suite:
        from cli.eval_suite import run_suite_command

        run_suite_command(suite, opts, variant or [], checkout or [], baseline, report, as_json)
        return
    from evals.convert.checks import load_tests
    from evals.convert.report import summary_table, write_report
    from evals.convert.runner import (
        ConvertEval,
        archivist_converter,
        labelled_pdfs,
        pymupdf4llm_converter,
        score_labels,
        score_tests,
        summarize,
    )

    if pdfs is None or not pdfs.is_dir():
        raise typer.BadParameter(f"not a folder: {pdfs}", param_hint="--pdfs")
    if tests is None and labels is None:
        raise typer.BadParameter("give --tests, --labels or both (or --suite)")
    items = load_tests(tests) if tests else []
    converters = [("archivist", archivist_converter(opts))]
    if baseline:
        try:
            converters.append(("pymupdf4llm", pymupdf4llm_converter()))
        except ImportError:
            err_console.print("[yellow]pymupdf4llm not installed: baseline skipped[/]")
    pairs = labelled_pdfs(labels, pdfs) if labels else []
    results = []
    for name, convert in converters:
        with console.status(f"converting with {name}…") if not as_json else _nothing():
            result = score_tests(name, convert, items, pdfs) if items else summarize(name, [])
            result.labels = score_labels(convert, pairs, pdfs)
        results.append(result)
    dataset = tests.parent.name if tests else labels.name if labels else pdfs.name
    settings = {"ocr": opts.ocr, "engine": opts.engine, "dpi": opts.dpi, "workers": opts.workers}
    run = ConvertEval(
        dataset=dataset, created_at=dt.datetime.now(dt.UTC), settings=settings, results=results
    )
    if report is not None:
        write_report(run, report)
    if as_json:
        print(json.dumps(run.model_dump(mode="json"), ensure_ascii=False))
        return
    console.print("\n".join(summary_table(run)))
    for result in results:
        for row in result.labels:
            line = f"{result.converter}: {row.pdf} vs {row.label}: edit distance {row.distance:.3f}"
            if row.text_distance is not None:
                line += f" (text only, tables apart: {row.text_distance:.3f})"
            console.print(line)
    if report is not None:
        console.print(f"report: {report / 'report.html'}")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
