"""How long packing a 128k-token context takes, what it holds, and with which tokenizer.

The evidence is real French text: the PIAF set's 530 service-public.fr fiches, chunked by the
project's chunker (256 Tekken tokens, 32 overlap), each fiche given a fixed date between 1983 and
2024 so that date order has work to do. Hits are a fixed shuffle of the chunks (ranks spread across
documents, as hybrid retrieval gives them); sections load from memory, so the time is packing's
own: choosing, widening, ordering, counting and the exact final count.

For each tokenizer and number of hits it reports the median of ``--repeat`` runs (a fresh counter
each run, so a server's count cache starts cold), chunks and documents packed, prompt tokens
against the budget, hits left out, and for hits that overflow the window the map-reduce plan.

    python bench/packing.py --data ../shared/data/piaf --hits 300,600 --repeat 3
    python bench/packing.py --tokenizers server --base-url http://gpu:8000/v1 --model <served name>

``loopback`` counts through a local /tokenize server (tests/llm_server.py) backed by Tekken: the
cost of counting over HTTP, without a GPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.answer.evidence import pack_evidence, prompt_budget  # noqa: E402
from pipeline.answer.longcontext import plan_periods  # noqa: E402
from pipeline.chunk import chunk_markdown  # noqa: E402
from pipeline.models import Chunk, Hit, LLMOptions, ParsedDocument, SourceMetadata  # noqa: E402
from pipeline.tokens import (  # noqa: E402
    EstimateTokenCounter,
    TokenCounter,
    default_token_counter,
    make_token_counter,
)

QUESTIONS = {
    False: "Quelles démarches pour obtenir une carte de séjour ?",
    True: "Comment les règles du séjour des étrangers ont-elles évolué entre 1983 et 2024 ?",
}


def corpus_chunks(data: Path) -> dict[str, list[Chunk]]:
    """Every PIAF fiche chunked as the pipeline chunks documents, with a fixed date each."""
    tekken = default_token_counter()
    docs: dict[str, list[Chunk]] = {}
    for line in (data / "corpus.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        digest = hashlib.sha256(row["_id"].encode()).hexdigest()
        date = dt.date(1983, 1, 1) + dt.timedelta(days=int(digest[:8], 16) % 15000)
        title = row.get("title") or f"Fiche {row['_id']}"
        parsed = ParsedDocument(
            doc_id=digest,
            uri=f"https://www.service-public.fr/particuliers/vosdroits/{row['_id']}",
            metadata=SourceMetadata(title=title, date=date, language="fr"),
            media_type="text/plain",
            markdown=f"<!-- page 1 -->\n{row['text']}",
        )
        docs[digest] = chunk_markdown(parsed, counter=tekken)
    return docs


def ranked_hits(docs: dict[str, list[Chunk]], n: int) -> list[Hit]:
    chunks = [c for chunk_list in docs.values() for c in chunk_list]
    random.Random(0).shuffle(chunks)
    return [Hit(chunk=c, score=1.0 / (i + 1)) for i, c in enumerate(chunks[:n])]


@contextmanager
def counters(kind: str, args: argparse.Namespace) -> Iterator[Callable[[], TokenCounter]]:
    """A factory of fresh counters of ``kind`` (and the loopback server while it runs)."""
    if kind == "tekken":
        yield default_token_counter
    elif kind == "estimate":
        yield EstimateTokenCounter
    elif kind == "server":
        opts = LLMOptions(base_url=args.base_url, model=args.model, tokenizer="server")
        yield lambda: make_token_counter(opts)
    elif kind == "loopback":
        from tests.llm_server import LLMServer

        tekken = default_token_counter()
        pieces: Callable[[str], list[str]] = lambda text: [  # noqa: E731
            str(i) for i in range(tekken.count(text))
        ]
        with LLMServer(tokenize=pieces) as server:
            opts = LLMOptions(base_url=server.url, model=args.model, tokenizer="server")
            yield lambda: make_token_counter(opts)
    else:
        raise SystemExit(f"unknown tokenizer {kind!r}")


def run(
    hits: list[Hit],
    docs: dict[str, list[Chunk]],
    new_counter: Callable[[], TokenCounter],
    time_question: bool,
    repeat: int,
) -> dict[str, Any]:
    opts = LLMOptions(context_window=131072, max_tokens=1024)
    seconds, packed = [], None
    for _ in range(repeat):
        counter = new_counter()
        t0 = time.perf_counter()
        packed = pack_evidence(
            QUESTIONS[time_question],
            hits,
            opts=opts,
            counter=counter,
            chronological=time_question,
            sections=lambda ids: {i: docs[i] for i in ids},
        )
        seconds.append(time.perf_counter() - t0)
    assert packed is not None
    row: dict[str, Any] = {
        "tokenizer": counter.name,
        "hits": len(hits),
        "time question": time_question,
        "pack s (median)": round(statistics.median(seconds), 3),
        "chunks packed": len(packed.chunks),
        "documents": len(packed.documents),
        "prompt tokens": packed.prompt_tokens,
        "budget": packed.budget,
        "hits left out": len(packed.dropped),
    }
    if packed.dropped:
        t0 = time.perf_counter()
        room = prompt_budget(opts) - 1500
        periods, left = plan_periods(hits, counter=counter, room=room, max_calls=8)
        row["map-reduce plan"] = f"{len(periods)} periods, {len(left)} left out"
        row["plan s"] = round(time.perf_counter() - t0, 3)
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row.get(k, "")) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "piaf")
    parser.add_argument("--hits", default="300,600", help="comma-separated numbers of hits")
    parser.add_argument("--tokenizers", default="tekken,estimate,loopback")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base-url", default=None, help="an OpenAI-compatible server (server)")
    parser.add_argument("--model", default="mistralai/Mistral-Small-3.1-24B-Instruct-2503")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    docs = corpus_chunks(args.data)
    total = sum(len(c) for c in docs.values())
    print(f"{len(docs)} documents, {total} chunks; window 131072, answer 1024 tokens\n")
    rows = []
    for kind in args.tokenizers.split(","):
        with counters(kind, args) as new_counter:
            for n in (int(x) for x in args.hits.split(",")):
                for time_question in (False, True):
                    hits = ranked_hits(docs, n)
                    rows.append(run(hits, docs, new_counter, time_question, args.repeat))
                    print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
