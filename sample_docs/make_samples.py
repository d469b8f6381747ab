"""Generate the demo corpus: small PDFs of fictional Agence Meridien dispatches.

Usage: ``.venv/bin/python sample_docs/make_samples.py [--out-dir DIR]`` (or ``make samples``).
The output is deterministic: the same PyMuPDF version writes byte-identical files.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pymupdf

HERE = Path(__file__).resolve().parent
AGENCY = "Agence Meridien"
PAGE_RECT = pymupdf.paper_rect("a4")
BODY_RECT = pymupdf.Rect(56, 56, PAGE_RECT.width - 56, PAGE_RECT.height - 64)
FOOTER_RECT = pymupdf.Rect(56, PAGE_RECT.height - 48, PAGE_RECT.width - 56, PAGE_RECT.height - 20)
SCAN_DPI = 120
SCAN_JPEG_QUALITY = 55
PAGE_BREAK = "==="
LIGATURE_PAIR = re.compile(r"f(?=[fil])")
NO_BREAK = re.compile(
    r"\d{1,3}(?: \d{3})+(?: (?:%|°C))?"  # 1 214 000, 248 000
    r"|\d+(?:,\d+)? (?:%|°C)"  # 38,4 %, 41,7 °C
    r"|« \S+(?: »)?"  # « Nous, « Belle-Iliane »
    r"|\S+ [»:;?!]"  # aumône », Grève :
)

CSS = """
.nw { white-space: nowrap; }
body { font-family: sans-serif; font-size: 10.5px; line-height: 1.35; }
h1 { font-size: 20px; font-weight: bold; margin: 0 0 14px 0; }
h2 { font-size: 14px; font-weight: bold; margin: 14px 0 6px 0; }
p { margin: 0 0 8px 0; text-align: justify; }
ul { margin: 0 0 8px 0; }
table { border-collapse: collapse; margin: 6px 0 10px 0; }
th, td { border: 1px solid black; padding: 3px 8px; font-size: 12px; text-align: right; }
th { font-weight: bold; text-align: center; }
"""
FOOTER_CSS = """
.nw { white-space: nowrap; }
p { font-family: sans-serif; font-size: 8px; color: #555555; text-align: center; }
"""
SCAN_CSS = "p { font-family: monospace; font-size: 12px; line-height: 1.5; margin: 0 0 12px 0; }"

MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
LANG_TAGS = {"fr": "fr-FR", "en": "en-GB"}


def _load_articles() -> ModuleType:
    """Import the sibling ``articles.py`` whether run as a script or imported by path."""
    name = "sample_docs_articles"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "articles.py")
    if spec is None or spec.loader is None:
        raise ImportError("cannot load sample_docs/articles.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:  # mypy resolves the sibling module statically
    from articles import ARTICLES, Article
else:
    _articles = _load_articles()
    ARTICLES, Article = _articles.ARTICLES, _articles.Article


def file_name(article: Article) -> str:
    """``1983-05-12_greve-port-aurele_fr.pdf``."""
    return f"{article.date:%Y-%m-%d}_{article.slug}_{article.lang}.pdf"


def pdf_date(moment: datetime) -> str:
    """PDF date string, e.g. ``D:19830512093000Z``."""
    return moment.strftime("D:%Y%m%d%H%M%SZ")


def human_date(moment: datetime, lang: str) -> str:
    """``12 mai 1983`` / ``1er mai 1983`` in French, ``May 12, 1983`` in English."""
    month = MONTHS[lang][moment.month - 1]
    if lang == "fr":
        day = "1er" if moment.day == 1 else str(moment.day)
        return f"{day} {month} {moment.year}"
    return f"{month} {moment.day}, {moment.year}"


def dateline(article: Article) -> str:
    """``PORT-AURÈLE, 12 mai 1983 (Meridien) –``."""
    return f"{article.place}, {human_date(article.date, article.lang)} (Meridien) –"


def _escape(text: str) -> str:
    """HTML for a run of text, with French typography kept on one line (``3 800``, ``9 %``,
    ``« Nous``, ``lundi :``) and f+f/i/l split by an empty span so that MuPDF draws no
    ligature glyph: the text layer keeps plain spaces and a plain "fi", never "ﬁ"."""
    escaped = html.escape(text, quote=False)
    glued = NO_BREAK.sub(lambda m: f'<span class="nw">{m.group(0)}</span>', escaped)
    return LIGATURE_PAIR.sub("f<span></span>", glued)


def _table_html(lines: list[str]) -> str:
    rows = [
        [_escape(cell.strip()) for cell in line.strip().strip("|").split("|")] for line in lines
    ]
    head = "".join(f"<th>{cell}</th>" for cell in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def block_html(block: str) -> str:
    """Convert one markup block (heading, bullet list, table or paragraph) to HTML."""
    lines = [line.strip() for line in block.strip().splitlines()]
    if lines[0].startswith("## "):
        return f"<h2>{_escape(lines[0][3:])}</h2>"
    if lines[0].startswith("- "):
        items = "".join(f"<li>{_escape(line[2:])}</li>" for line in lines)
        return f"<ul>{items}</ul>"
    if lines[0].startswith("|"):
        return _table_html(lines)
    return f"<p>{_escape(' '.join(lines))}</p>"


def page_bodies(article: Article) -> list[str]:
    """HTML body of each text page; the first starts with the title and the dateline."""
    pages: list[list[str]] = [[]]
    for block in article.body.strip().split("\n\n"):
        if block.strip() == PAGE_BREAK:
            pages.append([])
        else:
            pages[-1].append(block_html(block))
    first = pages[0][0].removeprefix("<p>")
    pages[0][0] = f"<p><b>{_escape(dateline(article))}</b> {first}"
    pages[0].insert(0, f"<h1>{_escape(article.title)}</h1>")
    return ["\n".join(blocks) for blocks in pages]


def fill_page(page: pymupdf.Page, body: str, rect: pymupdf.Rect, css: str) -> None:
    """Lay ``body`` out in ``rect`` at full size; fail rather than shrink or truncate."""
    spare_height, _scale = page.insert_htmlbox(rect, body, css=css, scale_low=1)
    if spare_height < 0:
        raise ValueError(f"text does not fit on page {page.number + 1}")


def footer_text(article: Article, page_no: int, page_count: int) -> str:
    when = human_date(article.date, article.lang)
    if article.lang == "fr":
        return f"{AGENCY} – dépêche du {when} – page {page_no}/{page_count}"
    return f"{AGENCY} – dispatch of {when} – page {page_no}/{page_count}"


def scan_image(text: str) -> bytes:
    """Typeset ``text`` like a telex (line breaks kept); return the page as a grayscale JPEG."""
    scratch = pymupdf.open()
    page = scratch.new_page(width=PAGE_RECT.width, height=PAGE_RECT.height)
    page.draw_rect(page.rect, color=None, fill=(0.94, 0.93, 0.9))
    blocks = [block.strip().splitlines() for block in text.strip().split("\n\n")]
    body = "".join("<p>" + "<br>".join(_escape(line) for line in b) + "</p>" for b in blocks)
    fill_page(
        page, body, pymupdf.Rect(72, 90, PAGE_RECT.width - 72, PAGE_RECT.height - 90), SCAN_CSS
    )
    pixmap = page.get_pixmap(dpi=SCAN_DPI, colorspace=pymupdf.csGRAY)
    scratch.close()
    return pixmap.tobytes("jpeg", jpg_quality=SCAN_JPEG_QUALITY)


def set_metadata(doc: pymupdf.Document, article: Article) -> None:
    stamp = pdf_date(article.date)
    kind = "Dépêche" if article.lang == "fr" else "Dispatch"
    doc.set_metadata(
        {
            "title": article.title,
            "author": AGENCY,
            "subject": f"{kind} – {article.topic}",
            "keywords": f"{AGENCY}, {article.topic}, {article.date.year}",
            "creator": "archivist sample_docs/make_samples.py",
            "producer": "archivist sample_docs/make_samples.py",
            "creationDate": stamp,
            "modDate": stamp,
        }
    )
    doc.set_language(LANG_TAGS[article.lang])


def build_document(article: Article) -> pymupdf.Document:
    """The whole dispatch as an in-memory PDF."""
    bodies = page_bodies(article)
    page_count = len(bodies) + (1 if article.scanned else 0)
    doc = pymupdf.open()
    for number, body in enumerate(bodies, start=1):
        page = doc.new_page(width=PAGE_RECT.width, height=PAGE_RECT.height)
        fill_page(page, body, BODY_RECT, CSS)
        footer = f"<p>{_escape(footer_text(article, number, page_count))}</p>"
        fill_page(page, footer, FOOTER_RECT, FOOTER_CSS)
    if article.scanned:
        page = doc.new_page(width=PAGE_RECT.width, height=PAGE_RECT.height)
        page.insert_image(page.rect, stream=scan_image(article.scanned))
    set_metadata(doc, article)
    doc.subset_fonts()
    return doc


def reference_markdown(article: Article) -> str:
    """What a faithful conversion of the sample reads: title, dateline, body, the scanned page.

    The footers are page furniture and are left out. ``--references`` writes these as the
    ground truth that ``archivist eval convert --suite sample_docs`` scores against.
    """
    blocks = [f"# {article.title}"]
    first = True
    for block in article.body.strip().split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines()]
        if lines == [PAGE_BREAK]:
            continue
        if lines[0].startswith(("## ", "- ")):
            text = "\n".join(lines)
        elif lines[0].startswith("|"):
            header = lines[0].count("|") - 1
            text = "\n".join([lines[0], "|" + " --- |" * header, *lines[1:]])
        else:
            text = " ".join(lines)
            if first:
                text = f"**{dateline(article)}** {text}"
                first = False
        blocks.append(text)
    if article.scanned:
        blocks += [" ".join(b.split()) for b in article.scanned.strip().split("\n\n")]
    return "\n\n".join(blocks) + "\n"


def write_references(out_dir: Path) -> list[Path]:
    """Write ``reference/NAME.md`` for every sample."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for article in ARTICLES:
        path = out_dir / file_name(article).replace(".pdf", ".md")
        path.write_text(reference_markdown(article), encoding="utf-8")
        paths.append(path)
    return paths


def write_samples(out_dir: Path) -> list[Path]:
    """Write every sample PDF into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for article in ARTICLES:
        path = out_dir / file_name(article)
        doc = build_document(article)
        doc.save(path, garbage=4, deflate=True, no_new_id=True)
        doc.close()
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE, help="default: sample_docs/")
    parser.add_argument(
        "--references", action="store_true", help="also write reference/NAME.md ground truth"
    )
    args = parser.parse_args(argv)
    written = write_samples(args.out_dir)
    if args.references:
        written += write_references(args.out_dir / "reference")
    for path in written:
        print(f"{path.stat().st_size:>8}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
