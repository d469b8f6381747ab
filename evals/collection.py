"""Build (or reuse) the index an eval searches: the corpus ingested through the real pipeline.

Each corpus entry becomes a plain-text document (``beir://<set>/<id>.txt``, the BEIR title as front
matter) and goes through ``Archive.ingest`` exactly as a user's files do: conversion, chunking,
embedding, LanceDB. Distractor files go in the same way under ``beir://<set>/distractors/``.

The pipeline names documents by the sha256 of their bytes; the eval keeps the map from that id back
to the BEIR corpus ids (two entries with the same bytes are one document, relevant to both ids).

Building the PIAF index takes minutes on a small CPU, so it is cached on disk under a key made of
the corpus and distractor bytes and every setting that changes what is indexed (converter version,
chunker, embedder, full-text languages and stemming). Changing retrieval settings (mode, fusion,
reranker) reuses the index; changing the chunk size builds a new one.
Conversion options are left out of the key: eval documents are plain text, which every conversion
option leaves alone.

>>> index = build_eval_index(dataset, options, cache_root=Path("cache"))  # doctest: +SKIP
>>> index.corpus_ids(hit.chunk.doc_id)                                      # doctest: +SKIP
['F34355']
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from evals.beir import BeirDataset
from pipeline.archive import Archive
from pipeline.convert import CONVERTER_VERSION
from pipeline.models import IngestResult, SourceDocument, SourceMetadata
from pipeline.settings import StageOptions
from pipeline.store.minhash import KEYS_VERSION

log = logging.getLogger(__name__)

INDEX_FORMAT = 1  # bump when the way corpus entries are turned into documents changes
MANIFEST = "eval_manifest.json"
CORPUS_COLLECTION = "eval-corpus"
DISTRACTOR_COLLECTION = "eval-distractors"
DISTRACTOR_PREFIX = "distractor:"
BATCH = 200  # documents ingested between two compactions of the tables


@dataclass
class EvalIndex:
    """An index holding one eval corpus, with the map from pipeline doc ids to corpus ids."""

    archive: Archive
    path: Path
    key: str
    doc_map: dict[str, list[str]]
    documents: int
    failed: list[str]
    build_seconds: float
    reused: bool

    def corpus_ids(self, doc_id: str) -> list[str]:
        """The BEIR ids behind a pipeline document (a distractor maps to ``distractor:<name>``)."""
        return self.doc_map.get(doc_id, [doc_id])

    @property
    def table_version(self) -> int:
        """The LanceDB version of the chunks table the eval searched."""
        return int(self.archive.store.chunks.version)


def document_bytes(title: str, text: str, metadata: Mapping[str, str] | None = None) -> bytes:
    """The text file a corpus entry becomes: front matter with its title, date and language
    (those it has), then its text.

    >>> document_bytes("Leasing", "Le contrat prend fin.").decode()
    '---\\ntitle: Leasing\\n---\\n\\nLe contrat prend fin.\\n'
    """
    body = text.strip() + "\n"
    front_matter = {"title": title.strip()} if title.strip() else {}
    front_matter |= {k: v for k, v in (metadata or {}).items() if k in ("date", "language")}
    if not front_matter:
        return body.encode("utf-8")
    front = yaml.safe_dump(front_matter, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n{body}".encode()


def eval_sources(dataset: BeirDataset) -> Iterator[tuple[SourceDocument, str]]:
    """Each corpus entry and distractor as a ``SourceDocument``, with the id it stands for."""
    corpus_meta = SourceMetadata(collection=CORPUS_COLLECTION, source=dataset.name)
    for entry in dataset.corpus.values():
        uri = f"beir://{dataset.name}/{entry.id}.txt"
        data = document_bytes(entry.title, entry.text, entry.metadata)
        yield SourceDocument(uri=uri, data=data, metadata=corpus_meta), entry.id
    extra_meta = SourceMetadata(collection=DISTRACTOR_COLLECTION, source=dataset.name)
    for d in dataset.distractors:
        uri = f"beir://{dataset.name}/distractors/{d.name}"
        yield SourceDocument(uri=uri, data=d.data, metadata=extra_meta), DISTRACTOR_PREFIX + d.name


def index_key(dataset: BeirDataset, options: StageOptions) -> str:
    """What the index depends on: corpus bytes and the ingest-side settings, nothing else."""
    parts = {
        "format": INDEX_FORMAT,
        "corpus": dataset.fingerprint,
        # Corpus entries and distractors are plain text, which the text converter turns into
        # Markdown whatever the conversion options (OCR, tables...): only its version matters.
        "converter": CONVERTER_VERSION,
        "chunk": options.chunk.model_dump(mode="json"),
        "embed": {"kind": options.embed.kind, "model": options.embed.model},
        "fts": {
            "languages": list(options.store.fts_languages),
            "stem": options.store.fts_stem,
        },
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def build_eval_index(
    dataset: BeirDataset,
    options: StageOptions,
    *,
    cache_root: Path,
    rebuild: bool = False,
    on_result: Callable[[IngestResult], None] | None = None,
) -> EvalIndex:
    """The cached index for ``dataset`` under ``options``, ingesting it first when needed."""
    key = index_key(dataset, options)
    # Named by the key alone: the same corpus under another --name label is the same index.
    path = cache_root / f"index-{key[:16]}"
    manifest_path = path / MANIFEST
    if rebuild and path.exists():
        shutil.rmtree(path)
    store = options.store.model_copy(update={"uri": str(path)})
    archive = Archive(options._replace(store=store))
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("key") == key and manifest.get("complete"):
            _regroup(archive, manifest, manifest_path)
            return EvalIndex(
                archive=archive,
                path=path,
                key=key,
                doc_map=manifest["doc_map"],
                documents=manifest["documents"],
                failed=manifest["failed"],
                build_seconds=manifest["build_seconds"],
                reused=True,
            )
    return _ingest(archive, dataset, path, key, on_result)


def _variant_settings(archive: Archive) -> dict[str, object]:
    """What the groups of versions depend on besides the text: options and LSH keys."""
    return {**archive.options.store.variants.model_dump(mode="json"), "keys": KEYS_VERSION}


def _regroup(archive: Archive, manifest: dict[str, object], manifest_path: Path) -> None:
    """Group the versions again when the index was grouped under other options (or before
    grouping existed): seconds from the stored text, where a rebuild takes minutes."""
    wanted = _variant_settings(archive)
    if manifest.get("variants") == wanted:
        return
    t0 = time.perf_counter()
    placed = archive.store.variants.recluster()
    log.info("grouped the versions of %d documents in %.0f s", placed, time.perf_counter() - t0)
    manifest["variants"] = wanted
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _ingest(
    archive: Archive,
    dataset: BeirDataset,
    path: Path,
    key: str,
    on_result: Callable[[IngestResult], None] | None,
) -> EvalIndex:
    path.mkdir(parents=True, exist_ok=True)
    pairs = list(eval_sources(dataset))
    doc_map: dict[str, list[str]] = {}
    for src, ident in pairs:
        doc_map.setdefault(src.doc_id, []).append(ident)
    t0 = time.perf_counter()
    results: list[IngestResult] = []
    for start in range(0, len(pairs), BATCH):
        batch = [src for src, _ in pairs[start : start + BATCH]]
        results += archive.ingest(batch, on_result=on_result)
        # Each document is a few small writes, and every lookup scans all fragments: compacting
        # between batches keeps ingestion linear instead of quadratic in the corpus size.
        archive.store.chunks.optimize()
        archive.store.documents.optimize()
    seconds = time.perf_counter() - t0
    failed = [f"{r.uri}: {r.reason}" for r in results if r.action == "failed"]
    manifest = {
        "key": key,
        "dataset": dataset.name,
        "complete": True,
        "documents": len(pairs),
        "failed": failed,
        "build_seconds": round(seconds, 1),
        "doc_map": doc_map,
        "variants": _variant_settings(archive),
    }
    (path / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    log.info("indexed %d documents for %s in %.0f s", len(pairs), dataset.name, seconds)
    return EvalIndex(archive, path, key, doc_map, len(pairs), failed, seconds, reused=False)
