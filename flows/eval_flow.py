"""Prefect flow: run the retrieval (and optionally answer) evals, publish the report as a Markdown
artifact, record the run in the eval history, and fail the flow run when a gate is not met.

It is meant to run after ingestion: ``eval_deployment()`` builds a deployment triggered whenever
a run of the ingest flow completes (and on a schedule if one is given), so every new index
version gets a report and a bad one shows up red in the Prefect UI before anyone relies on it.

    python -m flows.eval_flow --corpus piaf/corpus.jsonl --queries piaf/queries.jsonl \\
        --qrels piaf/qrels.tsv --fail-below ndcg@10=0.85        # one run, in-process
    python -m flows.eval_flow --serve ...                      # serve the deployment

Tasks take paths and small values only (STYLE.md, "Thin flows"); the eval code lives in
``evals/`` and knows nothing of Prefect.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from evals.answers import evaluate_answers
from evals.beir import BeirDataset, load_beir
from evals.collection import EvalIndex, build_eval_index
from evals.compare import compare_with_history
from evals.history import (
    DEFAULT_HISTORY,
    append_run,
    check_gates,
    load_runs,
    parse_gates,
    run_record,
)
from evals.report import (
    answers_markdown,
    retrieval_markdown,
    write_answer_report,
    write_retrieval_report,
)
from evals.results import AnswerEval, RetrievalEval
from evals.retrieval import DEFAULT_MODES, evaluate_retrieval
from pipeline.models import RerankOptions
from pipeline.settings import Settings

INGEST_FLOW_NAME = "ingest"
ARTIFACT_KEY = "archivist-eval"


class GateError(RuntimeError):
    """An eval score fell under its ``fail_below`` floor: the flow run ends Failed."""


def _dataset(
    corpus: str, queries: str, qrels: str | None, distractors: str | None, name: str | None
) -> BeirDataset:
    return load_beir(
        Path(corpus),
        Path(queries),
        Path(qrels) if qrels else None,
        distractors=Path(distractors) if distractors else None,
        name=name,
    )


def _index(dataset: BeirDataset, cache: str) -> EvalIndex:
    return build_eval_index(dataset, Settings().options(), cache_root=Path(cache))


@task(name="eval-retrieval", retries=0)
def retrieval_task(
    corpus: str,
    queries: str,
    qrels: str,
    distractors: str | None,
    name: str | None,
    modes: tuple[str, ...],
    cache: str,
    rerank_model: str | None,
) -> RetrievalEval:
    """Build (or reuse) the eval index and score every mode."""
    dataset = _dataset(corpus, queries, qrels, distractors, name)
    rerank = RerankOptions(model=rerank_model) if rerank_model else RerankOptions()
    return evaluate_retrieval(dataset, _index(dataset, cache), modes=modes, rerank=rerank)


@task(name="eval-answers", retries=0)
def answers_task(
    corpus: str,
    queries: str,
    qrels: str | None,
    distractors: str | None,
    name: str | None,
    cache: str,
    backend: str,
) -> AnswerEval:
    """Ask the questions with gold answers and score the answers."""
    dataset = _dataset(corpus, queries, qrels, distractors, name)
    return evaluate_answers(dataset, _index(dataset, cache), backend=backend)


@task(name="publish-eval-report")
def publish_task(result: RetrievalEval | AnswerEval, report_dir: str | None, history: str) -> str:
    """Compare the run with the previous one of its set, record it in the history, write the
    report files, publish the Markdown artifact."""
    run = run_record(result, label="prefect")
    comparisons = compare_with_history(run, load_runs(Path(history)))
    append_run(Path(history), run)
    if isinstance(result, RetrievalEval):
        markdown = retrieval_markdown(result, comparisons)
        if report_dir:
            write_retrieval_report(result, Path(report_dir), comparisons)
    else:
        markdown = answers_markdown(result, comparisons)
        if report_dir:
            write_answer_report(result, Path(report_dir) / "answers", comparisons)
    # Images live beside report.md; the artifact carries the text and tables.
    text = "\n".join(line for line in markdown.splitlines() if not line.startswith("!["))
    key = f"{ARTIFACT_KEY}-{result.kind}-{_slug(result.dataset)}"
    create_markdown_artifact(markdown=text, key=key, description=f"{result.kind} eval")
    return text


@flow(name="archivist-eval", log_prints=False)
def eval_flow(
    corpus: str,
    queries: str,
    qrels: str,
    distractors: str | None = None,
    name: str | None = None,
    modes: list[str] | None = None,
    answers: bool = False,
    backend: str = "offline",
    report_dir: str | None = None,
    fail_below: list[str] | None = None,
    cache: str = str(Path(".archivist") / "eval-cache"),
    history: str = str(DEFAULT_HISTORY),
    rerank_model: str | None = None,
) -> dict[str, Any]:
    """Run the evals on a BEIR set and publish the report; raises ``GateError`` under the bar."""
    logger = get_run_logger()
    gates = parse_gates(fail_below or [])
    chosen = tuple(modes or DEFAULT_MODES)
    result = retrieval_task(corpus, queries, qrels, distractors, name, chosen, cache, rerank_model)
    publish_task(result, report_dir, history)
    scores: dict[str, dict[str, float]] = dict(result.scores())
    failures = check_gates(scores, [g for g in gates if g.metric not in _ANSWER_METRICS],
                           result.default_mode)  # fmt: skip
    if answers:
        answered = answers_task(corpus, queries, qrels, distractors, name, cache, backend)
        publish_task(answered, report_dir, history)
        scores.update(answered.scores())
        answer_gates = [g for g in gates if g.metric in _ANSWER_METRICS]
        failures += check_gates(answered.scores(), answer_gates, backend)
    for mode, values in scores.items():
        logger.info("%s: %s", mode, ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
    if failures:
        raise GateError("below the bar: " + "; ".join(str(f) for f in failures))
    return {"scores": scores, "table_version": result.index.table_version}


_ANSWER_METRICS = {"accuracy", "f1", "citation_precision", "found"}


def eval_deployment(
    *,
    parameters: dict[str, Any],
    after_flow: str = INGEST_FLOW_NAME,
    cron: str | None = None,
    name: str = "archivist-eval",
):  # type: ignore[no-untyped-def]
    """A deployment of ``eval_flow`` that runs whenever a run of ``after_flow`` ends (the
    ingest flow by default), and on ``cron`` if given. An ingest run ends Failed when some
    documents failed, the others being in: the index changed, so that ending counts too."""
    from prefect.events import DeploymentEventTrigger

    trigger = DeploymentEventTrigger(
        name=f"eval after {after_flow}",
        expect={"prefect.flow-run.Completed", "prefect.flow-run.Failed"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": after_flow},
    )
    return eval_flow.to_deployment(
        name=name,
        parameters=parameters,
        triggers=[trigger],
        cron=cron,
        tags=["archivist", "eval"],
        description="Retrieval and answer evals of the archive, run after each ingestion.",
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "eval"


def main(argv: list[str] | None = None) -> None:
    """Run the flow once, or serve its deployment (``--serve``)."""
    ap = argparse.ArgumentParser(prog="python -m flows.eval_flow", description=__doc__)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--qrels", required=True)
    ap.add_argument("--distractors")
    ap.add_argument("--modes", default=",".join(DEFAULT_MODES))
    ap.add_argument("--answers", action="store_true")
    ap.add_argument("--backend", default="offline")
    ap.add_argument("--report")
    ap.add_argument("--fail-below", action="append", default=[])
    ap.add_argument("--serve", action="store_true", help="serve the deployment instead")
    ap.add_argument("--cron", help="also run on this schedule when serving")
    args = ap.parse_args(argv)
    params: dict[str, Any] = {
        "corpus": args.corpus, "queries": args.queries, "qrels": args.qrels,
        "distractors": args.distractors, "modes": args.modes.split(","),
        "answers": args.answers, "backend": args.backend, "report_dir": args.report,
        "fail_below": args.fail_below,
    }  # fmt: skip
    if args.serve:
        from prefect import serve

        serve(eval_deployment(parameters=params, cron=args.cron))
    else:
        eval_flow(**params)


if __name__ == "__main__":
    main()
