"""Synthetic collection for the scale bench (``bench/scale.py``): text, metadata and vectors.

Embedding a million passages with the default embedder (~60 passages/s on this box) would take
hours, so only a few thousand *real* passages are embedded; they become topic centres. Each
synthetic document picks one centre; each of its chunks gets

- text: a contiguous span of the centre passage's words followed by words drawn from the
  language's unigram distribution (real French/English vocabulary, real word frequencies), for a
  lognormal length clipped to 80–250 words, so BM25 postings and vector neighbourhoods agree on
  a topic, as in real archives;
- a vector: centre + document noise + chunk noise, L2-normalised (cosine to its centre ≈ 0.7),
  so that the vector index sees clustered, anisotropic data rather than uniform noise (uniform
  random vectors are the worst case for IVF and tell little about real recall).

Text sources: the PIAF fiches and distractors (French) and docling's reference Markdown plus the
English demo articles (English) from ``../shared/data``; dates are uniform over 1983–2026.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
WINDOW = 120  # words per real passage embedded as a centre
COLLECTIONS = {"fr": ("presse-fr", "archives-meridien", "service-public"), "en": ("press-en",)}
FIRST_DAY = dt.date(1983, 1, 1).toordinal()
LAST_DAY = dt.date(2026, 12, 31).toordinal()
EPOCH = dt.date(1970, 1, 1).toordinal()


@dataclass
class Corpus:
    """Real passages (centres) per language, their unit vectors, and each language's words."""

    passages: dict[str, list[list[str]]]
    vectors: dict[str, np.ndarray]
    words: dict[str, np.ndarray]  # every token occurrence: sampling it is unigram sampling


