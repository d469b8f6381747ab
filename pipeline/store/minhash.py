"""Versions of one text, told apart from other texts: word shingles, MinHash LSH keys, and the
tests that decide whether two documents are versions of one story.

A wire story comes in versions: an urgent of one or two sentences, a first lead that opens with
it, an update that rewrites the top and keeps the body, a correction that repeats everything with
one figure fixed, a translation. Two documents are versions of each other when:

- **near-identical**: the Jaccard similarity of their word 3-shingles is at least
  ``VariantOptions.similarity`` (a correction, an update that keeps most of the text, sibling
  pages of a website);
- **contained**: at least ``VariantOptions.containment`` of the shorter one's shingles are in the
  longer one, the shorter having ``min_words`` words or more (an urgent inside its lead, an
  update that rewrote the top and kept the body), and both are dated within
  ``VariantOptions.max_days`` of each other: pages of a website share whole paragraphs of
  boilerplate without being versions of anything, and this month's rate decision is written in
  last month's mould; a story's versions come out within days;
- **translated**: other languages, document vectors closer than
  ``VariantOptions.translation_similarity`` (a multilingual embedder puts translations together),
  and the same numbers: at least ``MIN_NUMBERS`` in each, ``VariantOptions.numbers`` of the
  shorter list in the other. Figures and dates survive translation, and tell one story from
  another on the same subject.

Candidates come from keys stored in the ``documents`` table, so that two documents sharing one
are compared exactly: MinHash LSH band keys (``datasketch``) of the whole text and of its
opening words (``LEDE_WORDS``: an urgent is the opening of its lead), and a hash of each
paragraph (``PARAGRAPH_WORDS`` words or more, the first ``MAX_PARAGRAPHS``): an update that
rewrote the top keeps paragraphs of the body nearly word for word, while its whole text may be
too different for the band keys to meet. A brief's candidates also come from the vector index
(``pipeline.store.variants``): its lead may have rewritten it. The keys are a pure function of
the text, so they are the same in every process and every run.

>>> a = fingerprint("Le fleuve a débordé à Ashwick mardi, 4 100 personnes évacuées.")
>>> a.words
11
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from pipeline.models import VariantOptions

SHINGLE_WORDS = 3  # word n-grams: short enough for one-sentence urgents, long enough to be rare
NUM_PERM = 128  # MinHash permutations
LEDE_WORDS = 25  # about one lede sentence: the opening an urgent shares with its lead
LSH_THRESHOLD = 0.2  # band keys make candidates of pairs this similar (Jaccard) or more, mostly
SEED = 1  # MinHash permutations: fixed, so keys are the same in every process
PARAGRAPH_WORDS = 12  # shorter paragraphs (datelines, sign-offs, headings) are not keys
MAX_PARAGRAPHS = 30
PARAGRAPH_BANDS, PARAGRAPH_ROWS = 4, 4  # a paragraph 80 % the same shares a key 9 times in 10
BRIEF_WORDS = 60  # an urgent, a flash: one or two sentences
TERM_LETTERS = 4  # words this long or longer carry a brief's content
MIN_NUMBERS = 2  # a translation shares its figures and dates; fewer than this tells nothing
KEYS_VERSION = "v5"  # bump when the keys change: stored keys of older versions never match

_ANCHOR = re.compile(r"<!--.*?-->", re.DOTALL)  # page anchors and other comments
_WORD = re.compile(r"\w+")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3})*(?:[.,]\d+)?")


class Fingerprint(NamedTuple):
    """What the variant tests read from a document's text."""

    shingles: frozenset[str]
    words: int
    numbers: frozenset[str]
    keys: tuple[str, ...]  # LSH keys: whole text ("d…"), opening ("l…"), paragraphs ("p…")
    terms: frozenset[str]  # its words of ``TERM_LETTERS`` letters or more

    @property
    def brief(self) -> bool:
        return self.words <= BRIEF_WORDS


def plain_words(markdown: str) -> list[str]:
    """The words of a document's Markdown, lower case, accents kept (a correction of an accent
    is a new version of the same text)."""
    text = unicodedata.normalize("NFC", _ANCHOR.sub(" ", markdown)).lower()
    return _WORD.findall(text)


def shingles(words: list[str]) -> frozenset[str]:
    """The word 3-shingles of ``words`` (the text itself when it is shorter).

    >>> sorted(shingles(["a", "b", "c", "d"]))
    ['a b c', 'b c d']
    """
    if len(words) < SHINGLE_WORDS:
        return frozenset([" ".join(words)]) if words else frozenset()
    n = SHINGLE_WORDS
    return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


def numbers(markdown: str) -> frozenset[str]:
    """The numbers of a text, written the same in every language: separators dropped
    ("4,100", "4 100" and "4100" are one number; "6.82" and "6,82" too).

    >>> sorted(numbers("6.82 m on April 19, 2011; 4,100 évacués, 6,82 m"))
    ['19', '2011', '4100', '682']
    """
    found = (re.sub(r"\D", "", m) for m in _NUMBER.findall(_ANCHOR.sub(" ", markdown)))
    return frozenset(n.lstrip("0") or "0" for n in found)


