"""Versions of one story in the index: their ``cluster_id`` in the ``documents`` table, kept
right as documents come and go, and looked up by searches.

- **Write** (``VariantIndex.plan`` then ``relabel``): each new document's candidates are the
  documents of its collection that share one of its LSH keys (``variant_keys``, a LABEL_LIST
  indexed column, so any process, in any run, finds what earlier ones wrote) and, for
  translations, the documents in other languages nearest to its mean vector; the tests of
  ``pipeline.store.minhash`` decide. A document that links two groups merges them (groups are
  connected components, whatever the order documents come in); the merged group keeps the
  smallest existing label, so labels rarely change.
- **Delete** (``split``): a group that lost a member is checked again, and splits when the
  member held it together.
- **Read**: a search reads the group, date and arrival of the documents it found, then the
  other versions of the groups it shows (``pipeline.store.versions``, on the search path);
  ``rows_of`` gives a group's rows for ``documents show``.
- **Rebuild** (``recluster``): every group worked out again from the stored text, after the
  options change or for an index made before documents were grouped.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from pipeline.models import DocumentRecord, VariantOptions
from pipeline.store.minhash import (
    Fingerprint,
    contained,
    fingerprint,
    near_identical,
    retold,
    translated,
)
from pipeline.store.schema import sql_str
from pipeline.store.versions import CLUSTER, GROUPED, oldest_first

log = logging.getLogger(__name__)

KEYS = "variant_keys"
MAX_KEYED = 200  # documents sharing a key with a new one that are looked at, at most
MAX_CANDIDATES = 50  # of those, the ones sharing most keys are compared with it
TRANSLATION_PROBES = 20  # nearest chunks in other languages looked at for a translation
MAX_SPLIT = 500  # a group larger than this is not checked again after a delete
_NEIGHBOUR_COLUMNS = ["doc_id", CLUSTER, "language", "date", "collection", "markdown"]

Commit = Callable[[str, Callable[[], Any], Any], Any]


class NewDocument(NamedTuple):
    """A document about to be written, as grouping sees it."""

    doc_id: str
    collection: str
    language: str | None
    date: dt.date | None
    markdown: str
    vector: np.ndarray | None  # the unit mean of its chunk vectors


class Placement(NamedTuple):
    """Where a batch goes: each document's group and keys, whether its group holds other
    documents (``grouped``), existing groups merged into others (old label → new label), and
    the stored groups that documents of the batch joined (``joined``: their members are marked
    grouped)."""

    clusters: dict[str, str]
    keys: dict[str, list[str]]
    relabel: dict[str, str]
    grouped: dict[str, bool]
    joined: frozenset[str]


def mean_vector(vectors: np.ndarray | None) -> np.ndarray | None:
    if vectors is None or not len(vectors):
        return None
    mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None


class _Node(NamedTuple):
    doc_id: str
    label: str | None  # its group, for a document already stored
    language: str | None
    date: dt.date | None
    print: Fingerprint
    vector: np.ndarray | None


class _Groups:
    """Union-find over node names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


