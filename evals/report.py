"""Eval reports a person reads: ``report.md`` and a self-contained ``report.html`` (plots inlined),
plus ``results.json`` with every per-query row for anyone who wants to dig or diff.

>>> paths = write_retrieval_report(result, Path("reports/piaf"))   # doctest: +SKIP
>>> sorted(p.name for p in paths)                                  # doctest: +SKIP
['metrics_by_mode.png', 'recall_at_k.png', 'report.html', 'report.md', 'results.json']
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from pathlib import Path

from evals import plots
from evals.history import EvalRun
from evals.results import AnswerEval, IndexInfo, RetrievalEval

TABLE_METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@20")
_IMG = re.compile(r'<img src="([^"]+\.png)"')
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}td:not(:first-child){font-variant-numeric:tabular-nums}
img{max-width:100%}code{background:#f5f5f5;padding:0 .2em}
"""


def _cell(text: str, limit: int = 0) -> str:
    """Text for a Markdown table cell: one line, no column breaks, no raw HTML."""
    text = " ".join(text.split())
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|").replace("<", "&lt;")


def _setting(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


_SETTING_LABELS = {
    "embedder": "Embedder", "chunker": "Chunker", "fusion": "Retrieval", "fts": "Full-text",
    "reranker": "Reranker", "answer": "Answerer",
}  # fmt: skip


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _rank(value: int | None) -> str:
    return "–" if value is None else str(value)


def _index_lines(index: IndexInfo, settings: dict[str, object]) -> list[str]:
    built = "reused from cache" if index.reused else f"built in {index.build_seconds:.0f} s"
    lines = [
        f"- Index: `{index.path}` (chunks table version {index.table_version}, "
        f"{index.documents} documents, {built})",
        f"- Index key: `{index.key[:16]}`",
    ]
    if index.failed:
        lines.append(f"- Documents that failed to ingest: {len(index.failed)}")
    for name, label in _SETTING_LABELS.items():
        if settings.get(name) is not None:
            lines.append(f"- {label}: `{_setting(settings[name])}`")
    return lines


def retrieval_markdown(result: RetrievalEval) -> str:
    """The retrieval report as Markdown (plots referenced as sibling PNG files)."""
    ran = {m: r for m, r in result.modes.items() if not r.skipped}
    lines = [
        f"# Retrieval eval — {result.dataset}",
        "",
        f"{result.queries} judged queries, run {result.created_at:%Y-%m-%d %H:%M} UTC in "
        f"{result.seconds:.0f} s. Default mode: **{result.default_mode}**.",
        "",
        "| mode | " + " | ".join(TABLE_METRICS) + " | seconds |",
        "|---|" + "---|" * (len(TABLE_METRICS) + 1),
    ]
    for mode, res in ran.items():
        values = " | ".join(_fmt(res.metrics.get(m)) for m in TABLE_METRICS)
        lines.append(f"| {mode} | {values} | {res.seconds:.0f} |")
    lines += [f"| {m} | skipped: {r.skipped} |" for m, r in result.modes.items() if r.skipped]
    if ran:
        lines += [
            "",
            "![metrics per mode](metrics_by_mode.png)",
            "",
            "![recall@k](recall_at_k.png)",
        ]
    lines += ["", "## Index and settings", "", *_index_lines(result.index, result.settings)]
    lines += ["", *_query_table(result)]
    return "\n".join(lines) + "\n"


def _query_table(result: RetrievalEval) -> list[str]:
    modes = [m for m, r in result.modes.items() if not r.skipped]
    if not modes:
        return []
    by_mode = {m: {q.query_id: q for q in result.modes[m].queries} for m in modes}
    first = result.modes[modes[0]].queries
    lines = [
        "## Per query: rank of the first relevant document",
        "",
        "`–` means no relevant document in the retrieved list.",
        "",
        "| query | " + " | ".join(modes) + " |",
        "|---|" + "---|" * len(modes),
    ]
    for q in first:
        text = _cell(q.query, 90)
        ranks = " | ".join(_rank(by_mode[m][q.query_id].first_relevant_rank) for m in modes)
        lines.append(f"| {q.query_id}: {text} | {ranks} |")
    return lines


def answers_markdown(result: AnswerEval) -> str:
    """The answer report as Markdown."""
    lines = [
        f"# Answer eval — {result.dataset} ({result.backend})",
        "",
        f"{len(result.rows)} questions with gold answers, run {result.created_at:%Y-%m-%d %H:%M} "
        f"UTC in {result.seconds:.0f} s.",
        "",
        "| backend | accuracy | token F1 | citation precision | answered |",
        "|---|---|---|---|---|",
        f"| {result.backend} | {_fmt(result.accuracy)} | {_fmt(result.f1)} | "
        f"{_fmt(result.citation_precision)} | {_fmt(result.found_rate)} |",
        "",
        "![answer scores](answer_scores.png)",
        "",
        "## Index and settings",
        "",
        *_index_lines(result.index, result.settings),
        "",
        "## Per question",
        "",
        "| question | correct | F1 | citations (relevant) | answer |",
        "|---|---|---|---|---|",
    ]
    for r in result.rows:
        answer = _cell(r.error or r.answer, 160)
        cites = f"{r.citations}" + (
            f" ({r.relevant_citations})" if r.relevant_citations is not None else ""
        )
        lines.append(
            f"| {r.query_id}: {_cell(r.query)} | {'yes' if r.correct else 'no'} | "
            f"{r.f1:.2f} | {cites} | {answer} |"
        )
    return "\n".join(lines) + "\n"


def history_markdown(runs: Sequence[EvalRun], metric: str) -> str:
    """The history as a table, newest last, with the trend plot."""
    lines = [
        f"# Eval history — {metric}",
        "",
        "![trend](history_trend.png)",
        "",
        "| date (UTC) | kind | dataset | table version | index key | setup | label | mode | "
        + metric
        + " |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for mode, values in run.scores.items():
            lines.append(
                f"| {run.created_at:%Y-%m-%d %H:%M} | {run.kind} | {run.dataset} | "
                f"{run.table_version} | `{run.index_key[:10]}` | {_cell(run.setup())} | "
                f"{_cell(run.label or '')} | {mode} | {_fmt(values.get(metric))} |"
            )
    return "\n".join(lines) + "\n"


def markdown_to_html(markdown: str, folder: Path, title: str) -> str:
    """A standalone HTML page: the Markdown rendered, each referenced PNG inlined."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown)

    def inline(match: re.Match[str]) -> str:
        png = folder / match.group(1)
        if not png.is_file():
            return match.group(0)
        data = base64.b64encode(png.read_bytes()).decode()
        return f'<img src="data:image/png;base64,{data}"'

    body = _IMG.sub(inline, body)
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n{body}</body></html>\n"
    )


def _write(folder: Path, markdown: str, title: str, extra: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in {"report.md": markdown, **extra}.items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    html_path = folder / "report.html"
    html_path.write_text(markdown_to_html(markdown, folder, title), encoding="utf-8")
    return [*paths, html_path]


def write_retrieval_report(result: RetrievalEval, folder: Path) -> list[Path]:
    """``report.md``, ``report.html``, ``results.json`` and the plots, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    scores = result.scores()
    pngs = []
    if scores:
        title = f"{result.dataset}: {result.queries} queries"
        pngs.append(plots.metric_bars(scores, folder / "metrics_by_mode.png", title=title))
        pngs.append(plots.recall_curves(scores, folder / "recall_at_k.png", title=title))
    extra = {"results.json": result.model_dump_json(indent=1)}
    title = f"Retrieval eval — {result.dataset}"
    return [*pngs, *_write(folder, retrieval_markdown(result), title, extra)]


def write_answer_report(result: AnswerEval, folder: Path) -> list[Path]:
    """The answer eval's report files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    png = plots.metric_bars(
        result.scores(),
        folder / "answer_scores.png",
        metrics=("accuracy", "f1", "citation_precision", "found"),
        title=f"{result.dataset}: {len(result.rows)} questions",
    )
    extra = {"results.json": result.model_dump_json(indent=1)}
    title = f"Answer eval — {result.dataset}"
    return [png, *_write(folder, answers_markdown(result), title, extra)]


def write_history_report(runs: Sequence[EvalRun], metric: str, folder: Path) -> list[Path]:
    """The history table and trend plot in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    png = plots.trend(runs, metric, folder / "history_trend.png")
    extra = {"history.json": "[" + ",\n".join(r.model_dump_json() for r in runs) + "]\n"}
    return [png, *_write(folder, history_markdown(runs, metric), f"Eval history — {metric}", extra)]
