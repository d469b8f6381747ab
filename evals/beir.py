"""BEIR-format retrieval sets: ``corpus.jsonl``, ``queries.jsonl``, ``qrels.tsv`` (+ distractors).

BEIR is the format public retrieval benchmarks ship in:

- ``corpus.jsonl``: one ``{"_id", "title", "text"}`` per line, optionally with ``metadata``:
  ``date`` and ``language`` go to the document as front matter, ``story`` names the story a
  document is a version of (the eval then counts top-10 lists holding two versions of one story);
- ``queries.jsonl``: one ``{"_id", "text", "metadata"}`` per line; answer evals read gold answers
  from ``metadata.answers`` (a list of strings);
- ``qrels.tsv``: ``query-id<TAB>corpus-id<TAB>score`` with a header line; score > 0 is relevant and
  graded scores are kept for nDCG.

Distractors are extra ``.txt`` files (a folder, or a zip of them) that go into the index but are
relevant to no query: they make the haystack bigger without changing the ground truth.

>>> ds = load_beir(Path("corpus.jsonl"), Path("queries.jsonl"), Path("qrels.tsv"))  # doctest: +SKIP
>>> ds.qrels["q001"]                                                                # doctest: +SKIP
{'F34355': 1}
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import DocumentLoadError


@dataclass(frozen=True)
class CorpusDoc:
    """One corpus entry, by its BEIR id."""

    id: str
    title: str
    text: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    """One query, with its gold answers when the set has them."""

    id: str
    text: str
    answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Distractor:
    """An extra plain-text file relevant to no query."""

    name: str
    data: bytes


@dataclass
class BeirDataset:
    """A loaded set; ``name`` labels reports and history rows."""

    name: str
    corpus: dict[str, CorpusDoc]
    queries: dict[str, Query]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    distractors: list[Distractor] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def stories(self) -> dict[str, str]:
        """The story each corpus entry is a version of, for sets that say (``metadata.story``)."""
        return {d.id: d.metadata["story"] for d in self.corpus.values() if "story" in d.metadata}

    def judged_queries(self) -> list[Query]:
        """Queries with at least one relevant document (the only ones retrieval can score)."""
        return [
            q
            for q in self.queries.values()
            if any(s > 0 for s in self.qrels.get(q.id, {}).values())
        ]


def _jsonl(path: Path) -> Iterator[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DocumentLoadError(f"cannot read {path}: {e}") from e
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DocumentLoadError(f"{path}:{n}: not JSON ({e.msg})") from e
        if not isinstance(row, dict) or "_id" not in row:
            raise DocumentLoadError(f"{path}:{n}: expected an object with an '_id'")
        yield row


CORPUS_METADATA = ("date", "language", "story")  # what a corpus entry's metadata may carry


def load_corpus(path: Path) -> dict[str, CorpusDoc]:
    """``corpus.jsonl`` as {id: CorpusDoc}; a repeated id is an error, not a silent overwrite."""
    corpus: dict[str, CorpusDoc] = {}
    for row in _jsonl(path):
        doc_id = str(row["_id"])
        if doc_id in corpus:
            raise DocumentLoadError(f"{path}: corpus id {doc_id!r} appears twice")
        meta = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
        kept = {k: str(v) for k, v in meta.items() if k in CORPUS_METADATA and v is not None}
        title, text = str(row.get("title") or ""), str(row.get("text") or "")
        corpus[doc_id] = CorpusDoc(doc_id, title, text, kept)
    return corpus


def load_queries(path: Path) -> dict[str, Query]:
    """``queries.jsonl`` as {id: Query}; ``metadata.answers`` may be a string or a list."""
    queries: dict[str, Query] = {}
    for row in _jsonl(path):
        meta = row.get("metadata") or {}
        answers = meta.get("answers", meta.get("answer", [])) if isinstance(meta, dict) else []
        if isinstance(answers, str):
            answers = [answers]
        gold = tuple(str(a) for a in answers if str(a).strip())
        queries[str(row["_id"])] = Query(str(row["_id"]), str(row.get("text") or ""), gold)
    return queries


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``qrels.tsv`` as {query id: {corpus id: score}}; the header line is optional."""
    qrels: dict[str, dict[str, int]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DocumentLoadError(f"cannot read {path}: {e}") from e
    for n, line in enumerate(lines, start=1):
        parts = line.strip().split("\t") if "\t" in line else line.split()
        if not parts or not parts[0]:
            continue
        if n == 1 and parts[0].lower() in ("query-id", "query_id", "qid"):
            continue
        if len(parts) == 4:  # TREC style: qid 0 docid score
            parts = [parts[0], parts[2], parts[3]]
        if len(parts) != 3:
            raise DocumentLoadError(f"{path}:{n}: expected query-id, corpus-id, score")
        try:
            score = int(float(parts[2]))
        except ValueError as e:
            raise DocumentLoadError(f"{path}:{n}: score {parts[2]!r} is not a number") from e
        qrels.setdefault(parts[0], {})[parts[1]] = score
    return qrels


def load_distractors(path: Path) -> list[Distractor]:
    """The ``.txt`` files of a folder (recursively) or of a zip, sorted by name."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        return [Distractor(p.relative_to(path).as_posix(), p.read_bytes()) for p in files]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = sorted(n for n in zf.namelist() if n.endswith(".txt") and not n.endswith("/"))
            return [Distractor(n, zf.read(n)) for n in names]
    raise DocumentLoadError(f"distractors: {path} is neither a folder nor a zip file")


def _fingerprint(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def load_beir(
    corpus: Path,
    queries: Path,
    qrels: Path | None = None,
    *,
    distractors: Path | None = None,
    name: str | None = None,
) -> BeirDataset:
    """Load a BEIR set. ``fingerprint`` hashes the corpus and distractors (not the queries), so an
    index built for it can be reused whatever questions are asked of it."""
    extra = load_distractors(distractors) if distractors else []
    try:
        corpus_bytes = corpus.read_bytes()
    except OSError as e:
        raise DocumentLoadError(f"cannot read {corpus}: {e}") from e
    fingerprint = _fingerprint(corpus_bytes, *(d.name.encode() + d.data for d in extra))
    return BeirDataset(
        name=name or corpus.resolve().parent.name or corpus.stem,
        corpus=load_corpus(corpus),
        queries=load_queries(queries),
        qrels=load_qrels(qrels) if qrels else {},
        distractors=extra,
        fingerprint=fingerprint,
    )
