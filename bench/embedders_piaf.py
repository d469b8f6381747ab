"""Compare the packaged embedders on the French PIAF retrieval set (vector search only).

Each fiche is cut into 160-word windows; a fiche's score for a query is its best window's cosine;
nDCG@10 and recall@10 are computed at fiche level against qrels. ``--subset N`` keeps the relevant
fiches plus N-52 others (for slow embedders); ``--distractors`` adds the distractor files.

    python bench/embedders_piaf.py --data ../shared/data/piaf --kinds use-multilingual,minilm
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
import zipfile
from pathlib import Path

import numpy as np

from pipeline.embed import make_embedder
from pipeline.models import EmbedOptions


def windows(text: str, size: int = 160, cap: int | None = None) -> list[str]:
    words = text.split()
    out = [" ".join(words[i : i + size]) for i in range(0, max(len(words), 1), size)]
    return out[:cap] if cap else out


def load(data: Path, subset: int | None, distractors: bool) -> tuple[dict, dict, dict]:
    corpus = {}
    for line in (data / "corpus.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        corpus[row["_id"]] = (row.get("title", "") + "\n" + row["text"]).strip()
    queries = {}
    for line in (data / "queries.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        queries[row["_id"]] = row["text"]
    qrels: dict[str, set[str]] = {}
    for line in (data / "qrels.tsv").read_text().splitlines()[1:]:
        q, d, _ = line.split("\t")
        qrels.setdefault(q, set()).add(d)
    if subset:
        keep = set().union(*qrels.values())
        others = sorted(set(corpus) - keep)
        random.Random(0).shuffle(others)
        keep |= set(others[: max(0, subset - len(keep))])
        corpus = {k: v for k, v in corpus.items() if k in keep}
    if distractors:
        with zipfile.ZipFile(data / "distractor_fiches_txt.zip") as zf:
            for name in zf.namelist():
                if name.endswith(".txt"):
                    corpus["distractor:" + name] = zf.read(name).decode("utf-8")
    return corpus, queries, qrels


def evaluate(kind: str, corpus: dict, queries: dict, qrels: dict, cap: int | None) -> dict:
    emb = make_embedder(EmbedOptions(kind=kind))
    owners, texts = [], []
    for doc_id, text in corpus.items():
        for w in windows(text, cap=cap):
            owners.append(doc_id)
            texts.append(w)
    t0 = time.perf_counter()
    vecs = emb.embed_documents(texts)
    elapsed = time.perf_counter() - t0
    ndcg, recall = [], []
    for qid, q in queries.items():
        sims = vecs @ emb.embed_query(q)
        best: dict[str, float] = {}
        for owner, s in zip(owners, sims, strict=True):
            best[owner] = max(best.get(owner, -1.0), float(s))
        ranked = sorted(best, key=best.__getitem__, reverse=True)[:10]
        rel = qrels.get(qid, set())
        dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked) if d in rel)
        idcg = sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
        ndcg.append(dcg / idcg if idcg else 0.0)
        recall.append(len(rel & set(ranked)) / len(rel) if rel else 0.0)
    return {
        "kind": kind,
        "model": emb.name,
        "passages": len(texts),
        "passages_per_s": round(len(texts) / elapsed, 1),
        "ndcg@10": round(float(np.mean(ndcg)), 3),
        "recall@10": round(float(np.mean(recall)), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/piaf"))
    ap.add_argument("--kinds", default="use-multilingual,minilm")
    ap.add_argument("--subset", type=int, default=None)
    ap.add_argument("--cap", type=int, default=None, help="max windows per fiche")
    ap.add_argument("--distractors", action="store_true")
    args = ap.parse_args()
    corpus, queries, qrels = load(args.data, args.subset, args.distractors)
    for kind in args.kinds.split(","):
        print(json.dumps(evaluate(kind, corpus, queries, qrels, args.cap)), flush=True)


if __name__ == "__main__":
    main()
