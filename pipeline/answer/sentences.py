"""Sentences and content words, for French and English archive text.

The offline answerer quotes whole sentences, and citations quote the sentence of a chunk that best
matches what the answer says. Both need a splitter that survives the abbreviations of a press
archive ("M. Dupont", "Dr. Smith", "p. 12", "n° 5", "3.5 %", "J. R. R. Tolkien") and a word
normaliser that matches "grèves" with "Grève" and "strikes" with "striking".

>>> [s.text for s in split_sentences("M. Dupont est arrivé. Il a parlé 2.5 heures.")]
['M. Dupont est arrivé.', 'Il a parlé 2.5 heures.']
>>> sorted(content_terms("Why did the dockers go on strike in 2023?"))
['2023', 'dock', 'go', 'strik']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple


# Words before a period that do not end a sentence (folded, without the period). Single letters
# (initials, "M." for Monsieur) are handled apart.
def _words(text: str) -> tuple[str, ...]:
    """Space-separated word lists read better than hundreds of quoted literals."""
    return tuple(text.split())


_ABBREVIATIONS = frozenset(
    _words(
        "mm mme mmes mlle mlles dr drs pr prof me mgr st ste mr mrs ms jr sr p pp n no nos art al"
        " cf vol ch chap fig ed eds env approx av apr j-c vs ca op cit ibid sq hab tel dept etc"
        " janv fevr avr juil sept oct nov dec jan feb mar aug"
    )
) - {"etc"}  # "etc." ends sentences more often than not

_PAGE_ANCHOR = re.compile(r"<!--\s*page\s+(\d+)\s*-->", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
# A candidate boundary: end punctuation (and closing quotes), whitespace, then what may start a
# sentence. The word before the punctuation decides whether it really is one.
_BOUNDARY = re.compile(r"([.!?…]+[»”\"')\]]*)\s+(?=[«“\"'(\[]?\s*[A-ZÀ-ÖØ-Þ0-9])")
_LAST_WORD = re.compile(r"([^\s(«“\"']+)$")

MIN_SENTENCE_WORDS = 4
# Running headers and footers ("Agence X – dépêche du 12 mai 1983 – page 1/2") repeat the
# document's date and name, so they match questions well while saying nothing.
_PAGE_FOOTER = re.compile(r"\bpage\s+\d+\s*(?:/|of|sur|de)\s*\d+\b", re.IGNORECASE)


class Sentence(NamedTuple):
    """A sentence of a chunk: its text, its position in the chunk and the page it sits on."""

    text: str
    position: int
    page: int | None


def split_sentences(markdown: str, *, first_page: int | None = None) -> list[Sentence]:
    """Sentences of a chunk's Markdown, without heading, table-rule or emphasis syntax.

    ``<!-- page N -->`` anchors move the page forward, so a quote cites its own page inside a chunk
    that spans two. Headings are dropped (they are labels, not evidence); a table row becomes one
    sentence of ``header: cell`` pairs so a figure keeps its meaning.

    >>> text = "A first one here. <!-- page 5 --> A second one here."
    >>> [s.page for s in split_sentences(text, first_page=4)]
    [4, 5]
    """
    out: list[Sentence] = []
    page = first_page
    for block, block_page in _page_blocks(markdown, page):
        for line in _clean_lines(block):
            for text in _split_line(line):
                if len(text.split()) >= MIN_SENTENCE_WORDS and not _PAGE_FOOTER.search(text):
                    out.append(Sentence(text, len(out), block_page))
    return out


def _page_blocks(markdown: str, page: int | None) -> Iterable[tuple[str, int | None]]:
    pos = 0
    for m in _PAGE_ANCHOR.finditer(markdown):
        yield markdown[pos : m.start()], page
        page, pos = int(m.group(1)), m.end()
    yield markdown[pos:], page


def _clean_lines(block: str) -> list[str]:
    """Paragraph-like lines: a blank line or a list item always ends a sentence."""
    block = _COMMENT.sub(" ", block)
    lines: list[str] = []
    header: list[str] | None = None
    para: list[str] = []
    for raw in block.splitlines():
        line = raw.strip()
        if line.startswith("|") and line.count("|") >= 2:
            if _TABLE_RULE.match(line):
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
                continue
            lines.append(_table_row(header, cells))
            continue
        header = None
        if not line or _HEADING.match(line) or _BULLET.match(line):
            lines.append(" ".join(para))
            para = []
            if _BULLET.match(line):
                para = [_BULLET.sub("", line)]
            continue
        para.append(line)
    lines.append(" ".join(para))
    return [_strip_inline(line) for line in lines if line.strip()]


def _table_row(header: list[str], cells: list[str]) -> str:
    pairs = [f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=False) if c]
    return "; ".join(pairs) + "."


def _strip_inline(text: str) -> str:
    text = _IMAGE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def _split_line(line: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(line):
        before = line[start : m.start()]
        if m.group(1).startswith(".") and _is_abbreviation(before):
            continue
        pieces.append(line[start : m.end(1)].strip())
        start = m.end()
    pieces.append(line[start:].strip())
    return [p for p in pieces if p]


def _is_abbreviation(before: str) -> bool:
    m = _LAST_WORD.search(before)
    if not m:
        return False
    word = fold(m.group(1)).rstrip(".")
    # "J.-C", "U.S", "p" and single initials ("M.", "J. R. R.") never end a sentence.
    if len(word) == 1:
        return word.isalpha()
    return "." in word or word in _ABBREVIATIONS or word.endswith("°")


# --- words -------------------------------------------------------------------------------------

_STOPWORDS = frozenset(
    _words(
        # French (folded)
        "le la les l un une des du de d et est sont etait etaient ete etre au aux ce c cet cette"
        " ces qui que qu quoi dont ou pour par sur sous dans en avec sans pas plus ne n il elle ils"
        " elles nous vous on je j tu se s sa son ses leur leurs lui y a ont avait avaient aura fait"
        " faire comme mais donc car entre apres avant depuis selon lors quel quelle quels quelles"
        " comment pourquoi quand combien est-ce ceci cela ca tout tous toute toutes tres aussi"
        " autre autres meme deja encore ainsi alors si m mon ma mes notre nos votre vos dit a-t-il"
        " y-a-t-il t"
        # English
        " the a an and is are was were of to in on for with by at from that this these those which"
        " who whom whose what when where why how it its be been being has have had having not or"
        " but as their they them he she his her we you your our will would there after before since"
        " between during do does did can could should shall may might must about into than then so"
        " any all some many much more most such only also very just s t i me my us"
    )
)

_NUMBER = r"\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?![\d])|\d+(?:[.,]\d+)*"
_TOKEN = re.compile(rf"{_NUMBER}|[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
_SUFFIXES = _words(  # longest first: the first that fits is stripped
    "issements issement ements ement ations ation ments ment ingly ings ing edly euses euse"
    " eurs eur ives ive ers er ies ied ed es s x e"
)


def fold(text: str) -> str:
    """Lower case without accents: "Grève" and "greve" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def stem(word: str) -> str:
    """A light stem: strip the longest common French or English suffix, keeping 3+ letters."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_terms(text: str) -> set[str]:
    """Stemmed, folded content words and canonical numbers ("1 500", "1,500" → "1500")."""
    terms: set[str] = set()
    for tok in _TOKEN.findall(fold(text)):
        if tok[0].isdigit():
            terms.add(re.sub(r"[^\d]", "", tok))
            continue
        for part in tok.split("-"):
            if len(part) > 1 and part not in _STOPWORDS:
                terms.add(stem(part))
    return terms


def term_weight(term: str) -> float:
    """Numbers (years, amounts) are the strongest evidence a sentence answers the question."""
    return 2.0 if term[0].isdigit() else 1.0


def lexical_overlap(query_terms: set[str], sentence_terms: set[str]) -> float:
    """Weighted share of the query's terms found in the sentence (0..1).

    A shared prefix of 5+ letters counts for most of a match ("réclament" → "recla" ~ "reclam").
    One term shared with a longer question is chance ("point" in "boiling point of mercury" and
    "six points"; "1998" in a question about the Tour de France and a page footer dated 1998), so
    a lone match among 3+ terms counts half.

    >>> round(lexical_overlap({"boil", "point", "mercury"}, {"six", "point"}), 3)
    0.167
    """
    if not query_terms:
        return 0.0
    total = sum(term_weight(t) for t in query_terms)
    got, matched = 0.0, 0
    for term in query_terms:
        if term in sentence_terms:
            got += term_weight(term)
            matched += 1
        elif not term[0].isdigit() and any(_prefix_match(term, s) for s in sentence_terms):
            got += 0.7 * term_weight(term)
            matched += 1
    share = got / total
    return share if matched >= 2 or len(query_terms) <= 2 else share / 2


def _prefix_match(a: str, b: str) -> bool:
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 5 and long_.startswith(short)