class VariantIndex:
    """Grouping over one index's tables (the store's synchronous LanceDB tables)."""

    def __init__(self, documents: Any, chunks: Any, opts: VariantOptions, commit: Commit) -> None:
        self.documents = documents
        self.chunks = chunks
        self.opts = opts
        self._commit = commit

    # --- writes ---

    def place(self, batch: Sequence[tuple[DocumentRecord, np.ndarray | None]]) -> Placement | None:
        """The groups the documents about to be written join (their records and chunk
        vectors); None when grouping is off or none has text."""
        if not self.opts.enabled:
            return None
        docs = [
            NewDocument(r.doc_id, r.collection, r.language, r.date, r.markdown, mean_vector(v))
            for r, v in batch
            if r.status != "failed" and r.markdown.strip()
        ]
        return self.plan(docs) if docs else None

    def plan(self, batch: Sequence[NewDocument]) -> Placement:
        """The groups of ``batch``'s documents (compared with the index and with each other)."""
        groups, nodes = _Groups(), dict[str, _Node]()
        prints = {d.doc_id: fingerprint(d.markdown) for d in batch}
        collection = {d.doc_id: d.collection for d in batch}  # a batch may span collections
        for doc in batch:
            node = _Node(doc.doc_id, None, doc.language, doc.date, prints[doc.doc_id], doc.vector)
            for other in self._stored_neighbours(doc, node.print, exclude=prints):
                nodes.setdefault(other.doc_id, other)
                if self._linked(node, other):
                    groups.union("doc:" + doc.doc_id, _name(other))
            for earlier in nodes.values():
                mine = collection.get(earlier.doc_id) == doc.collection
                if earlier.label is None and mine and self._linked(node, earlier):
                    groups.union("doc:" + doc.doc_id, "doc:" + earlier.doc_id)
            nodes[doc.doc_id] = node
        return _placement(batch, nodes, groups, prints)

    def settle(self, placed: Placement) -> None:
        """After a placement's rows are written: merge the groups it links (``relabel``) and
        mark the members of the stored groups it joined as grouped."""
        self.relabel(placed.relabel)
        if placed.joined:
            where = " OR ".join(_labelled(label) for label in sorted(placed.joined))
            self._update("mark variants", f"({where}) AND {GROUPED} IS NOT TRUE", {GROUPED: True})

    def relabel(self, relabel: dict[str, str]) -> None:
        """Merge groups: every document labelled ``old`` (or, unlabelled, named ``old``) gets
        ``new``."""
        for old, new in relabel.items():
            self._update("merge variants", _labelled(old), {CLUSTER: new, GROUPED: True})

    def split(self, cluster_id: str) -> None:
        """After a member left: relabel the parts of ``cluster_id`` that no longer hold together.
        The part with the most members (then the one holding the label's document) keeps it."""
        where = f"{CLUSTER} = {sql_str(cluster_id)}"
        rows = self.documents.search().where(where).select(_NEIGHBOUR_COLUMNS)
        members = rows.limit(MAX_SPLIT + 1).to_list()
        if len(members) == 1:  # the last one left: a story of its own
            self._update("mark variants", _ids(members[0]["doc_id"]), {GROUPED: False})
        if len(members) < 2:
            return
        if len(members) > MAX_SPLIT:
            log.info("group %s has over %d documents: not checked again", cluster_id, MAX_SPLIT)
            return
        vectors = self._vectors([m["doc_id"] for m in members])
        nodes = [_stored_node(m, vectors.get(m["doc_id"])) for m in members]
        groups = _Groups()
        for i, a in enumerate(nodes):
            groups.find(a.doc_id)
            for b in nodes[i + 1 :]:
                if self._linked(a, b):
                    groups.union(a.doc_id, b.doc_id)
        parts: dict[str, list[str]] = {}
        for node in nodes:
            parts.setdefault(groups.find(node.doc_id), []).append(node.doc_id)
        if len(parts) < 2:
            return
        ordered = sorted(parts.values(), key=lambda p: (-len(p), cluster_id not in p, min(p)))
        for part in ordered[1:]:
            values = {CLUSTER: min(part), GROUPED: len(part) > 1}
            self._update("split variants", _ids(*part), values)
        if len(ordered[0]) == 1:  # the part that keeps the label is one document
            self._update("mark variants", _ids(*ordered[0]), {GROUPED: False})

    def recluster(self, *, batch: int = 200) -> int:
        """Every group worked out again from the stored text, in arrival order (none when
        grouping is off); returns the number of documents placed."""
        table = self.documents
        self._commit(
            "reset variants",
            lambda: table.update(
                where=f"{KEYS} IS NOT NULL OR {CLUSTER} IS NOT NULL OR {GROUPED} IS NOT NULL",
                values_sql={KEYS: "NULL", CLUSTER: "NULL", GROUPED: "NULL"},
            ),
            table,
        )
        if not self.opts.enabled:
            return 0
        columns = ["doc_id", "collection", "language", "date", "markdown", "status", "ingested_at"]
        rows = table.search().where("status != 'failed'").select(columns).limit(None).to_list()
        rows.sort(
            key=lambda r: (r["ingested_at"] or dt.datetime.min.replace(tzinfo=dt.UTC), r["doc_id"])
        )
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            vectors = self._vectors([r["doc_id"] for r in part])
            docs = [
                NewDocument(
                    r["doc_id"],
                    r["collection"],
                    r["language"],
                    r["date"],
                    r["markdown"] or "",
                    vectors.get(r["doc_id"]),
                )
                for r in part
            ]
            placed = self.plan(docs)
            self.write_placement(placed)
            self.settle(placed)
        return len(rows)

    def write_placement(self, placed: Placement) -> None:
        """Store the groups and keys of documents already written (``recluster``)."""
        schema = pa.schema(
            [("doc_id", pa.string()), (CLUSTER, pa.string()), (KEYS, pa.list_(pa.string())),
             (GROUPED, pa.bool_())]
        )  # fmt: skip
        rows = [
            {"doc_id": d, CLUSTER: c, KEYS: placed.keys[d], GROUPED: placed.grouped[d]}
            for d, c in placed.clusters.items()
        ]
        data, table = pa.Table.from_pylist(rows, schema=schema), self.documents
        self._commit(
            "write variants",
            lambda: table.merge_insert("doc_id").when_matched_update_all().execute(data),
            table,
        )

    # --- reads ---

    def rows_of(self, cluster_id: str | None, *, exclude: str) -> list[dict[str, Any]]:
        """The ``documents`` rows of a group but ``exclude``'s (no Markdown, no keys), oldest
        first (by date, then arrival)."""
        if cluster_id is None:
            return []
        where = f"{CLUSTER} = {sql_str(cluster_id)} AND doc_id != {sql_str(exclude)}"
        columns = [n for n in self.documents.schema.names if n not in ("markdown", KEYS)]
        rows = self.documents.search().where(where).select(columns).limit(None).to_list()
        return sorted(rows, key=oldest_first)

    # --- plumbing ---

    def _update(self, what: str, where: str, values: dict[str, Any]) -> None:
        update = functools.partial(self.documents.update, where=where, values=values)
        self._commit(what, update, self.documents)

    def _linked(self, a: _Node, b: _Node) -> bool:
        if near_identical(a.print, b.print, self.opts):
            return True
        if a.date and b.date and abs((a.date - b.date).days) <= self.opts.max_days:
            if contained(a.print, b.print, self.opts):
                return True
            if a.language == b.language and retold(a.print, b.print, self.opts):
                return True
        if not (a.language and b.language) or a.language == b.language:
            return False
        if a.vector is None or b.vector is None:
            return False
        return translated(a.print, b.print, float(a.vector @ b.vector), self.opts)

    def _stored_neighbours(
        self, doc: NewDocument, print_: Fingerprint, *, exclude: Iterable[str]
    ) -> list[_Node]:
        """Stored documents of ``doc``'s collection that may be its versions: the
        ``MAX_CANDIDATES`` sharing most LSH keys with it, and the nearest ones in other
        languages."""
        if not print_.keys:
            return []
        keys = ", ".join(sql_str(k) for k in print_.keys)
        scope = f"collection = {sql_str(doc.collection)}"
        where = f"{scope} AND array_has_any({KEYS}, [{keys}])"
        q = self.documents.search().where(where).select([*_NEIGHBOUR_COLUMNS, KEYS])
        probe = doc.vector is not None and (doc.language or print_.brief)
        with ThreadPoolExecutor(1) as pool:  # both queries at once
            nearest = (
                pool.submit(self._nearest, doc, scope, anywhere=print_.brief) if probe else None
            )
            keyed_rows = q.limit(MAX_KEYED).to_list()
            near = nearest.result() if nearest is not None else []
        mine, excluded = set(print_.keys), set(exclude)
        keyed = [r for r in keyed_rows if r["doc_id"] not in excluded]
        keyed.sort(key=lambda r: -len(mine.intersection(r[KEYS] or ())))
        found = {r["doc_id"]: r for r in keyed[:MAX_CANDIDATES]}
        if near:
            missing = [d for d in near if d not in found and d not in excluded]
            if missing:
                listed = ", ".join(sql_str(d) for d in missing)
                where = f"doc_id IN ({listed}) AND {KEYS} IS NOT NULL"  # placed already
                rows = self.documents.search().where(where).select(_NEIGHBOUR_COLUMNS)
                found |= {r["doc_id"]: r for r in rows.limit(None).to_list()}
        others = [d for d, r in found.items() if r["language"] != doc.language]
        vectors = self._vectors(others)
        return [_stored_node(r, vectors.get(r["doc_id"])) for r in found.values()]

    def _nearest(self, doc: NewDocument, scope: str, *, anywhere: bool) -> list[str]:
        """Documents with chunks nearest to ``doc``'s vector: in other languages (its
        translations), or in any language for a brief (its lead may have reworded it)."""
        where = scope
        if not anywhere:
            where += f" AND language IS NOT NULL AND language != {sql_str(doc.language or '')}"
        q = self.chunks.search(doc.vector, vector_column_name="vector").distance_type("cosine")
        rows = (
            q.where(where, prefilter=True).select(["doc_id", "_distance"]).limit(TRANSLATION_PROBES)
        )
        return list(dict.fromkeys(r["doc_id"] for r in rows.to_list()))

    def _vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each document's unit mean chunk vector."""
        if not doc_ids:
            return {}
        where = _ids(*doc_ids)
        rows = self.chunks.search().where(where).select(["doc_id", "vector"]).limit(None)
        per_doc: dict[str, list[Any]] = {}
        for r in rows.to_list():
            per_doc.setdefault(r["doc_id"], []).append(r["vector"])
        means = {d: mean_vector(np.asarray(v, dtype=np.float32)) for d, v in per_doc.items()}
        return {d: v for d, v in means.items() if v is not None}


