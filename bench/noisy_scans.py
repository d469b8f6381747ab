"""Noisy French scans with their truth: public pages rendered, degraded like a scanner, image-only.

    .venv/bin/python bench/noisy_scans.py [--out bench/results/noisy_fr] [--piaf 8]

Nothing is copied into the repository: the pages are made on demand from

- the French text-layer pages of ../shared/data/pdf/orbit-fr (annual reports; Apache-2.0 repo),
- the French dispatches of sample_docs/ (CC0, written for this project),
- fiches of ../shared/data/piaf (service-public.fr, Licence Ouverte 2.0) set on A4 pages: the
  ``--piaf`` fiches with the most œ, æ, ï, ë, ü, ÿ in their first 2,600 characters, because these
  are the letters a light recogniser loses and a page of annual report rarely holds one.

Each page is rendered at 200 dpi in grey, turned by 0.3–1.2° either way, blurred, given a paper
tone, uneven light, grain and specks, saved as a JPEG of quality 45–70 and placed as the only
content of a new page (a scanner's PDF). The recipe draws its numbers from a seed made from the
page's name, so the same page always gets the same damage.

The truth is the original page converted by archivist from its text layer: the same layout
rules (columns, headers and footers dropped) run on both sides, so what differs is what OCR read.
``--rotated`` adds copies of three pages turned 90°, 180° and 270° for orientation checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pymupdf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared" / "data"
ORBIT_FR = SHARED / "pdf" / "orbit-fr" / "pdfs" / "fr"
PIAF = SHARED / "piaf" / "corpus.jsonl"
SAMPLES = REPO / "sample_docs"
RECIPE = "noisy-fr-v1"  # change when the damage changes: cached sets are then made again
LOST = "œŒæÆïÏëËüÜÿ"  # the letters a light recogniser drops or mangles
_PIAF_CHARS = 2600
_DPI = 200


@dataclass(frozen=True)
class ScanCase:
    """One noisy page: its image-only PDF, the truth Markdown and how it was made."""

    name: str
    pdf: str
    truth: str
    source: str
    skew_deg: float
    jpeg_quality: int
    rotation: int = 0


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha256(name.encode()).hexdigest()[:12], 16))


def degrade(gray: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A scanner's damage on a grey page: skew, blur, paper tone, uneven light, grain, specks."""
    import cv2

    h, w = gray.shape
    angle = float(rng.uniform(0.3, 1.2) * rng.choice([-1.0, 1.0]))
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    img = cv2.warpAffine(gray, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.6, 1.0))).astype(np.float32)
    paper, ink = rng.uniform(222, 245), rng.uniform(15, 55)
    img = ink + img / 255.0 * (paper - ink)
    light = 1.0 - rng.uniform(0.03, 0.09) * np.linspace(0, 1, w, dtype=np.float32)[None, :]
    img = img * light + rng.normal(0, rng.uniform(5, 11), img.shape).astype(np.float32)
    for _ in range(int(h * w * rng.uniform(1e-5, 4e-5))):  # dust and toner specks
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(img, (x, y), int(rng.integers(1, 3)), float(rng.uniform(40, 120)), -1)
    return np.clip(img, 0, 255).astype(np.uint8), angle


