"""Answer eval: ask every question that has gold answers and score what comes back.

- **accuracy**: a gold answer appears in the answer once both are normalised (case, accents,
  punctuation, articles and citation marks dropped; SQuAD's rule, with French articles too);
- **exact match** and **token F1**: SQuAD's, between the *short* answer and the gold answers
  (the best over them); the short answer is ``Answer.short`` where the backend gives one (the
  offline answerer's entity, number or date), else the whole answer;
- **short accuracy**: a gold answer appears in the short answer;
- **retrieval top-3**: a gold answer appears in the top 3 retrieved passages (the same search
  the answerer's evidence comes from), so a wrong answer can be told from a retrieval miss;
- **citation precision**: of all citations given, the share pointing into a document the qrels
  mark relevant to the question (only when qrels are given);
- **found rate**: the share of questions answered at all (not "the archive does not say").

A backend without short answers is scored on its whole text, so its F1 is bounded by how long its
sentences are next to short gold spans; accuracy (containment) compares any two backends.

>>> normalize_answer("L'Apa, versée [1] aux personnes âgées.")
'apa versee aux personnes agees'
>>> round(token_f1("la vente n'a pas lieu", ["la vente n'a pas lieu en ce cas"]), 3)
0.727
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

from evals.beir import BeirDataset, Query
from evals.collection import EvalIndex
from evals.results import AnswerEval, AnswerRow
from evals.retrieval import index_info, settings_snapshot
from pipeline.errors import ArchivistError

_MARKS = re.compile(r"\[\d+(?:\s*[,;–-]\s*\d+)*\]")
_ARTICLES = {
    "a", "an", "the",
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "d",
}  # fmt: skip
_PUNCT = re.compile(r"[^\w\s]")


def normalize_answer(text: str) -> str:
    """Lower case, no accents, no punctuation, no articles, no ``[n]`` marks, single spaces."""
    text = _MARKS.sub(" ", text)
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _PUNCT.sub(" ", text.replace("’", "'"))
    return " ".join(w for w in text.split() if w not in _ARTICLES)


def contains_answer(answer: str, gold: Sequence[str]) -> bool:
    """Whether a normalised gold answer is a whole-word substring of the normalised answer."""
    norm = f" {normalize_answer(answer)} "
    return any(g and f" {g} " in norm for g in (normalize_answer(x) for x in gold))


def token_f1(answer: str, gold: Sequence[str]) -> float:
    """SQuAD token F1, the best over ``gold``."""
    pred = normalize_answer(answer).split()
    best = 0.0
    for g in gold:
        ref = normalize_answer(g).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if not pred or not ref or not common:
            continue
        precision, recall = common / len(pred), common / len(ref)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def exact_match(answer: str, gold: Sequence[str]) -> bool:
    """SQuAD exact match: the normalised answer equals a normalised gold answer.

    >>> exact_match("Aldane-4 [1]", ["an Aldane-4"])
    True
    """
    norm = normalize_answer(answer)
    return bool(norm) and any(norm == normalize_answer(g) for g in gold)


TOP_PASSAGES = 3


def _retrieved(query: Query, index: EvalIndex) -> bool | None:
    """Whether a gold answer is in the top passages a search for the question returns."""
    try:
        hits = index.archive.search(query.text, k=TOP_PASSAGES)
    except ArchivistError:
        return None
    return contains_answer(" ".join(h.chunk.text for h in hits), query.answers)


def _row(query: Query, dataset: BeirDataset, index: EvalIndex, backend: str) -> AnswerRow:
    retrieved = _retrieved(query, index)
    try:
        answer = index.archive.ask(query.text, backend=backend)
    except ArchivistError as e:  # one failed call is a wrong answer, not a lost eval
        return AnswerRow(
            query_id=query.id, query=query.text, answer="", gold=list(query.answers),
            correct=False, f1=0.0, found=False, citations=0, error=str(e),
            retrieved=retrieved,
        )  # fmt: skip
    relevant = {d for d, s in dataset.qrels.get(query.id, {}).items() if s > 0}
    judged = query.id in dataset.qrels
    hits = sum(1 for c in answer.citations if relevant & set(index.corpus_ids(c.doc_id)))
    short = (answer.short or answer.text) if answer.found else ""
    return AnswerRow(
        query_id=query.id,
        query=query.text,
        answer=answer.text,
        short=answer.short,
        gold=list(query.answers),
        correct=answer.found and contains_answer(answer.text, query.answers),
        exact=exact_match(short, query.answers),
        short_correct=bool(short) and contains_answer(short, query.answers),
        f1=token_f1(short, query.answers) if short else 0.0,
        found=answer.found,
        citations=len(answer.citations),
        relevant_citations=hits if judged else None,
        retrieved=retrieved,
    )


def evaluate_answers(
    dataset: BeirDataset,
    index: EvalIndex,
    *,
    backend: str = "offline",
    on_row: Callable[[AnswerRow], None] | None = None,
) -> AnswerEval:
    """Ask each question with gold answers through ``Archive.ask`` and score the answers."""
    t0 = time.perf_counter()
    rows = []
    for query in (q for q in dataset.queries.values() if q.answers):
        row = _row(query, dataset, index, backend)
        rows.append(row)
        if on_row:
            on_row(row)
    judged = [r for r in rows if r.relevant_citations is not None]
    cited = sum(r.citations for r in judged)
    searched = [r for r in rows if r.retrieved is not None]
    n = len(rows) or 1
    return AnswerEval(
        dataset=dataset.name,
        created_at=dt.datetime.now(dt.UTC),
        backend=backend,
        accuracy=sum(r.correct for r in rows) / n,
        exact_match=sum(r.exact for r in rows) / n,
        short_accuracy=sum(r.short_correct for r in rows) / n,
        f1=sum(r.f1 for r in rows) / n,
        retrieval_top3=sum(bool(r.retrieved) for r in searched) / len(searched)
        if searched
        else None,
        citation_precision=(
            sum(r.relevant_citations or 0 for r in judged) / cited if judged and cited else None
        ),
        found_rate=sum(r.found for r in rows) / n,
        rows=rows,
        index=index_info(index),
        settings={**settings_snapshot(index, None), "answer": _answer_settings(index, backend)},
        seconds=time.perf_counter() - t0,
    )


def _answer_settings(index: EvalIndex, backend: str) -> dict[str, object]:
    opts = index.archive.options.answer
    out: dict[str, object] = {"backend": backend, "max_sentences": opts.max_sentences}
    if backend == "offline":
        out["short_answers"] = opts.short_answers
    if backend == "openai":
        out["model"] = opts.llm.model
        out["base_url"] = opts.llm.base_url
    return out
