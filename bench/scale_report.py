"""Tables and a plot from the scale bench's results (``bench/scale.py`` → ``scale-*.json``).

    python bench/scale_report.py                       # all bench/results/scale-*.json
    python bench/scale_report.py --plot docs/images/scale.png

Prints Markdown (build, latency, recall) and writes it to ``docs/scale-results.md``.
"""

from __future__ import annotations

import argparse
import json
import math
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


def ratio_table(results: list[dict[str, Any]]) -> str:
    rows = ["| run | date filter | concurrency | hybrid p50 ms | full-text p50 ms "
            "| hybrid / full-text |", "|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        for c in r.get("hybrid_over_fts", []):
            rows.append(
                f"| {_label(r)} | {'3 years' if c['date_filter'] else 'none'} "
                f"| {c['concurrency']} | {c['hybrid_p50_ms']} | {c['fts_p50_ms']} | {c['ratio']} |"
            )
    return "\n".join(rows)


def recall_table(results: list[dict[str, Any]]) -> str:
    """The store's own recall per run, then every run's sweep and its choice."""
    rows = ["| run | date filter | settings | recall@10 | p50 ms (k=10) | exact scan p50 ms "
            "| load |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    sweeps = []
    for r in results:
        rec = r.get("recall")
        if not isinstance(rec, dict):
            continue
        for row in rec["store"]:
            rows.append(
                f"| {_label(r)} | {'3 years' if row['date_filter'] else 'none'} "
                f"| {row['settings']} | {row['recall']} | {row.get('p50_ms', '–')} "
                f"| {row['flat_p50_ms']} | {rec.get('load', ['–'])[0]} |"
            )
        if rec.get("sweep"):
            sweeps.append(sweep_table(r, rec))
    return "\n\n".join(["\n".join(rows), *sweeps])


def sweep_table(r: dict[str, Any], rec: dict[str, Any]) -> str:
    k, depth = rec["k"], rec["depth"]
    head = (f"#### Sweep at {_label(r)} ({rec['sample']} queries, {depth} deep as retrieval "
            f"asks, recall of the first {k} and of all {depth})\n\n"
            f"| layout | partitions | build s | index MB | date filter | nprobes | refine rows "
            f"| recall@{k} | recall@{depth} | p50 ms |\n"
            "|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    rows = [head]
    for row in rec["sweep"]:
        built = rec["layouts"].get(row["layout"], {})
        size = built.get("index_bytes")
        rows.append(
            f"| {row['layout']} | {built.get('partitions', '–')} | {built.get('build_s', '–')} "
            f"| {f'{size / 1e6:.1f}' if size else '–'} "
            f"| {'3 years' if row['date_filter'] else 'none'} | {row['nprobes']} "
            f"| {row['refine_rows'] if row['refine_rows'] > 1 else 'depth only'} "
            f"| {row[f'recall@{k}']} | {row[f'recall@{depth}']} "
            f"| {row['p50_ms']} |"
        )
    chosen = rec.get("chosen")
    rows.append("")
    rows.append(
        f"Chosen (cheapest reaching recall@{k} ≥ {chosen['target']} with and without the filter): "
        f"**{chosen['layout']}, nprobes {chosen['nprobes']}, refine {chosen['refine_rows']} rows**"
        f" (recall {chosen['recall']}, p50 {chosen['p50_ms']} ms)."
        if chosen
        else "No setting reached the recall target."
    )
    return "\n".join(rows)


def project(results: list[dict[str, Any]], to_n: int = 10_000_000) -> dict[str, Any] | None:
    """A projection to ``to_n`` chunks from the two largest measured sizes: each latency grows
    as a power of the rows fitted through those two points (p50 × (to_n / n)^b, b from the
    measured growth), disk and index builds grow linearly from the largest. None without two
    sizes measured."""
    runs = {r["n_chunks"]: r for r in results if r.get("latency")}
    if len(runs) < 2:
        return None
    (n1, small), (n2, big) = sorted(runs.items())[-2:]
    ratio = math.log(to_n / n2) / math.log(n2 / n1)
    before = {(c["mode"], c["date_filter"], c["concurrency"]): c for c in small["latency"]}
    cells = []
    for c in big["latency"]:
        a = before.get((c["mode"], c["date_filter"], c["concurrency"]))
        if not a or not a["p50_ms"] or not c["p50_ms"]:
            continue
        growth = c["p50_ms"] / a["p50_ms"]
        cells.append({"mode": c["mode"], "date_filter": c["date_filter"],
                      "concurrency": c["concurrency"], f"p50_ms_{n1}": a["p50_ms"],
                      f"p50_ms_{n2}": c["p50_ms"],
                      "exponent": round(math.log(growth) / math.log(n2 / n1), 2),
                      "p50_ms_projected": round(c["p50_ms"] * growth**ratio, 1)})  # fmt: skip
    ix = big.get("index", {})
    scale = to_n / n2
    return {
        "to_n": to_n, "from": [n1, n2], "loads": [small["latency"][0]["load"],
                                                  big["latency"][0]["load"]],
        "latency": cells,
        "disk_gb": round(ix.get("disk", {}).get("total", 0) * scale / GB, 1),
        "index_build_s": {f"{s['kind']} {s['table']}.{s['column']}": round(s["s"] * scale)
                          for s in ix.get("index_steps", []) if s["s"] >= 1},
    }  # fmt: skip


def projection_table(proj: dict[str, Any] | None) -> str:
    if not proj:
        return "(needs two sizes measured)"
    n1, n2 = proj["from"]
    rows = [f"From {n1:,} and {n2:,} chunks (load averages {proj['loads'][0][0]} and "
            f"{proj['loads'][1][0]} at their first cells) to {proj['to_n']:,}: p50 × "
            f"(rows ratio)^b with b fitted through the two sizes; two points make a rough law.",
            "", f"| mode | date filter | concurrency | p50 ms {n1:,} | p50 ms {n2:,} | b "
            f"| p50 ms {proj['to_n']:,} (projected) |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in proj["latency"]:
        rows.append(
            f"| {c['mode']} | {'3 years' if c['date_filter'] else 'none'} | {c['concurrency']} "
            f"| {c[f'p50_ms_{n1}']} | {c[f'p50_ms_{n2}']} | {c['exponent']} "
            f"| {c['p50_ms_projected']} |"
        )
    builds = ", ".join(f"{k} {v:,} s" for k, v in proj["index_build_s"].items())
    rows += ["", f"Disk ≈ {proj['disk_gb']} GB; index builds (linear): {builds or '–'}."]
    return "\n".join(rows)


def write_projection(out: Path, tag: str = "", to_n: int = 10_000_000) -> dict[str, Any] | None:
    """``project`` over the results in ``out`` with ``tag``, written to
    ``projection-<to_n>[-tag].json`` and printed (what ``bench/scale.py`` does after a run)."""
    suffix = f"-{tag}" if tag else ""
    results = [json.loads(f.read_text()) for f in out.glob("scale-*.json")]
    proj = project([r for r in results if r.get("tag", "") == tag], to_n)
    if proj is not None:
        path = out / f"projection-{to_n // 1_000_000}M{suffix}.json"
        path.write_text(json.dumps(proj, indent=2))
        print(projection_table(proj))
        print(f"wrote {path}")
    return proj


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
        "### Hybrid / full-text p50, same run\n\n" + ratio_table(results),
        "### Vector index recall against exact search (top 10)\n\n" + recall_table(results),
        "### 10M projection\n\n"
        + projection_table(project([r for r in results if not r.get("tag")])),
    ])  # fmt: skip
    print(md)
    args.md.write_text(md + "\n")
    plot(results, args.plot)
    print(f"\nwrote {args.md} and {args.plot}")


if __name__ == "__main__":
    main()
