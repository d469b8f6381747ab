"""The offline answerer on the sample dispatches' questions, with and without short answers.

    .venv/bin/python bench/answers_sample_docs.py [--db /tmp/samples-idx]

Ingests ``sample_docs/*.pdf`` (once: the index is reused) and asks each question of
``sample_docs/questions.json`` through ``Archive.ask``, scoring as ``archivist eval answers``
does: accuracy (a gold answer, ``answers``, in the answer), exact match and token F1 of the
short answer (the whole answer when there is none). One row per question, then the totals.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from evals.answers import contains_answer, exact_match, token_f1
from pipeline.archive import Archive
from pipeline.models import SourceDocument, SourceMetadata
from pipeline.settings import Settings

SAMPLES = Path(__file__).resolve().parents[1] / "sample_docs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "samples-idx")
    args = parser.parse_args()
    questions = json.loads((SAMPLES / "questions.json").read_text(encoding="utf-8"))
    totals: dict[bool, list[tuple[bool, bool, float]]] = {False: [], True: []}
    for short in (False, True):
        settings = Settings(db=str(args.db), answer={"short_answers": short})
        archive = Archive(settings.options())
        if short is False:
            docs = [
                SourceDocument(uri=str(p), path=p, metadata=SourceMetadata())
                for p in sorted(SAMPLES.glob("*.pdf"))
            ]
            archive.ingest(docs)
        for q in questions:
            answer = archive.ask(q["question"])
            gold = q["answers"]
            said = (answer.short or answer.text) if answer.found else ""
            row = (
                contains_answer(answer.text, gold),
                exact_match(said, gold),
                token_f1(said, gold),
            )
            totals[short].append(row)
            print(f"short={short!s:5} acc={row[0]!s:5} em={row[1]!s:5} f1={row[2]:.2f} "
                  f"{q['question'][:60]!r} -> {said[:60]!r}")  # fmt: skip
    for short, rows in totals.items():
        n = len(rows)
        acc, em, f1 = (sum(r[i] for r in rows) / n for i in range(3))
        print(
            f"short answers {'on ' if short else 'off'}: {n} questions, "
            f"accuracy {acc:.3f}, exact match {em:.3f}, token F1 {f1:.3f}"
        )


if __name__ == "__main__":
    main()
