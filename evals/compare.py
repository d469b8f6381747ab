"""An eval run side by side with an earlier one: per question, better or worse, and whether the
difference is more than chance.

Every run records its per-question scores in the history (``EvalRun.per_query``). A new run is
compared with the previous run of the same kind on the same dataset, and with a baseline the user
names (a run id, or the label given to a run), mode by mode, on one metric: ``ndcg@10`` for
retrieval, ``accuracy`` (right or wrong, per question) for answers.

The test is a paired randomization test (Fisher's, as IR evaluation uses it: Smucker, Allan and
Carterette, CIKM 2007): under "no difference", each question's difference is as likely to have
either sign, so the observed mean difference is set against the means of every sign flip (all
of them up to 2^16, else 10,000 seeded draws). It is exact where it enumerates, deterministic, and
needs nothing beyond numpy.

>>> paired_randomization_test([0.2, 0.5, 1.0], [0.2, 0.5, 1.0])
1.0
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence

import numpy as np
from pydantic import BaseModel, Field

from evals.history import EvalRun

COMPARED_METRIC = {"retrieval": "ndcg@10", "answers": "accuracy"}
EXACT_UP_TO = 16  # questions whose difference is not zero: all 2^n sign flips, else draws
DRAWS = 10_000
SIGNIFICANT = 0.05


class QueryDelta(BaseModel):
    """One question scored in both runs."""

    query_id: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


class Comparison(BaseModel):
    """This run against an earlier one, in one mode, on one metric."""

    against: str  # "previous run" or "baseline"
    run_id: str
    created_at: dt.datetime
    label: str | None = None
    setup: str = ""
    mode: str
    metric: str
    before: float | None
    after: float | None
    paired: int = 0  # questions scored in both runs
    wins: list[QueryDelta] = Field(default_factory=list)  # better now, largest gain first
    losses: list[QueryDelta] = Field(default_factory=list)  # worse now, largest loss first
    ties: int = 0
    p_value: float | None = None  # None: no per-question scores in the earlier run

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < SIGNIFICANT

    def summary(self) -> str:
        """One line: the metric before and after, wins, losses, p."""
        fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
        delta = ""
        if self.before is not None and self.after is not None:
            delta = f" ({self.after - self.before:+.3f})"
        line = (
            f"vs {self.against} {self.run_id} ({self.created_at:%Y-%m-%d %H:%M}): {self.mode} "
            f"{self.metric} {fmt(self.before)} → {fmt(self.after)}{delta}"
        )
        if self.p_value is None:
            return line + "; no per-question scores in that run"
        verdict = "significant" if self.significant else "not significant"
        return (
            f"{line}; {len(self.wins)} better, {len(self.losses)} worse, {self.ties} same; "
            f"p = {self.p_value:.3f} ({verdict}, paired randomization test)"
        )


def compare_runs(current: EvalRun, earlier: EvalRun, *, against: str) -> list[Comparison]:
    """``current`` against ``earlier``, one comparison per mode both ran."""
    metric = COMPARED_METRIC.get(current.kind, "ndcg@10")
    out = []
    for mode in (m for m in current.scores if m in earlier.scores):
        comparison = Comparison(
            against=against,
            run_id=earlier.run_id,
            created_at=earlier.created_at,
            label=earlier.label,
            setup=earlier.setup(),
            mode=mode,
            metric=metric,
            before=earlier.scores[mode].get(metric),
            after=current.scores[mode].get(metric),
        )
        now, then = current.per_query.get(mode, {}), earlier.per_query.get(mode, {})
        pairs = [
            QueryDelta(query_id=q, before=then[q][metric], after=now[q][metric])
            for q in now
            if q in then and metric in now[q] and metric in then[q]
        ]
        if pairs:
            comparison.paired = len(pairs)
            comparison.wins = sorted((p for p in pairs if p.change > 0), key=lambda p: -p.change)
            comparison.losses = sorted((p for p in pairs if p.change < 0), key=lambda p: p.change)
            comparison.ties = len(pairs) - len(comparison.wins) - len(comparison.losses)
            comparison.p_value = paired_randomization_test(
                [p.before for p in pairs], [p.after for p in pairs]
            )
        out.append(comparison)
    return out


def paired_randomization_test(before: Sequence[float], after: Sequence[float]) -> float:
    """Two-sided p-value that ``after`` differs from ``before`` question by question.

    The statistic is the sum of the differences; the null distribution flips each difference's
    sign. Questions with no difference flip nothing and are left out.
    """
    diffs = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    diffs = diffs[np.abs(diffs) > 1e-12]
    if diffs.size == 0:
        return 1.0
    observed = abs(diffs.sum()) - 1e-9  # tolerate float noise when counting ties as extreme
    if diffs.size <= EXACT_UP_TO:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=diffs.size)))
        return float(np.mean(np.abs(signs @ diffs) >= observed))
    rng = np.random.default_rng(0)
    signs = rng.choice((1.0, -1.0), size=(DRAWS, diffs.size))
    extreme = int(np.sum(np.abs(signs @ diffs) >= observed))
    return (extreme + 1) / (DRAWS + 1)


def previous_run(runs: Iterable[EvalRun], current: EvalRun) -> EvalRun | None:
    """The latest run before ``current`` of the same kind on the same dataset."""
    same = [
        r
        for r in runs
        if r.kind == current.kind and r.dataset == current.dataset and r.run_id != current.run_id
    ]
    return max(same, key=lambda r: r.created_at) if same else None


def find_baseline(runs: Iterable[EvalRun], *, kind: str, dataset: str, ref: str) -> EvalRun:
    """The run ``ref`` names: a run id (or a unique start of one), else the latest run labelled
    ``ref``, of ``kind`` on ``dataset``. ``ValueError`` saying what exists when none is."""
    same = [r for r in runs if r.kind == kind and r.dataset == dataset]
    by_id = [r for r in same if r.run_id.startswith(ref)]
    if len(by_id) == 1:
        return by_id[0]
    labelled = [r for r in same if r.label == ref]
    if labelled:
        return max(labelled, key=lambda r: r.created_at)
    known = ", ".join(f"{r.run_id}{f' ({r.label})' if r.label else ''}" for r in same[-5:])
    raise ValueError(
        f"no {kind} run {ref!r} on {dataset} in the history"
        + (f"; latest: {known}" if known else "")
    )


def compare_with_history(
    current: EvalRun, runs: Sequence[EvalRun], *, baseline: str | None = None
) -> list[Comparison]:
    """``current`` against the previous run of its set and, if named, a baseline."""
    out = []
    previous = previous_run(runs, current)
    if previous is not None:
        out += compare_runs(current, previous, against="previous run")
    if baseline:
        chosen = find_baseline(runs, kind=current.kind, dataset=current.dataset, ref=baseline)
        if previous is None or chosen.run_id != previous.run_id:
            out += compare_runs(current, chosen, against="baseline")
    return out
