"""Tables and a plot from the scale bench's results (``bench/scale.py`` → ``scale-*.json``).

    python bench/scale_report.py                       # all bench/results/scale-*.json
    python bench/scale_report.py --plot docs/images/scale.png

Prints Markdown (build, latency, recall) and writes it to ``docs/scale-results.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GB = 1e9


def _label(r: dict[str, Any]) -> str:
    n = r["n_chunks"]
    size = f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"
    tag = {"flat": "no vector index"}.get(r.get("tag", ""), r.get("tag", ""))
    return f"{size} ({tag})" if tag else size


def _short(r: dict[str, Any]) -> str:
    """A run's label on two lines, for plot ticks."""
    short = _label(r).replace(" (no vector index)", "\nexact")
    return short.replace(" (pq64-refine50)", "\nPQ64 r50").replace(" (", "\n(")


def build_table(results: list[dict[str, Any]]) -> str:
    rows = ["| run | chunks | docs | generate s | write s | index steps (s) | ensure_indexes s "
            "| disk GB (chunk rows / chunk indexes / documents) | max RSS MB |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        if "disk" not in r.get("index", {}) or not r["index"].get("index_steps"):
            continue  # a recall-only experiment, or a rerun on an index built before
        load, ix = r.get("load", {}), r["index"]
        d = ix["disk"]
        rows_gb = (d.get("chunks", 0) - d.get("chunks_indices", 0)) / GB  # indexes live inside
        steps = (
            "<br>".join(
                f"{s.get('kind') or s.get('call', '')} {s.get('table', 'chunks')}.{s['column']} "
                f"{s['s']}"
                for s in ix["index_steps"]
            )
            or "none"
        )
        if "direct_vector_index" in ix:
            steps += f", vector (bench-built) {ix['direct_vector_index']['s']}"
        rows.append(
            f"| {_label(r)} | {r['rows']['chunks']:,} | {r['rows']['documents']:,} "
            f"| {load.get('generate_s', '–')} | {load.get('write_s', '–')} | {steps} "
            f"| {ix['ensure_indexes_s']} | {d['total'] / GB:.2f} ({rows_gb:.2f} / "
            f"{d.get('chunks_indices', 0) / GB:.2f} / {d.get('documents', 0) / GB:.2f}) "
            f"| {r['max_rss_mb']:,.0f} |"
        )
    return "\n".join(rows)


def latency_table(results: list[dict[str, Any]]) -> str:
    rows = ["| run | mode | date filter | concurrency | p50 ms | p99 ms | QPS | errors | load 1m |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        for c in r.get("latency", []):
            rows.append(
                f"| {_label(r)} | {c['mode']} | {'3 years' if c['date_filter'] else 'none'} "
                f"| {c['concurrency']} | {c['p50_ms']} | {c['p99_ms']} | {c['qps']} "
                f"| {c['errors']} | {c['load'][0]} |"
            )
    return "\n".join(rows)


def recall_table(results: list[dict[str, Any]]) -> str:
    rows = ["| run | date filter | exact p50 ms | exact d(1)→d(10) | setting | recall@10 "
            "| 10th-hit distance excess | p50 ms |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        for row in r["recall"]:
            settings = {k: v for k, v in row.items() if k.startswith("nprobes")}
            if "store" in row:
                settings = {f"**store: {row['store']['settings']}**": row["store"], **settings}
            rebuilt = r.get("index", {}).get("vector_rebuild")
            if rebuilt:
                settings = {f"{k} (PQ {rebuilt['sub_vectors']} sub-vectors)": v
                            for k, v in settings.items()}  # fmt: skip
            head = (f"| {_label(r)} | {'3 years' if row['date_filter'] else 'none'} "
                    f"| {row['flat_p50_ms']} | {row.get('exact_d1_to_dk', '–')} ")  # fmt: skip
            if not settings:
                rows.append(head + "| no vector index (exact) | 1.0 | 0 | – |")
            for key, v in settings.items():
                rows.append(
                    head + f"| {key} | {v['recall']} | {v.get('kth_distance_excess', '–')} "
                    f"| {v['p50_ms']} |"
                )
    return "\n".join(rows)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Hybrid p50/p99 per run and filter at each concurrency, and QPS of every mode."""
    import matplotlib

    results = [r for r in results if r.get("latency")]

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    groups = [(r, f) for r in results for f in (False, True)]
    conc = sorted({c["concurrency"] for r in results for c in r["latency"]})
    width = 0.8 / (2 * len(conc))
    for j, c in enumerate(conc):
        for k, stat in enumerate(("p50_ms", "p99_ms")):
            values = [
                next((x[stat] for x in r["latency"] if x["mode"] == "hybrid"
                      and x["date_filter"] == f and x["concurrency"] == c), 0)
                for r, f in groups
            ]  # fmt: skip
            xs = [i + (2 * j + k - len(conc) + 0.5) * width for i in range(len(groups))]
            left.bar(xs, values, width, label=f"{stat[:3]} c={c}", alpha=0.6 if k else 1.0)
    left.set_xticks(range(len(groups)))
    left.set_xticklabels(
        [f"{_short(r)}\n{'3-yr filter' if f else 'no filter'}" for r, f in groups], fontsize=8
    )
    left.set_ylabel("hybrid query latency (ms)")
    left.set_yscale("log")
    left.set_ylim(bottom=1)
    left.legend(fontsize=8)
    left.set_title("Hybrid retrieval latency (query vectors precomputed)")
    cells = [(m, f) for m in ("hybrid", "vector", "fts") for f in (False, True)]
    width = 0.8 / (len(results) * len(conc))
    for a, r in enumerate(results):
        for j, c in enumerate(conc):
            values = [
                next((x["qps"] for x in r["latency"] if x["mode"] == m
                      and x["date_filter"] == f and x["concurrency"] == c), 0)
                for m, f in cells
            ]  # fmt: skip
            off = (a * len(conc) + j - (len(results) * len(conc) - 1) / 2) * width
            right.bar([i + off for i in range(len(cells))], values, width,
                      label=f"{_short(r)} c={c}".replace("\n", " "))  # fmt: skip
    right.set_xticks(range(len(cells)))
    right.set_xticklabels([f"{m}\n{'filter' if f else 'all'}" for m, f in cells])
    right.set_ylabel("queries / s")
    right.set_yscale("log")
    right.set_ylim(bottom=1)
    right.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    right.set_title("Throughput by mode (2 shared cores)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="*", type=Path, help="default: bench/results/scale-*.json")
    p.add_argument("--plot", type=Path, default=REPO / "docs" / "images" / "scale.png")
    p.add_argument("--md", type=Path, default=REPO / "docs" / "scale-results.md")
    args = p.parse_args()
    files = args.results or sorted((REPO / "bench" / "results").glob("scale-*.json"))
    results = sorted(
        (json.loads(f.read_text()) for f in files),
        key=lambda r: (r["n_chunks"], r.get("tag") != "flat", r.get("tag", "")),
    )
    md = "\n\n".join([
        "# Scale bench: all results\n\nGenerated by `bench/scale_report.py` from "
        "`bench/results/scale-*.json` (not kept in git); read with [scale.md](scale.md).",
        "### Build\n\n" + build_table(results),
        "### Query latency\n\n" + latency_table(results),
        "### Vector index recall against exact search (top 10)\n\n" + recall_table(results),
    ])  # fmt: skip
    print(md)
    args.md.write_text(md + "\n")
    plot(results, args.plot)
    print(f"\nwrote {args.md} and {args.plot}")


if __name__ == "__main__":
    main()