def fingerprint(markdown: str, *, keys: bool = True) -> Fingerprint:
    """Shingles, numbers and candidate keys (unless ``keys`` is False: a stored document's are
    in the index already) of a document's Markdown."""
    words = plain_words(markdown)
    whole = shingles(words)
    found: tuple[str, ...] = ()
    if keys and whole:
        lede = shingles(words[:LEDE_WORDS])
        found = (*_band_keys(whole, "d"), *_band_keys(lede, "l"), *_paragraph_keys(markdown))
    terms = frozenset(w for w in words if len(w) >= TERM_LETTERS)
    return Fingerprint(whole, len(words), numbers(markdown), found, terms)


def _paragraph_keys(markdown: str) -> list[str]:
    """LSH keys of each paragraph: two paragraphs share one when nearly the same (a sentence
    trimmed, a figure corrected)."""
    from datasketch import MinHash

    keys: list[str] = []
    paragraphs = (plain_words(p) for p in _PARAGRAPHS.split(markdown))
    for words in [w for w in paragraphs if len(w) >= PARAGRAPH_WORDS][:MAX_PARAGRAPHS]:
        minhash = MinHash(num_perm=PARAGRAPH_BANDS * PARAGRAPH_ROWS, seed=SEED)
        minhash.update_batch([s.encode() for s in shingles(words)])
        values = np.asarray(minhash.hashvalues, dtype=np.uint64)
        for band in range(PARAGRAPH_BANDS):
            part = values[band * PARAGRAPH_ROWS : (band + 1) * PARAGRAPH_ROWS].tobytes()
            keys.append(f"{KEYS_VERSION}p{band}:{hashlib.blake2b(part, digest_size=8).hexdigest()}")
    return list(dict.fromkeys(keys))


def _lsh_shape() -> tuple[int, int]:
    """(bands, rows per band) for ``LSH_THRESHOLD`` and ``NUM_PERM``: datasketch's choice, which
    weighs missed pairs and false candidates equally."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    return lsh.b, lsh.r


_SHAPE: tuple[int, int] | None = None


def _band_keys(items: Iterable[str], kind: str) -> list[str]:
    from datasketch import MinHash

    global _SHAPE
    if _SHAPE is None:
        _SHAPE = _lsh_shape()
    bands, rows = _SHAPE
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch([s.encode() for s in items])
    values = np.asarray(minhash.hashvalues, dtype=np.uint64)
    keys = []
    for band in range(bands):
        digest = hashlib.blake2b(values[band * rows : (band + 1) * rows].tobytes(), digest_size=8)
        keys.append(f"{KEYS_VERSION}{kind}{band}:{digest.hexdigest()}")
    return keys


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """The share of the smaller set found in the larger one."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def near_identical(a: Fingerprint, b: Fingerprint, opts: VariantOptions) -> bool:
    """Word 3-shingles overlapping by ``opts.similarity`` (Jaccard) or more."""
    return jaccard(a.shingles, b.shingles) >= opts.similarity


def contained(a: Fingerprint, b: Fingerprint, opts: VariantOptions) -> bool:
    """The shorter text (``min_words`` or more) mostly inside the longer one.

    >>> lead = fingerprint("ASHWICK (Meridien) - The River Brennach burst its banks on Tuesday, "
    ...                    "forcing 4,100 people from their homes. Police closed the bridge.")
    >>> urgent = fingerprint("ASHWICK (Meridien) - The River Brennach burst its banks on "
    ...                      "Tuesday, forcing 4,100 people from their homes.")
    >>> contained(lead, urgent, VariantOptions())
    True
    """
    if min(a.words, b.words) < opts.min_words:
        return False
    return containment(a.shingles, b.shingles) >= opts.containment


def retold(a: Fingerprint, b: Fingerprint, opts: VariantOptions) -> bool:
    """A brief (an urgent) whose words are mostly in the other text, though reworded there: a
    first lead often rewrites its urgent as the facts come in ("several injured" becomes "two
    dead, 31 injured").

    >>> urgent = fingerprint("DUNMORE, Nov 3 (Meridien) - A passenger train derailed near "
    ...     "Dunmore on Thursday morning and several people were injured, Northline said.")
    >>> lead = fingerprint("DUNMORE, Nov 3 (Meridien) - At least two people were killed and 31 "
    ...     "injured when a passenger train derailed near Dunmore on Thursday morning, police "
    ...     "said. The line was closed. Northline said it was working with investigators.")
    >>> retold(urgent, lead, VariantOptions())
    True
    """
    short, other = (a, b) if a.words <= b.words else (b, a)
    if not short.brief or short.words < opts.min_words or not short.terms:
        return False
    return len(short.terms & other.terms) / len(short.terms) >= opts.brief_terms


def translated(a: Fingerprint, b: Fingerprint, cosine: float, opts: VariantOptions) -> bool:
    """A translation: close vectors (``cosine`` of the two documents' mean vectors) and the
    same numbers (at least ``MIN_NUMBERS`` in the shorter list)."""
    if cosine < opts.translation_similarity:
        return False
    if min(len(a.numbers), len(b.numbers)) < MIN_NUMBERS:
        return False
    return containment(a.numbers, b.numbers) >= opts.numbers