def scan_pdf(page: pymupdf.Page, name: str, rotation: int = 0) -> tuple[bytes, float, int]:
    """An image-only PDF of ``page`` after ``degrade``; also the skew and the JPEG quality."""
    import cv2

    rng = _rng(name)
    pix = page.get_pixmap(dpi=_DPI, colorspace=pymupdf.csGRAY, alpha=False)
    gray = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).copy()
    noisy, angle = degrade(gray, rng)
    if rotation:  # a page fed sideways: the picture is turned, the PDF page is not
        noisy = np.ascontiguousarray(np.rot90(noisy, k=-rotation // 90))
    quality = int(rng.integers(45, 71))
    ok, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"could not encode {name} as JPEG")
    width, height = page.rect.width, page.rect.height
    if rotation in (90, 270):
        width, height = height, width
    out = pymupdf.open()
    new = out.new_page(width=width, height=height)
    new.insert_image(new.rect, stream=jpeg.tobytes())
    return out.tobytes(), angle, quality


def piaf_pages(count: int) -> list[tuple[str, pymupdf.Document]]:
    """``count`` PIAF fiches set on A4 pages, those with the most of the ``LOST`` letters."""
    fiches = []
    for line in PIAF.read_text(encoding="utf-8").splitlines():
        fiche = json.loads(line)
        text = _cut(fiche["text"])
        fiches.append((sum(text.count(c) for c in LOST), fiche["_id"], text))
    fiches.sort(key=lambda f: (-f[0], f[1]))
    pages = []
    for n, (_, fiche_id, text) in enumerate(fiches[:count]):
        doc = pymupdf.open()
        page = doc.new_page(width=595, height=842)
        paragraphs = "".join(f"<p>{_escape(p)}</p>" for p in text.split("\n") if p.strip())
        family = ("serif", "sans-serif")[n % 2]
        css = f"p {{font-family: {family}; font-size: 10.5pt; margin: 0 0 6pt 0;}}"
        page.insert_htmlbox(pymupdf.Rect(60, 60, 535, 790), paragraphs, css=css)
        pages.append((f"piaf-{fiche_id}", doc))
    return pages


def _cut(text: str) -> str:
    """The fiche's first paragraphs, up to about ``_PIAF_CHARS`` characters."""
    text = re.sub(r"[ \t]+", " ", text)
    if len(text) <= _PIAF_CHARS:
        return text
    end = text.rfind("\n", 0, _PIAF_CHARS)
    return text[: end if end > _PIAF_CHARS // 2 else _PIAF_CHARS]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def source_pages(piaf: int) -> list[tuple[str, pymupdf.Document]]:
    """The French text-layer pages the set is made from, one single-page document each."""
    pages: list[tuple[str, pymupdf.Document]] = []
    for path in sorted(ORBIT_FR.glob("*.pdf")) + sorted(SAMPLES.glob("*_fr.pdf")):
        doc = pymupdf.open(path)
        for index in range(doc.page_count):
            single = pymupdf.open()
            single.insert_pdf(doc, from_page=index, to_page=index)
            stem = path.stem.removeprefix("f_")[:28]
            pages.append((f"{stem}-p{index + 1}", single))
    if PIAF.exists():
        pages += piaf_pages(piaf)
    return pages


def truth_markdown(doc: pymupdf.Document) -> str:
    """The page converted from its text layer: what a perfect OCR would let the converter write."""
    from pipeline.convert import convert_document
    from pipeline.models import ConvertOptions, SourceDocument

    source = SourceDocument(uri="mem://truth.pdf", data=doc.tobytes())
    return convert_document(source, ConvertOptions(ocr="never")).markdown


def build(out: Path, *, piaf: int = 8, rotated: bool = False) -> list[ScanCase]:
    """Make the set under ``out`` (kept and reused while the recipe and the options match)."""
    manifest = out / "manifest.json"
    key = {"recipe": RECIPE, "piaf": piaf, "rotated": rotated}
    if manifest.exists():
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        if saved.get("key") == key:
            return [ScanCase(**case) for case in saved["cases"]]
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    turns = {0: 90, 3: 180, 6: 270} if rotated else {}
    for n, (name, doc) in enumerate(source_pages(piaf)):
        truth = out / f"{name}.truth.md"
        truth.write_text(truth_markdown(doc), encoding="utf-8")
        for rotation in (0, turns.get(n, 0)) if n in turns else (0,):
            label = name if not rotation else f"{name}-rot{rotation}"
            data, angle, quality = scan_pdf(doc[0], label, rotation)
            (out / f"{label}.pdf").write_bytes(data)
            cases.append(
                ScanCase(
                    label, f"{label}.pdf", truth.name, name, round(angle, 3), quality, rotation
                )
            )
    payload = {"key": key, "cases": [asdict(c) for c in cases]}
    manifest.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "noisy_fr")
    parser.add_argument("--piaf", type=int, default=8, help="PIAF fiches to set on pages")
    parser.add_argument("--rotated", action="store_true", help="add 3 pages turned 90/180/270°")
    args = parser.parse_args()
    cases = build(args.out, piaf=args.piaf, rotated=args.rotated)
    for case in cases:
        print(
            f"{case.name:40s} skew {case.skew_deg:+.2f}° jpeg q{case.jpeg_quality} "
            f"rot {case.rotation}"
        )
    print(f"{len(cases)} pages in {args.out}")


if __name__ == "__main__":
    main()
