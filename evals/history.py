"""Eval history and the quality gate.

Every eval run appends one line to a JSONL file (default ``.archivist/eval-history.jsonl``): when,
which dataset, which index (path, build key, LanceDB table version), the settings it ran with
(embedder, chunker, fusion, reranker) and its scores per mode. ``archivist eval history`` reads it
back as a table and a trend plot; one line per run keeps runs comparable whatever changed.

The gate (``--fail-below ndcg@10=0.85``) compares a run's scores with floors and lists what fell
short, so a CI job or a Prefect flow can refuse to ship an index that got worse.

>>> parse_gates(["ndcg@10=0.85", "vector:recall@10=0.9"])
[Gate(mode=None, metric='ndcg@10', floor=0.85), Gate(mode='vector', metric='recall@10', floor=0.9)]
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, Field, ValidationError

from evals.results import AnswerEval, RetrievalEval

DEFAULT_HISTORY = Path(".archivist") / "eval-history.jsonl"


class EvalRun(BaseModel):
    """One line of the history: enough to tell which index and settings gave which scores."""

    run_id: str
    kind: str
    dataset: str
    created_at: dt.datetime
    table_version: int
    index_path: str
    index_key: str
    settings: dict[str, object] = Field(default_factory=dict)
    scores: dict[str, dict[str, float]]
    default_mode: str | None = None
    seconds: float = 0.0
    label: str | None = None
    # {mode: {query_id: {metric: value}}}: what the next runs compare with (evals.compare);
    # empty in runs recorded before it was kept.
    per_query: dict[str, dict[str, dict[str, float]]] = Field(default_factory=dict)

    def setup(self) -> str:
        """The settings that tell runs apart, in a few words.

        >>> EvalRun(run_id="r", kind="retrieval", dataset="d", created_at="2026-01-01T00:00:00Z",
        ...     table_version=1, index_path="", index_key="", scores={}, settings={
        ...     "embedder": {"kind": "use-multilingual"}, "chunker": {"max_tokens": 256},
        ...     "fusion": {"fusion": "score"}}).setup()
        'use-multilingual · 256 tok · score'
        """
        get = self.settings.get
        emb, chunk, fusion, rerank = (
            get(k) or {} for k in ("embedder", "chunker", "fusion", "reranker")
        )
        parts = [
            str(emb.get("model") or emb.get("kind") or "?") if isinstance(emb, dict) else str(emb),
            f"{chunk.get('max_tokens')} tok" if isinstance(chunk, dict) and chunk else "",
            str(fusion.get("fusion", "")) if isinstance(fusion, dict) else "",
        ]
        if isinstance(rerank, dict) and rerank.get("loaded"):
            parts.append(f"rerank {rerank.get('model')}")
        return " · ".join(p for p in parts if p)


def run_record(result: RetrievalEval | AnswerEval, *, label: str | None = None) -> EvalRun:
    """The history line for a finished eval."""
    return EvalRun(
        run_id=uuid.uuid4().hex[:12],
        kind=result.kind,
        dataset=result.dataset,
        created_at=result.created_at,
        table_version=result.index.table_version,
        index_path=result.index.path,
        index_key=result.index.key,
        settings=result.settings,
        scores=result.scores(),
        default_mode=result.default_mode if isinstance(result, RetrievalEval) else result.backend,
        seconds=round(result.seconds, 1),
        label=label,
        per_query=per_query(result),
    )


# Per-question scores kept in the history, per kind (enough to compare runs; the full rows are
# in each report's results.json).
PER_QUERY_METRICS = {"retrieval": ("ndcg@10", "mrr@10", "recall@10")}


def per_query(result: RetrievalEval | AnswerEval) -> dict[str, dict[str, dict[str, float]]]:
    """``{mode: {query_id: {metric: value}}}`` of a finished eval."""
    if isinstance(result, RetrievalEval):
        keep = PER_QUERY_METRICS["retrieval"]
        return {
            mode: {q.query_id: {m: q.metrics[m] for m in keep if m in q.metrics} for q in r.queries}
            for mode, r in result.modes.items()
            if not r.skipped
        }
    rows = {r.query_id: {"accuracy": float(r.correct), "f1": r.f1} for r in result.rows}
    return {result.backend: rows}


def append_run(path: Path, run: EvalRun) -> None:
    """Add one run at the end of the history file (created with its folder if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(run.model_dump_json() + "\n")


def load_runs(path: Path, *, kind: str | None = None, dataset: str | None = None) -> list[EvalRun]:
    """The runs in ``path``, oldest first; unreadable lines are skipped rather than fatal, since
    one hand-edited line must not hide the whole trend."""
    if not path.is_file():
        return []
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            run = EvalRun.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError):
            continue
        if (kind is None or run.kind == kind) and (dataset is None or run.dataset == dataset):
            runs.append(run)
    return sorted(runs, key=lambda r: r.created_at)


class Gate(NamedTuple):
    """A floor on one metric; ``mode`` None means the run's default mode (or backend)."""

    mode: str | None
    metric: str
    floor: float


class GateFailure(NamedTuple):
    gate: Gate
    mode: str
    value: float | None

    def __str__(self) -> str:
        got = "missing" if self.value is None else f"{self.value:.3f}"
        return f"{self.mode} {self.gate.metric} = {got} < {self.gate.floor:g}"


def parse_gates(specs: Iterable[str]) -> list[Gate]:
    """``metric=floor`` or ``mode:metric=floor`` items, also comma-separated in one string."""
    gates = []
    for spec in (s.strip() for item in specs for s in item.split(",")):
        if not spec:
            continue
        target, sep, value = spec.partition("=")
        if not sep:
            raise ValueError(f"gate {spec!r}: expected metric=value, e.g. ndcg@10=0.85")
        mode, _, metric = target.strip().rpartition(":")
        try:
            floor = float(value)
        except ValueError as e:
            raise ValueError(f"gate {spec!r}: {value!r} is not a number") from e
        gates.append(Gate(mode.strip() or None, metric.strip(), floor))
    return gates


def check_gates(
    scores: Mapping[str, Mapping[str, float]], gates: Iterable[Gate], default_mode: str
) -> list[GateFailure]:
    """The gates a run's scores fall below (a metric or mode that is missing fails too)."""
    failures = []
    for gate in gates:
        mode = gate.mode or default_mode
        value = scores.get(mode, {}).get(gate.metric)
        if value is None or value < gate.floor:
            failures.append(GateFailure(gate, mode, value))
    return failures
