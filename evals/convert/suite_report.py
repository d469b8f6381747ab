"""The suite's report: one table with a row per set and a column per converter, then the details.

Test sets show the pass rate (non-math); document and label sets the mean normalised edit
distance (lower is better), the same with tables set apart, and the table score (higher is
better). The last rows pool every set, so one line says whether a change helped overall.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from evals.convert.suite import SetScore, SuiteEval


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def cell(score: SetScore | None) -> str:
    """``38/42 (0.905)`` for tests; ``0.191 · text 0.055 · tables 0.800`` for documents."""
    if score is None:
        return "–"
    if score.kind == "tests":
        return (
            f"{score.passed}/{score.total} ({score.passed / score.total:.3f})"
            if score.total
            else "–"
        )
    text = f"{_num(score.mean('distance'))} · text {_num(score.mean('text_distance'))}"
    tables = score.mean("table_score")
    heads = score.mean("heading_score")
    text += f" · tables {tables:.3f}" if tables is not None else ""
    return text + (f" · headings {heads:.3f}" if heads is not None else "")


def pooled(run: SuiteEval, converter: str) -> dict[str, float | None]:
    """Every set at once: tests passed over all tests, mean distances over all documents."""
    mine = [s for s in run.scores if s.converter == converter]
    passed = sum(s.passed for s in mine)
    total = sum(s.total for s in mine)
    docs = [d for s in mine for d in s.documents]
    tables = [d.table_score for d in docs if d.table_score is not None]
    texts = [d.text_distance for d in docs if d.text_distance is not None]
    heads = [d.heading_score for d in docs if d.heading_score is not None]
    pages = sum(s.pages for s in mine)
    seconds = sum(s.seconds for s in mine)
    return {
        "tests": passed / total if total else None,
        "tests_passed": passed,
        "tests_total": total,
        "distance": statistics.fmean(d.distance for d in docs) if docs else None,
        "text_distance": statistics.fmean(texts) if texts else None,
        "table_score": statistics.fmean(tables) if tables else None,
        "heading_score": statistics.fmean(heads) if heads else None,
        "pages_per_s": pages / seconds if seconds else None,
    }


def summary_lines(run: SuiteEval) -> list[str]:
    """The side-by-side table (Markdown)."""
    head = ["set", *run.converters]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in run.set_names:
        cells = [cell(run.score(name, c)) for c in run.converters]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = {c: pooled(run, c) for c in run.converters}
    rows = [
        ("**all tests**", lambda p: f"{p['tests_passed']}/{p['tests_total']} ({_num(p['tests'])})"),
        ("**all documents: distance**", lambda p: _num(p["distance"])),
        ("**all documents: text distance**", lambda p: _num(p["text_distance"])),
        ("**all documents: table score**", lambda p: _num(p["table_score"])),
        ("**all documents: heading score**", lambda p: _num(p["heading_score"])),
        ("pages/s (in-process)", lambda p: _num(p["pages_per_s"])),
    ]
    for label, show in rows:
        lines.append(f"| {label} | " + " | ".join(show(totals[c]) for c in run.converters) + " |")
    return lines


def _details(run: SuiteEval) -> list[str]:
    lines = ["", "## Documents", "", "| set | pdf | " + " | ".join(run.converters) + " |"]
    lines.append("|" + " --- |" * (2 + len(run.converters)))
    for name in run.set_names:
        first = run.score(name, run.converters[0])
        if first is None or first.kind == "tests":
            continue
        for i, row in enumerate(first.documents):
            cells = []
            for conv in run.converters:
                score = run.score(name, conv)
                d = score.documents[i] if score and i < len(score.documents) else None
                tables = f" · t {d.table_score:.2f}" if d and d.table_score is not None else ""
                text = f" · {d.text_distance:.3f}" if d and d.text_distance is not None else ""
                cells.append(f"{d.distance:.3f}{text}{tables}" if d else "–")
            lines.append(f"| {name} | {row.pdf} | " + " | ".join(cells) + " |")
    return lines


def _failures(run: SuiteEval) -> list[str]:
    lines = []
    for score in run.scores:
        failed = [t for t in score.tests if not t.passed and t.type != "math"]
        if not failed and not score.errors:
            continue
        lines += ["", f"## Failed tests: {score.converter} on {score.set} ({len(failed)})", ""]
        for t in failed:
            why = t.explanation.replace("\n", " ")[:160]
            lines.append(f"- `{t.id}` ({t.type}, {t.pdf}): {why}")
        lines += [f"- error: {e}" for e in score.errors]
    return lines


def report_markdown(run: SuiteEval) -> str:
    lines = [
        "# Conversion suite",
        "",
        f"{run.created_at:%Y-%m-%d %H:%M} UTC, sets under {', '.join(run.roots)}. Test sets: "
        "share of olmOCR-Bench-format tests passed (math apart). Documents: mean normalised edit "
        "distance (lower is better) · the same with tables set apart · table score "
        "(neighbour-relation F1, higher is better) · heading score (F1 of heading lines).",
        "",
        *summary_lines(run),
        *_details(run),
        *_failures(run),
    ]
    return "\n".join(lines) + "\n"


def write_suite_report(run: SuiteEval, folder: Path) -> list[Path]:
    """report.md and results.json in ``folder``; one line per run appended to history.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / "report.md"
    md.write_text(report_markdown(run), encoding="utf-8")
    results = folder / "results.json"
    results.write_text(run.model_dump_json(indent=1), encoding="utf-8")
    line = {
        "created_at": run.created_at.isoformat(),
        "settings": run.settings,
        "pooled": {c: pooled(run, c) for c in run.converters},
    }
    with (folder / "history.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
    return [md, results]
