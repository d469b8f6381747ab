"""``archivist eval convert --suite``: every ground-truth set under the folders, in one run."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError

from cli.render import console
from pipeline.models import ConvertOptions


def parse_variant(spec: str, base: ConvertOptions) -> tuple[str, ConvertOptions]:
    """``rules:layout=rules,tables=false`` → ("rules", base with those fields changed).

    >>> parse_variant("lo:dpi=200", ConvertOptions())[1].dpi
    200
    """
    name, _, fields = spec.partition(":")
    if not name or not fields:
        raise typer.BadParameter(f"{spec!r}: want NAME:field=value,...", param_hint="--variant")
    update: dict[str, object] = {}
    for pair in fields.split(","):
        key, _, value = pair.partition("=")
        try:
            update[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            update[key.strip()] = value.strip()
    unknown = set(update) - set(ConvertOptions.model_fields)
    if unknown:
        raise typer.BadParameter(f"unknown option(s) {sorted(unknown)}", param_hint="--variant")
    try:
        return name, ConvertOptions.model_validate(base.model_dump() | update)
    except ValidationError as e:
        raise typer.BadParameter(str(e), param_hint="--variant") from e


def run_suite_command(
    roots: list[Path],
    opts: ConvertOptions,
    variants: list[str],
    checkouts: list[str],
    baseline: bool,
    report: Path | None,
    as_json: bool,
) -> None:
    from evals.convert.suite import (
        archivist_pages,
        checkout_pages,
        pymupdf4llm_pages,
        run_suite,
    )
    from evals.convert.suite_report import summary_lines, write_suite_report

    for root in roots:
        if not root.is_dir():
            raise typer.BadParameter(f"not a folder: {root}", param_hint="--suite")
    chosen = [("archivist", opts), *(parse_variant(v, opts) for v in variants)]
    converters = [(name, archivist_pages(o)) for name, o in chosen]
    settings = {name: o.model_dump(mode="json", exclude={"vlm"}) for name, o in chosen}
    for spec in checkouts:
        name, _, folder = spec.partition("=")
        if not name or not Path(folder).is_dir():
            raise typer.BadParameter(f"{spec!r}: want NAME=DIR", param_hint="--checkout")
        converters.append((name, checkout_pages(Path(folder))))
        settings[name] = {"checkout": str(Path(folder).resolve())}
    if baseline:
        converters.append(("pymupdf4llm", pymupdf4llm_pages()))

    def progress(set_name: str, converter: str) -> None:
        if not as_json:
            console.print(f"[dim]{set_name}: {converter}…[/]")

    run = run_suite(roots, converters, settings=settings, on_set=progress)
    if report is not None:
        write_suite_report(run, report)
    if as_json:
        print(run.model_dump_json())
        return
    console.print("\n".join(summary_lines(run)), soft_wrap=True)
    if report is not None:
        console.print(f"report: {report / 'report.md'}")
