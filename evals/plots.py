"""The plots of eval reports (matplotlib, no display needed): metric bars per mode, recall@k curves,
answer scores, and the trend of a metric across runs.

Each function writes one PNG and returns its path; none keeps figures open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from evals.history import EvalRun

BAR_METRICS = ("ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "recall@20")
RECALL_KS = (1, 5, 10, 20)


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")  # files only: works without a display, in CI and in flows
    import matplotlib.pyplot as plt

    return plt


def metric_bars(
    scores: Mapping[str, Mapping[str, float]],
    path: Path,
    *,
    metrics: Sequence[str] = BAR_METRICS,
    title: str = "",
) -> Path:
    """Grouped bars: one group per metric, one bar per mode (or backend), values printed."""
    plt = _pyplot()
    modes = list(scores)
    metrics = [m for m in metrics if any(m in s for s in scores.values())]
    width = 0.8 / max(len(modes), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(metrics) + 2), 4.2))
    for i, mode in enumerate(modes):
        xs = [j + (i - (len(modes) - 1) / 2) * width for j in range(len(metrics))]
        values = [scores[mode].get(m, 0.0) for m in metrics]
        bars = ax.bar(xs, values, width, label=mode)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=1)
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("score")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def recall_curves(
    scores: Mapping[str, Mapping[str, float]], path: Path, *, title: str = ""
) -> Path:
    """recall@k against k, one line per mode."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, values in scores.items():
        ks = [k for k in RECALL_KS if f"recall@{k}" in values]
        ax.plot(ks, [values[f"recall@{k}"] for k in ks], marker="o", label=mode)
    ax.set_xticks(list(RECALL_KS))
    ax.set_xlabel("k (documents)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def trend(runs: Sequence[EvalRun], metric: str, path: Path, *, title: str = "") -> Path:
    """``metric`` of each (dataset, mode) across runs, oldest first; x labels give the table
    version, so a drop can be tied to the index that caused it."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(runs) + 3), 4.2))
    series: dict[str, list[tuple[int, float]]] = {}
    for i, run in enumerate(runs):
        for mode, values in run.scores.items():
            if metric in values:
                series.setdefault(f"{run.dataset} · {mode}", []).append((i, values[metric]))
    for name, points in series.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    labels = [f"{r.created_at:%m-%d %H:%M}\nv{r.table_version}" for r in runs]
    ax.set_xticks(range(len(runs)), labels, fontsize=7)
    ax.set_ylabel(metric)
    ax.set_ylim(0, 1.02)
    ax.set_title(title or f"{metric} across runs")
    ax.grid(alpha=0.3)
    if series:
        ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
