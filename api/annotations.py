"""OpenAI ``url_citation`` annotations for the ``[n]`` marks of a chat answer.

OpenAI clients that show citations (chat UIs; the ``openai`` SDK's ``message.annotations``) read
``choices[].message.annotations``: one entry per mark, ``content[start_index:end_index]`` being
the mark, ``url`` the cited page: its ``page_image`` (``api.page_images``, the page as PNG under
the document's key and collection checks).

>>> c = Citation(n=1, doc_id="ab12", title="Crue", source="/data/crue.pdf", page_start=2,
...              page_end=2, chunk_id="ab12-0001", quote="6,82 m")
>>> cited = CitationOut.all([c], base_url="http://h:8000/")
>>> [a.url_citation.url for a in url_annotations("Elle monte [1].", cited)]
['http://h:8000/v1/documents/ab12/pages/2.png']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from api.openai_schemas import Annotation, UrlCitation
from api.schemas import CitationOut
from pipeline.models import Citation

_MARK = re.compile(r"\[(\d+)\]")


def file_name(citation: Citation) -> str:
    """The cited source's file name (the document id's start when it has none)."""
    return citation.source.rstrip("/").rsplit("/", 1)[-1] or citation.doc_id[:12]


def pages_text(citation: Citation) -> str:
    """``", p. 3"``, ``", pp. 3-4"``, or nothing when the page is not known."""
    if citation.page_start is None:
        return ""
    if citation.page_end in (None, citation.page_start):
        return f", p. {citation.page_start}"
    return f", pp. {citation.page_start}-{citation.page_end}"


def citation_title(citation: Citation) -> str:
    """A short label: the title (else the file name), and the page or pages."""
    return (citation.title or file_name(citation)) + pages_text(citation)


def url_annotations(content: str, citations: Sequence[CitationOut]) -> list[Annotation]:
    """One ``url_citation`` per ``[n]`` mark of ``content`` that names a citation, in order."""
    by_number = {c.n: c for c in citations}
    out = []
    for mark in _MARK.finditer(content):
        cited = by_number.get(int(mark.group(1)))
        if cited is None or cited.page_image is None:
            continue
        out.append(
            Annotation(
                url_citation=UrlCitation(
                    url=cited.page_image,
                    title=citation_title(cited),
                    start_index=mark.start(),
                    end_index=mark.end(),
                )
            )
        )
    return out
