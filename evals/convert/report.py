"""The report of ``archivist eval convert``: Markdown and HTML a person reads, plus JSON.

One table puts the converters side by side (pass rate, per category, verified subset, speed,
edit distance to labels); then each converter's failures are listed with the reason, so a
regression is one click from its cause. ``history.jsonl`` in the report folder gets one line per
run and the report shows the last runs, so runs stay comparable over time.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from evals.convert.checks import KINDS
from evals.convert.runner import ConverterResult, ConvertEval

HISTORY = "history.jsonl"


def _pct(passed: int, total: int) -> str:
    return f"{passed}/{total} ({passed / total:.3f})" if total else "–"


def summary_table(result: ConvertEval) -> list[str]:
    kinds = [k for k in KINDS if any(k in r.categories for r in result.results)]
    head = ["converter", "score (non-math)", "verified", *kinds, "pages/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in result.results:
        cells = [
            f"**{r.converter}**",
            _pct(r.passed, r.total),
            _pct(*r.verified) if r.verified[1] else "–",
            *(_pct(*r.categories[k]) if k in r.categories else "–" for k in kinds),
            f"{r.pages_per_second:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _labels(result: ConvertEval) -> list[str]:
    rows = [(r.converter, row) for r in result.results for row in r.labels]
    if not rows:
        return []
    lines = ["", "## Edit distance to full-page labels", ""]
    lines += [
        "| converter | pdf | label | normalised edit distance | text only (tables apart) |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {c} | {row.pdf} | {row.label} | {row.distance:.3f} | {_num(row.text_distance)} |"
        for c, row in rows
    ]
    return lines


def _failures(r: ConverterResult) -> list[str]:
    failed = [t for t in r.tests if not t.passed]
    lines = ["", f"## Failures: {r.converter} ({len(failed)})", ""]
    if not failed:
        return [*lines, "None."]
    lines += ["| test | type | pdf | why |", "| --- | --- | --- | --- |"]
    for t in failed:
        why = t.explanation.replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(f"| `{t.id}` | {t.type} | {t.pdf} | {why} |")
    if r.errors:
        lines += ["", "Conversion errors:", *(f"- {e}" for e in r.errors)]
    return lines


def _history(folder: Path) -> list[str]:
    path = folder / HISTORY
    if not path.is_file():
        return []
    runs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    lines = ["", "## Runs (newest last)", "", "| when | dataset | converter | score | settings |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for run in runs[-20:]:
        for conv, score in run["scores"].items():
            settings = ", ".join(f"{k}={v}" for k, v in run.get("settings", {}).items())
            lines.append(
                f"| {run['created_at'][:19]} | {run['dataset']} | {conv} | {score:.3f} "
                f"| {settings} |"
            )
    return lines


def report_markdown(result: ConvertEval, folder: Path | None = None) -> str:
    lines = [
        f"# Conversion eval: {result.dataset}",
        "",
        f"{result.created_at:%Y-%m-%d %H:%M} UTC. Scores are the share of olmOCR-Bench-format "
        "tests passed, math excluded (it is its own category).",
        "",
        *summary_table(result),
    ]
    if any(r.pages for r in result.results):
        lines += ["", "![pass rate per category](categories.png)"]
    lines += _labels(result)
    for r in result.results:
        lines += _failures(r)
    if folder is not None:
        lines += _history(folder)
    return "\n".join(lines) + "\n"


def _plot(result: ConvertEval, path: Path) -> Path | None:
    try:
        from evals.plots import metric_bars
    except ImportError:  # plots are a nicety: the tables carry the numbers
        return None
    scores = {
        r.converter: {k: p / t for k, (p, t) in r.categories.items() if t} | {"all": r.score}
        for r in result.results
    }
    return metric_bars(scores, path, metrics=("all", *KINDS), title=result.dataset)


def _html(markdown: str, folder: Path, title: str) -> str:
    try:
        from evals.report import markdown_to_html

        return markdown_to_html(markdown, folder, title)
    except ImportError:
        return (
            f"<!doctype html><title>{html.escape(title)}</title><pre>{html.escape(markdown)}</pre>"
        )


def write_report(result: ConvertEval, folder: Path) -> list[Path]:
    """Write report.md, report.html, results.json and a plot; add one line to the history."""
    folder.mkdir(parents=True, exist_ok=True)
    run = {
        "created_at": result.created_at.isoformat(),
        "dataset": result.dataset,
        "settings": result.settings,
        "scores": {r.converter: round(r.score, 4) for r in result.results},
    }
    with (folder / HISTORY).open("a", encoding="utf-8") as f:
        f.write(json.dumps(run, ensure_ascii=False) + "\n")
    _plot(result, folder / "categories.png")
    markdown = report_markdown(result, folder)
    paths = [folder / "report.md", folder / "report.html", folder / "results.json"]
    paths[0].write_text(markdown, encoding="utf-8")
    paths[1].write_text(_html(markdown, folder, f"Conversion eval: {result.dataset}"), "utf-8")
    paths[2].write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return paths
