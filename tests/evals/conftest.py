"""A tiny BEIR set written by the tests: six short documents (French and English), five queries
with gold answers, graded qrels, and three distractor files (as a folder and as a zip).

Each query names its topic with words found only in its relevant documents, so the rankers'
results are predictable enough to check by hand, while the distractors share vocabulary with the
corpus to make sure they really are searched.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest

CORPUS = [
    {
        "_id": "D1",
        "title": "Grève des dockers",
        "text": "Les dockers du port d'Aurèle ont cessé le travail mardi. Ils protestent contre "
        "la fermeture du terminal à conteneurs. Le syndicat réclame un moratoire de six mois.",
    },
    {
        "_id": "D2",
        "title": "Canicule à Lorvennes",
        "text": "Le thermomètre a atteint 41,2 degrés à Lorvennes le 11 août, un record absolu. "
        "La préfecture a ouvert des salles rafraîchies pour les personnes âgées.",
    },
    {
        "_id": "D3",
        "title": "Kestrel probe launch",
        "text": "The Kestrel probe lifted off on 7 September aboard a heavy rocket. It will "
        "study the solar wind for four years from an orbit near the first Lagrange point.",
    },
    {
        "_id": "D4",
        "title": "Brennach flood",
        "text": "The river Brennach burst its banks after three days of rain. Two hundred homes "
        "were evacuated and the old mill bridge was closed to traffic.",
    },
    {
        "_id": "D5",
        "title": "",
        "text": "Le pont de Saint-Ferréol a rouvert après deux ans de travaux. Sa travée centrale "
        "a été remplacée par une structure en acier.",
    },
    {
        "_id": "D6",
        "title": "Dockers: suite du conflit",
        "text": "Au port d'Aurèle, la grève des dockers entre dans sa deuxième semaine. La "
        "direction propose de reclasser les salariés du terminal à conteneurs.",
    },
]

QUERIES = [
    {"_id": "q1", "text": "Pourquoi les dockers du port d'Aurèle font-ils grève ?",
     "metadata": {"answers": ["la fermeture du terminal à conteneurs"]}},
    {"_id": "q2", "text": "Quelle température record à Lorvennes ?",
     "metadata": {"answers": ["41,2 degrés"]}},
    {"_id": "q3", "text": "When did the Kestrel probe lift off?",
     "metadata": {"answers": ["7 September"]}},
    {"_id": "q4", "text": "How many homes were evacuated in the Brennach flood?",
     "metadata": {"answers": ["Two hundred"]}},
    {"_id": "q5", "text": "Combien de temps ont duré les travaux du pont de Saint-Ferréol ?",
     "metadata": {"answers": ["deux ans"]}},
]  # fmt: skip

# q1 has two relevant documents, graded: D1 (2) explains the strike, D6 (1) follows it up.
QRELS = [("q1", "D1", 2), ("q1", "D6", 1), ("q2", "D2", 1), ("q3", "D3", 1), ("q4", "D4", 1),
         ("q5", "D5", 1)]  # fmt: skip

DISTRACTORS = {
    "weather/orages.txt": "Orages violents en Bretagne : la foudre a frappé un clocher. Les "
    "pompiers sont intervenus toute la nuit.",
    "weather/snow.txt": "Heavy snow closed the mountain passes for a week; the ski resorts "
    "welcomed the late season.",
    "sport/rugby.txt": "Le club de rugby de la ville a remporté le championnat régional "
    "dimanche devant trois mille spectateurs.",
}


class TinyBeir(NamedTuple):
    folder: Path
    corpus: Path
    queries: Path
    qrels: Path
    distractors_dir: Path
    distractors_zip: Path


def write_tiny_beir(folder: Path) -> TinyBeir:
    """Write the set into ``folder`` (BEIR layout) and return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CORPUS), "utf-8")
    queries = folder / "queries.jsonl"
    queries.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in QUERIES), "utf-8")
    qrels = folder / "qrels.tsv"
    rows = ["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t{s}" for q, d, s in QRELS)]
    qrels.write_text("\n".join(rows) + "\n", "utf-8")
    ddir = folder / "distractors"
    for name, text in DISTRACTORS.items():
        (ddir / name).parent.mkdir(parents=True, exist_ok=True)
        (ddir / name).write_text(text, "utf-8")
    dzip = folder / "distractors.zip"
    with zipfile.ZipFile(dzip, "w") as zf:
        for name, text in DISTRACTORS.items():
            zf.writestr(f"flat/{name.replace('/', '_')}", text)
    return TinyBeir(folder, corpus, queries, qrels, ddir, dzip)


@pytest.fixture(scope="session")
def tiny_beir(tmp_path_factory: pytest.TempPathFactory) -> TinyBeir:
    return write_tiny_beir(tmp_path_factory.mktemp("tiny-beir") / "tiny")


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index cache for the session: the tiny set is ingested once, then reused."""
    return tmp_path_factory.mktemp("eval-cache")


@pytest.fixture(scope="session")
def tiny_index(tiny_beir: TinyBeir, eval_cache: Path, embedder):  # type: ignore[no-untyped-def]
    """The tiny set with its zipped distractors, ingested through the real pipeline."""
    from evals.beir import load_beir
    from evals.collection import build_eval_index
    from pipeline.settings import Settings

    dataset = load_beir(
        tiny_beir.corpus, tiny_beir.queries, tiny_beir.qrels, distractors=tiny_beir.distractors_zip
    )
    index = build_eval_index(dataset, Settings().options(), cache_root=eval_cache)
    return dataset, index