def _stored_node(row: dict[str, Any], vector: np.ndarray | None) -> _Node:
    label = row.get(CLUSTER) or row["doc_id"]
    text = row.get("markdown") or ""
    return _Node(
        row["doc_id"],
        label,
        row.get("language"),
        row.get("date"),
        fingerprint(text, keys=False),
        vector,
    )


def _ids(*doc_ids: str) -> str:
    return f"doc_id IN ({', '.join(sql_str(d) for d in doc_ids)})"


def _labelled(label: str) -> str:
    """The filter of a group's documents: labelled ``label``, or unlabelled and named so."""
    return f"{CLUSTER} = {sql_str(label)} OR ({CLUSTER} IS NULL AND doc_id = {sql_str(label)})"


def _name(node: _Node) -> str:
    return "label:" + node.label if node.label is not None else "doc:" + node.doc_id


def _placement(
    batch: Sequence[NewDocument],
    nodes: dict[str, _Node],
    groups: _Groups,
    prints: dict[str, Fingerprint],
) -> Placement:
    labels: dict[str, set[str]] = {}  # root → the stored groups in it
    for node in nodes.values():
        if node.label is not None:
            labels.setdefault(groups.find(_name(node)), set()).add(node.label)
    chosen: dict[str, str] = {}
    relabel: dict[str, str] = {}
    for root, found in labels.items():
        chosen[root] = min(found)
        relabel |= {old: chosen[root] for old in found if old != chosen[root]}
    clusters, roots = {}, {}
    for doc in batch:  # in batch order: a new group is named after its first document
        roots[doc.doc_id] = root = groups.find("doc:" + doc.doc_id)
        clusters[doc.doc_id] = chosen.setdefault(root, doc.doc_id)
    new = Counter(roots.values())  # documents of the batch per group
    grouped = {d: root in labels or new[root] > 1 for d, root in roots.items()}
    joined = frozenset(chosen[root] for root in new if root in labels)
    keys = {d.doc_id: list(prints[d.doc_id].keys) for d in batch}
    return Placement(clusters, keys, relabel, grouped, joined)
