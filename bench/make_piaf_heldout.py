"""A held-out question set over the PIAF corpus, to check that retrieval changes generalise.

The 52 PIAF questions are used to measure retrieval; tuning on them alone would overfit. This
script derives other questions, by a fixed rule and without looking at any result: the section
headings of the fiches that no PIAF question is about which are themselves questions ("Comment
acheter des valeurs du Trésor ?"), have at least ``--min-words`` words, and appear in exactly one
fiche. Each becomes a query whose relevant document is that fiche. The corpus (and so the cached
index) is the PIAF one, so evaluating these questions costs only the queries.

    python bench/make_piaf_heldout.py --data ../shared/data/piaf --out bench/results/piaf-heldout
    archivist eval retrieval --corpus ../shared/data/piaf/corpus.jsonl \\
        --queries bench/results/piaf-heldout/queries.jsonl \\
        --qrels bench/results/piaf-heldout/qrels.tsv \\
        --distractors ../shared/data/piaf/distractor_fiches_txt.zip --name piaf-heldout

The questions appear word for word in their fiche, which favours full-text search; they check
that fusion and aggregation choices do not depend on the 52 questions, not absolute levels.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def heading_questions(corpus: Path, exclude: set[str], min_words: int) -> dict[str, str]:
    """{question: fiche id} for question headings found in exactly one non-excluded fiche."""
    seen: dict[str, set[str]] = defaultdict(set)
    for line in corpus.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for text_line in row["text"].split("\n"):
            text_line = " ".join(text_line.split())
            if text_line.endswith("?") and len(text_line.split()) >= min_words:
                seen[text_line].add(row["_id"])
    return {
        q: next(iter(ids)) for q, ids in sorted(seen.items()) if len(ids) == 1 and not ids & exclude
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/piaf"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/piaf-heldout"))
    ap.add_argument("--min-words", type=int, default=6)
    args = ap.parse_args()
    qrels_lines = (args.data / "qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]
    test_fiches = {line.split("\t")[1] for line in qrels_lines if line.strip()}
    questions = heading_questions(args.data / "corpus.jsonl", test_fiches, args.min_words)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "queries.jsonl").open("w", encoding="utf-8") as f:
        for n, question in enumerate(questions, start=1):
            f.write(json.dumps({"_id": f"h{n:03d}", "text": question}, ensure_ascii=False) + "\n")
    with (args.out / "qrels.tsv").open("w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for n, fiche in enumerate(questions.values(), start=1):
            f.write(f"h{n:03d}\t{fiche}\t1\n")
    print(f"{len(questions)} held-out questions from {len(set(questions.values()))} fiches")


if __name__ == "__main__":
    main()
