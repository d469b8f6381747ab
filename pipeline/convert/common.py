"""Pieces every converter shares: the version stamp, text clean-up, status and metadata rules.

Kept apart from ``pipeline.convert`` itself so that the PDF and text converters can import it
without a cycle through the package's dispatcher.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import PurePosixPath

from pipeline.dates.document import parse_date as parse_date  # metadata dates, shared
from pipeline.lang import detect_language
from pipeline.models import DocumentStatus, PageResult, SourceDocument, SourceMetadata

CONVERTER_VERSION = "archivist-convert/0.2"

# Presentation forms some fonts map their ligature glyphs to; NFC leaves them alone and NFKC
# would also rewrite superscripts, fractions and the like, so only these are expanded.
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
        "\u00a0": " ",  # no-break space: a space for search and chunking
        "\u00ad": "",  # soft hyphen: an invisible break opportunity, never text
        "\ufeff": "",
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u2000-\u200a\u202f\u205f\u3000]+")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


# Spacing accents that TeX and old producers draw as separate glyphs before the letter they
# sit on ("J´an Min´aˇc"): each becomes the combining accent after that letter ("Ján Mináč").
_SPACING_ACCENTS = {
    "\u00b4": "\u0301",  # acute
    "\u02c7": "\u030c",  # caron
    "\u00a8": "\u0308",  # diaeresis
    "\u02dc": "\u0303",  # tilde
    "\u02c6": "\u0302",  # circumflex
    "\u02d8": "\u0306",  # breve
    "\u02d9": "\u0307",  # dot above
    "\u02da": "\u030a",  # ring above
    "\u02dd": "\u030b",  # double acute
    "\u02cb": "\u0300",  # grave
    "\u00af": "\u0304",  # macron
}
_ACCENT_BEFORE = re.compile("([" + "".join(_SPACING_ACCENTS) + r"])\s?([^\W\d_])")


def _attach_accent(match: re.Match[str]) -> str:
    # Only where the pair is a real letter ("é", "č"): "don´t" keeps its odd apostrophe.
    combined = unicodedata.normalize("NFC", match.group(2) + _SPACING_ACCENTS[match.group(1)])
    return combined if len(combined) == 1 else match.group(0)


def normalize_text(text: str, *, collapse_spaces: bool = True) -> str:
    """NFC, ligatures expanded, control characters dropped, runs of spaces collapsed.

    Code keeps its spacing (``collapse_spaces=False``): indentation and alignment are meaning.

    >>> normalize_text("e\u0301tude  de\ufb01nitive")
    'étude definitive'
    """
    text = _ACCENT_BEFORE.sub(_attach_accent, text.translate(_LIGATURES))
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text))
    return _SPACES.sub(" ", text) if collapse_spaces else text


def document_status(pages: Sequence[PageResult], *, damaged: bool = False) -> DocumentStatus:
    """``failed`` when no page converted, ``partial`` when some page needs OCR or failed.

    Blank pages (``empty``) are a fact about the document, not a loss, so they do not count.
    """
    if pages and all(p.status == "failed" for p in pages):
        return "failed"
    if damaged or any(p.status in ("failed", "needs_ocr") for p in pages):
        return "partial"
    return "ok"


def first_heading(markdown: str) -> str | None:
    """The text of the first ATX heading (``# Title``) in ``markdown``, if any."""
    match = _HEADING.search(markdown)
    return match.group(1).strip() if match else None


def finish_metadata(src: SourceDocument, found: SourceMetadata, markdown: str) -> SourceMetadata:
    """Source metadata, completed by what the document says, then by the text itself.

    The connector's values win; a missing title falls back to the first heading and then to the
    file name's stem; a missing language is detected from the text.
    """
    meta = src.metadata.merged(found)
    updates: dict[str, object] = {}
    if not meta.title:
        updates["title"] = first_heading(markdown) or PurePosixPath(src.name).stem or src.name
    if not meta.language:
        updates["language"] = detect_language(markdown)
    return meta.model_copy(update=updates) if updates else meta


def page_anchor(page: int) -> str:
    """The comment line that marks where page ``page`` (1-based) starts in a document's Markdown."""
    return f"<!-- page {page} -->"


def join_pages(pages: Sequence[PageResult]) -> str:
    """The document's Markdown: each page's Markdown preceded by its anchor line."""
    parts = []
    for page in pages:
        body = page.markdown.strip("\n")
        parts.append(f"{page_anchor(page.page)}\n{body}" if body else page_anchor(page.page))
    return "\n\n".join(parts) + "\n"