def _windows(text: str, size: int = WINDOW, stride: int = WINDOW) -> list[list[str]]:
    words = text.split()
    return [words[i : i + size] for i in range(0, max(1, len(words) - size // 2), stride)]


def french_texts() -> list[str]:
    texts = [json.loads(line)["text"] for line in (DATA / "piaf" / "corpus.jsonl").open()]
    with zipfile.ZipFile(DATA / "piaf" / "distractor_fiches_txt.zip") as z:
        for name in sorted(z.namelist()):
            if name.endswith(".txt"):
                texts.append(io.TextIOWrapper(z.open(name), encoding="utf-8").read())
    return texts


def english_texts() -> list[str]:
    import sys

    sys.path.insert(0, str(REPO))
    from sample_docs.articles import ARTICLES  # type: ignore[import-not-found]

    texts = [f"{a.title}\n{a.body}" for a in ARTICLES if a.lang == "en"]
    for md in sorted((DATA / "pdf" / "docling" / "groundtruth").glob("*.md")):
        if "right_to_left" not in md.name:
            texts.append(re.sub(r"[|#*\-]{2,}|<!--.*?-->", " ", md.read_text()))
    # Keep Latin-script words only (one reference page mixes in Korean).
    return [" ".join(w for w in t.split() if _LATIN.fullmatch(w)) for t in texts]


_LATIN = re.compile(r"[A-Za-z0-9À-ÿ.,;:!?'’()\"%$€&/+-]+")


def load_corpus(cache: Path, embed: object, *, max_fr: int = 2500, seed: int = 0) -> Corpus:
    """Real passages and their embeddings (computed once, then read from ``cache``)."""
    rng = np.random.default_rng(seed)
    fr_all = [w for t in french_texts() for w in _windows(t) if len(w) >= 40]
    fr = [fr_all[i] for i in sorted(rng.choice(len(fr_all), min(max_fr, len(fr_all)), False))]
    # Little English text exists here: overlapping windows give more distinct centres.
    en = [w for t in english_texts() for w in _windows(t, stride=WINDOW // 4) if len(w) >= 40]
    passages = {"fr": fr, "en": en}
    path = cache / "centres.npz"
    if path.exists():
        stored = np.load(path)
        vectors = {lang: stored[lang] for lang in passages}
    else:
        vectors = {
            lang: embed.embed_documents([" ".join(p) for p in ps])  # type: ignore[attr-defined]
            for lang, ps in passages.items()
        }
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path, **vectors)
    words = {
        "fr": np.array([w for t in french_texts() for w in t.split()], dtype=object),
        "en": np.array([w for t in english_texts() for w in t.split()], dtype=object),
    }
    return Corpus(passages, vectors, words)


def doc_id_of(seed: int, i: int) -> str:
    return hashlib.sha256(f"scale-{seed}-{i}".encode()).hexdigest()


def _texts(corpus: Corpus, lang: str, centres: np.ndarray, rng: np.random.Generator) -> list[str]:
    """One text per centre index: a span of the centre passage, then unigram-sampled words."""
    n = len(centres)
    lengths = np.clip(rng.lognormal(np.log(140), 0.35, n), 80, 250).astype(int)
    sizes = np.array([len(corpus.passages[lang][c]) for c in centres])
    own = np.minimum(sizes, (lengths * rng.uniform(0.3, 0.6, n)).astype(int))
    vocab = corpus.words[lang]
    drawn = vocab[rng.integers(0, len(vocab), int((lengths - own).sum()))]
    out, pos = [], 0
    for c, total, k in zip(centres, lengths, own, strict=True):
        passage = corpus.passages[lang][c]
        start = int(rng.integers(0, len(passage) - k + 1))
        rest = total - k
        out.append(" ".join([*passage[start : start + k], *drawn[pos : pos + rest]]))
        pos += rest
    return out


def batches(
    corpus: Corpus,
    n_chunks: int,
    *,
    chunk_schema: pa.Schema,
    doc_schema: pa.Schema,
    embedder: str,
    docs_per_batch: int = 2000,
    seed: int = 0,
    noise: float = 0.03,
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """(chunks, documents) Arrow tables in the store's schemas, ~10 chunks per document."""
    rng = np.random.default_rng(seed + 1)
    dim = next(iter(corpus.vectors.values())).shape[1]
    written, doc_no = 0, 0
    now = dt.datetime.now(dt.UTC)
    while written < n_chunks:
        remaining = n_chunks - written
        per_doc = np.clip(rng.poisson(10, docs_per_batch), 1, 30)
        cum = np.cumsum(per_doc)
        if cum[-1] >= remaining:  # last batch: cut the last document to land on n_chunks
            per_doc = per_doc[: int(np.searchsorted(cum, remaining)) + 1]
            per_doc[-1] -= int(per_doc.sum()) - remaining
        n_docs = len(per_doc)
        langs = np.where(rng.random(n_docs) < 0.7, "fr", "en")
        days = rng.integers(FIRST_DAY, LAST_DAY + 1, n_docs)
        chunk_cols: dict[str, list] = {k: [] for k in ("text", "vec", "doc")}
        doc_rows = []
        for lang in ("fr", "en"):
            idx = np.flatnonzero(langs == lang)
            if not len(idx):
                continue
            centres = rng.integers(0, len(corpus.passages[lang]), len(idx))
            reps = per_doc[idx]
            chunk_centres = np.repeat(centres, reps)
            texts = _texts(corpus, lang, chunk_centres, rng)
            base = corpus.vectors[lang][chunk_centres]
            doc_noise = np.repeat(rng.standard_normal((len(idx), dim), np.float32), reps, axis=0)
            vec = base + noise * (doc_noise + rng.standard_normal(base.shape, np.float32))
            vec /= np.linalg.norm(vec, axis=1, keepdims=True)
            chunk_cols["text"] += texts
            chunk_cols["vec"].append(vec.astype(np.float32))
            chunk_cols["doc"] += list(np.repeat(idx, reps))
            doc_rows.append((idx, texts, reps))
        chunks, docs = _tables(
            chunk_cols, doc_rows, per_doc, langs, days, doc_no, seed, now, embedder,
            chunk_schema, doc_schema, rng,
        )  # fmt: skip
        doc_no += n_docs
        written += chunks.num_rows
        yield chunks, docs


def _tables(
    cols: dict[str, list],
    doc_rows: list[tuple[np.ndarray, list[str], np.ndarray]],
    per_doc: np.ndarray,
    langs: np.ndarray,
    days: np.ndarray,
    doc_no: int,
    seed: int,
    now: dt.datetime,
    embedder: str,
    chunk_schema: pa.Schema,
    doc_schema: pa.Schema,
    rng: np.random.Generator,
) -> tuple[pa.Table, pa.Table]:
    n_docs = len(per_doc)
    ids = [doc_id_of(seed, doc_no + i) for i in range(n_docs)]
    colls = [COLLECTIONS[lang][int(rng.integers(len(COLLECTIONS[lang])))] for lang in langs]
    titles = [f"Dépêche {doc_no + i}" if lang == "fr" else f"Dispatch {doc_no + i}"
              for i, lang in enumerate(langs)]  # fmt: skip
    doc_of = np.asarray(cols["doc"])
    ordinal = np.concatenate([np.arange(k) for _, _, reps in doc_rows for k in reps])
    texts = cols["text"]
    search = [f"{titles[d]}\n{t}" for d, t in zip(doc_of, texts, strict=True)]
    vec = np.vstack(cols["vec"])
    dates = pa.array((days[doc_of] - EPOCH).astype(np.int32), pa.date32())
    # Per-chunk metadata that varies as a real document's does (pages, headings, where the
    # text lies on its page): constant columns compress into pages that a read by row id must
    # decode whole, which made taking 8 rows of a compacted table cost 15 ms instead of 6.
    page = (ordinal // 3 + 1).astype(np.int32)
    third = ordinal % 3
    data = {
        "chunk_id": [f"{ids[d][:32]}-{o:05d}" for d, o in zip(doc_of, ordinal, strict=True)],
        "doc_id": [ids[d] for d in doc_of],
        "ordinal": pa.array(ordinal.astype(np.int32)),
        "text": texts,
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vec.ravel()), vec.shape[1]),
        "heading_path": [
            [titles[d], f"Section {o // 4 + 1}"] for d, o in zip(doc_of, ordinal, strict=True)
        ],
        "page_start": pa.array(page),
        "page_end": pa.array(page + (third == 2)),
        "title": [titles[d] for d in doc_of],
        "source": [f"scale-bench/{colls[d]}" for d in doc_of],
        "date": dates,
        "language": [str(langs[d]) for d in doc_of],
        "collection": [colls[d] for d in doc_of],
        "regions": [
            f'[{{"page": {p}, "box": {{"x0": 56.0, "y0": {72 + 230 * t}.0, "x1": 540.0, '
            f'"y1": {290 + 230 * t}.0}}}}]'
            for p, t in zip(page, third, strict=True)
        ],
        "spans": [f"[[0,{len(x)},{p}]]" for x, p in zip(texts, page, strict=True)],
        "furniture": [f"{titles[d]} · page {p}" for d, p in zip(doc_of, page, strict=True)],
        "written_at": pa.array([now] * len(texts), pa.timestamp("us", tz="UTC")),
    }
    for name in chunk_schema.names:
        if name.startswith("fts_"):
            data[name] = search
    chunks = pa.table({n: data[n] for n in chunk_schema.names}, schema=chunk_schema)
    markdown = [""] * n_docs
    for idx, ts, reps in doc_rows:
        pos = 0
        for d, k in zip(idx, reps, strict=True):
            markdown[d] = "\n\n".join(ts[pos : pos + k])
            pos += k
    docs = pa.table(
        {
            "doc_id": ids,
            "uri": [f"scale://{seed}/{doc_no + i}.pdf" for i in range(n_docs)],
            "title": titles,
            "date": pa.array((days - EPOCH).astype(np.int32), pa.date32()),
            "language": [str(x) for x in langs],
            "collection": colls,
            "source": ["scale-bench"] * n_docs,
            "media_type": ["application/pdf"] * n_docs,
            "pages": pa.array(np.maximum(1, per_doc // 3).astype(np.int32)),
            "chunks": pa.array(per_doc.astype(np.int32)),
            "status": ["ok"] * n_docs,
            "errors": ["[]"] * n_docs,
            "page_methods": [["text"]] * n_docs,
            "converter": ["scale-bench"] * n_docs,
            "embedder": [embedder] * n_docs,
            "ingested_at": pa.array([now] * n_docs, pa.timestamp("us", tz="UTC")),
            "markdown": pa.array(markdown, pa.large_string()),
            # Each synthetic document is a story of its own, as ingest marks one: its own
            # group, alone in it, no LSH keys. Searches pay grouping's read of the candidates'
            # documents but find no versions to fold or list.
            "cluster_id": ids,
            "variant_keys": pa.array([[]] * n_docs, pa.list_(pa.string())),
            "grouped": pa.array([False] * n_docs, pa.bool_()),
        },
        schema=doc_schema,
    )
    return chunks, docs


def queries(corpus: Corpus, n: int = 200, *, seed: int = 2) -> list[tuple[str, str]]:
    """(text, language): the 52 PIAF questions, the demo questions, then 3–8-word spans of real
    passages (keyword-style queries), about a third of them English."""
    out = [(json.loads(line)["text"], "fr") for line in (DATA / "piaf" / "queries.jsonl").open()]
    demo = json.loads((REPO / "sample_docs" / "questions.json").read_text())
    out += [(q["question"], q.get("language", "fr")) for q in demo]
    rng = np.random.default_rng(seed)
    while len(out) < n:
        lang = "en" if rng.random() < 0.4 else "fr"
        passage = corpus.passages[lang][int(rng.integers(len(corpus.passages[lang])))]
        k = int(rng.integers(3, 9))
        start = int(rng.integers(0, max(1, len(passage) - k)))
        out.append((" ".join(passage[start : start + k]).strip(".,;:()«»\"'"), lang))
    return out[:n]
