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
from evals.compare import Comparison
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


def comparison_markdown(
    comparisons: Sequence[Comparison], texts: dict[str, str], *, limit: int = 15
) -> list[str]:
    """The comparisons as report lines: one table row each, then the questions that got worse
    (first) and better, with their text (``texts``: query id → question)."""
    if not comparisons:
        return []
    lines = [
        "## Compared with earlier runs",
        "",
        "Paired randomization test on the per-question scores; p < 0.05 is marked **bold**.",
        "",
        "| against | run | setup | mode | metric | before | now | Δ | better | worse | same | p |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        delta = "–" if c.before is None or c.after is None else f"{c.after - c.before:+.3f}"
        p = "–" if c.p_value is None else f"{c.p_value:.3f}"
        p = f"**{p}**" if c.significant else p
        lines.append(
            f"| {c.against} | `{c.run_id}` {c.created_at:%Y-%m-%d %H:%M} {_cell(c.label or '')} | "
            f"{_cell(c.setup)} | {c.mode} | {c.metric} | {_fmt(c.before)} | {_fmt(c.after)} | "
            f"{delta} | {len(c.wins)} | {len(c.losses)} | {c.ties} | {p} |"
        )
    for c in comparisons:
        for title, deltas in (("Worse", c.losses), ("Better", c.wins)):
            if not deltas:
                continue
            lines += ["", f"### {title} than the {c.against} ({c.mode}, {c.metric})", ""]
            for d in deltas[:limit]:
                text = _cell(texts.get(d.query_id, ""))
                lines.append(f"- {d.query_id}: {text} — {d.before:.3f} → {d.after:.3f}")
            if len(deltas) > limit:
                lines.append(f"- … and {len(deltas) - limit} more")
    return lines


def retrieval_markdown(result: RetrievalEval, comparisons: Sequence[Comparison] = ()) -> str:
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
    lines += [
        f"| {m} | skipped: {_cell(r.skipped or '', 200)} |"
        for m, r in result.modes.items()
        if r.skipped
    ]
    if ran:
        lines += [
            "",
            "![metrics per mode](metrics_by_mode.png)",
            "",
            "![recall@k](recall_at_k.png)",
        ]
    texts = {q.query_id: q.query for r in ran.values() for q in r.queries}
    lines += ["", *comparison_markdown(comparisons, texts)]
    lines += ["", "## Index and settings", "", *_index_lines(result.index, result.settings)]
    lines += ["", *_query_table(result)]
    return "\n".join(lines) + "\n"


def _query_table(result: RetrievalEval) -> list[str]:
    modes = [m for m, r in result.modes.items() if not r.skipped]
    if not modes:
        return []
    by_mode = {m: {q.query_id: q for q in result.modes[m].queries} for m in modes}
    main = result.default_mode if result.default_mode in modes else modes[0]
    # Misses first, then the worst ranks: what to look at comes first.
    first = sorted(
        result.modes[main].queries,
        key=lambda q: -(q.first_relevant_rank or 10**9),
    )
    lines = [
        "## Per query: rank of the first relevant document",
        "",
        f"`–` means no relevant document in the retrieved list. Misses first, then the worst "
        f"ranks in {main} mode.",
        "",
        "| query | " + " | ".join(modes) + " |",
        "|---|" + "---|" * len(modes),
    ]
    for q in first:
        text = _cell(q.query, 90)
        ranks = " | ".join(_rank(by_mode[m][q.query_id].first_relevant_rank) for m in modes)
        lines.append(f"| {q.query_id}: {text} | {ranks} |")
    return lines


def answers_markdown(result: AnswerEval, comparisons: Sequence[Comparison] = ()) -> str:
    """The answer report as Markdown (wrong answers first in the per-question table)."""
    lines = [
        f"# Answer eval — {result.dataset} ({result.backend})",
        "",
        f"{len(result.rows)} questions with gold answers, run {result.created_at:%Y-%m-%d %H:%M} "
        f"UTC in {result.seconds:.0f} s.",
        "",
        "| backend | accuracy | exact match | token F1 | short accuracy | retrieval top-3 "
        "| citation precision | answered |",
        "|---|---|---|---|---|---|---|---|",
        f"| {result.backend} | {_fmt(result.accuracy)} | {_fmt(result.exact_match)} | "
        f"{_fmt(result.f1)} | {_fmt(result.short_accuracy)} | {_fmt(result.retrieval_top3)} | "
        f"{_fmt(result.citation_precision)} | {_fmt(result.found_rate)} |",
        "",
        "Accuracy: a gold answer in the answer. Exact match, token F1 and short accuracy: of the "
        "short answer (the whole answer where the backend gives none). Retrieval top-3: a gold "
        "answer in the top 3 passages searched.",
        "",
        "![answer scores](answer_scores.png)",
        "",
        *comparison_markdown(comparisons, {r.query_id: r.query for r in result.rows}),
        "",
        "## Index and settings",
        "",
        *_index_lines(result.index, result.settings),
        "",
        "## Per question",
        "",
        "| question | correct | exact | F1 | in top 3 | citations (relevant) | gold | answer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(result.rows, key=lambda row: (row.correct, row.exact, row.f1)):
        answer = _cell(r.error or r.answer, 160)
        cites = f"{r.citations}" + (
            f" ({r.relevant_citations})" if r.relevant_citations is not None else ""
        )
        top3 = "–" if r.retrieved is None else ("yes" if r.retrieved else "no")
        lines.append(
            f"| {r.query_id}: {_cell(r.query)} | {'yes' if r.correct else 'no'} | "
            f"{'yes' if r.exact else 'no'} | {r.f1:.2f} | {top3} | {cites} | "
            f"{_cell(' / '.join(r.gold), 60)} | {answer} |"
        )
    return "\n".join(lines) + "\n"


def history_markdown(runs: Sequence[EvalRun], metric: str) -> str:
    """The history as a table, newest last, with the trend plot."""
    lines = [
        f"# Eval history — {metric}",
        "",
        "![trend](history_trend.png)",
        "",
        "| run | date (UTC) | kind | dataset | table version | index key | setup | label | mode | "
        + metric
        + " |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for mode, values in run.scores.items():
            lines.append(
                f"| `{run.run_id}` | {run.created_at:%Y-%m-%d %H:%M} | {run.kind} | "
                f"{run.dataset} | "
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


def write_retrieval_report(
    result: RetrievalEval, folder: Path, comparisons: Sequence[Comparison] = ()
) -> list[Path]:
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
    markdown = retrieval_markdown(result, comparisons)
    return [*pngs, *_write(folder, markdown, title, extra)]


def write_answer_report(
    result: AnswerEval, folder: Path, comparisons: Sequence[Comparison] = ()
) -> list[Path]:
    """The answer eval's report files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    png = plots.metric_bars(
        result.scores(),
        folder / "answer_scores.png",
        metrics=("accuracy", "exact_match", "f1", "retrieval_top3", "citation_precision", "found"),
        title=f"{result.dataset}: {len(result.rows)} questions",
    )
    extra = {"results.json": result.model_dump_json(indent=1)}
    title = f"Answer eval — {result.dataset}"
    return [png, *_write(folder, answers_markdown(result, comparisons), title, extra)]


def write_history_report(runs: Sequence[EvalRun], metric: str, folder: Path) -> list[Path]:
    """The history table and trend plot in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    png = plots.trend(runs, metric, folder / "history_trend.png")
    extra = {"history.json": "[" + ",\n".join(r.model_dump_json() for r in runs) + "]\n"}
    return [png, *_write(folder, history_markdown(runs, metric), f"Eval history — {metric}", extra)]
