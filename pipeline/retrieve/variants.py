"""One hit per story: the versions of a document (grouped at ingest, ``pipeline.store.variants``)
give way to one of them, and the others are listed on its hit.

Which version stands for the story: of those the search found, one in the question's language
when there is one (a translation is for readers of the other language); of those the newest,
since a later version (an update, a correction) carries what the earlier ones said and fixes
what they got wrong: the latest date, then, between versions of one day, the latest to arrive
in the index (dates are days; a feed delivers a story's versions in the order they were sent).
Undated versions have no newest: the one the search ranked best stands for them. A date
filter (the caller's, or the question's own dates) has already kept out the versions outside
its range, so the one shown is the newest within it. The story keeps the place of its
best-ranked version, so grouping never pushes a story down: it only frees the places its other
versions took for other stories.

The documents' stories come with the search's candidates (``Searched.members``, read with their
visibility and, for most stories, their versions: ``Searched.versions``), while the rows a
search without groups would show are read (``pipeline.store.query``); grouping adds no read to
the search's way unless it shows a chunk beyond those rows or a story named after a document the
search did not find.

>>> shown = group_variants(fused, doc_of, members, limit=10)   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pipeline.retrieve.fusion import Fusion
from pipeline.store.versions import Member


def group_variants(
    fused: Fusion,
    doc_of: Mapping[str, str],
    members: Mapping[str, Member],
    limit: int,
    *,
    language: str | None = None,
) -> Fusion:
    """``fused`` (chunk ids, best first, deeper than ``limit``) with the chunks of every story's
    other versions left out, cut to ``limit``. ``members`` are the candidates' documents (a
    document missing there is its own story); ``language`` (the question's: ``fr``, ``en``)
    is preferred among the versions."""
    docs = [doc_of[key] for key in fused.ids]

    def story(doc: str) -> str:
        member = members.get(doc)
        return member.cluster_id if member else doc

    shown: dict[str, str] = {}  # story → the document that stands for it
    for doc in dict.fromkeys(docs):  # best-ranked first: a later one must be strictly better
        current = shown.get(story(doc))
        if current is None or _rank(members.get(doc), language) > _rank(
            members.get(current), language
        ):
            shown[story(doc)] = doc
    first: dict[str, int] = {}  # story → position of its shown document's best chunk
    for i, doc in enumerate(docs):
        if shown[story(doc)] == doc:
            first.setdefault(doc, i)
    picks: list[tuple[int, int]] = []  # (place taken, chunk shown there)
    placed: set[str] = set()
    for i, doc in enumerate(docs):
        name = story(doc)
        if name not in placed:  # the story's first place: its shown document's best chunk
            placed.add(name)
            picks.append((i, first[shown[name]]))
        elif doc == shown[name] and i != first[doc]:
            picks.append((i, i))
    picks = picks[:limit]
    return Fusion(
        ids=[fused.ids[j] for _, j in picks],
        scores=[fused.scores[i] for i, _ in picks],
        ranks=[fused.ranks[j] for _, j in picks],
    )


def _rank(member: Member | None, language: str | None) -> tuple[bool, dt.date, dt.datetime]:
    """How well a version stands for its story: in the question's language, then newest (by
    arrival only between dated versions of one day)."""
    if member is None or member.date is None:
        return (member is not None and member.language == language, dt.date.min, _NEVER)
    arrived = member.ingested_at or _NEVER
    return (language is not None and member.language == language, member.date, arrived)


_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)
