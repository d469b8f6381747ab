"""Write the news question set in BEIR format from its sources (``stories_*.yaml``).

    python evals/data/news/make_beir.py            # writes corpus.jsonl, queries.jsonl, qrels.tsv

Each story is a corpus entry; each question is relevant to its own story only (the other stories
of its topic are its same-topic distractors). Every gold answer must be written in its story:
the script refuses a set where one is not. ``tests/evals/test_news_set.py`` fails when the
committed files differ from a fresh run.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SOURCES = ("stories_en.yaml", "stories_fr.yaml")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


def build(folder: Path = HERE) -> dict[str, str]:
    """The three BEIR files' contents, by file name."""
    corpus, queries, qrels = [], [], ["query-id\tcorpus-id\tscore"]
    for name in SOURCES:
        data = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
        for topic in data["topics"]:
            for story in topic["stories"]:
                text = " ".join(story["text"].split("\n")).strip()
                corpus.append({"_id": story["id"], "title": story["title"], "text": text})
                language = story["id"].split("-", 1)[0]
                for i, q in enumerate(story.get("questions") or [], start=1):
                    missing = [a for a in q["answers"] if _fold(a) not in _fold(text)]
                    if missing:
                        raise ValueError(f"{story['id']}: {missing} not in the story")
                    qid = f"{story['id']}-q{i}"
                    meta = {"answers": q["answers"], "language": language, "topic": topic["topic"]}
                    queries.append({"_id": qid, "text": q["q"], "metadata": meta})
                    qrels.append(f"{qid}\t{story['id']}\t1")

    def lines(rows: list[dict[str, object]]) -> str:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)

    return {
        "corpus.jsonl": lines(corpus),
        "queries.jsonl": lines(queries),
        "qrels.tsv": "\n".join(qrels) + "\n",
    }


def main(out: Path = HERE) -> None:
    for name, content in build().items():
        (out / name).write_text(content, encoding="utf-8")
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
