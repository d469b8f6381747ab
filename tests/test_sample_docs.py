"""The demo corpus in sample_docs/: reproducible, and its questions answerable from its text."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pymupdf
import pytest

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_docs"
QUESTIONS: list[dict[str, Any]] = json.loads(
    (SAMPLE_DIR / "questions.json").read_text(encoding="utf-8")
)


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "sample_docs_make_samples", SAMPLE_DIR / "make_samples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _flat(text: str) -> str:
    """Collapse whitespace (line breaks inside a phrase) to single spaces."""
    return " ".join(text.split())


def _committed_pdfs() -> list[Path]:
    return sorted(SAMPLE_DIR.glob("*.pdf"))


def test_committed_pdfs_match_the_generator(tmp_path: Path) -> None:
    generator = _load_generator()
    assert generator.main(["--out-dir", str(tmp_path)]) == 0
    generated = sorted(tmp_path.glob("*.pdf"))
    assert [p.name for p in generated] == [p.name for p in _committed_pdfs()]
    for path in generated:
        assert _sha256(path) == _sha256(SAMPLE_DIR / path.name), (
            f"{path.name} differs from a fresh run: run `make samples` and commit the result"
        )


def test_generator_is_deterministic(tmp_path: Path) -> None:
    generator = _load_generator()
    first = generator.write_samples(tmp_path / "a")
    second = generator.write_samples(tmp_path / "b")
    assert [_sha256(p) for p in first] == [_sha256(p) for p in second]


@pytest.mark.parametrize("item", QUESTIONS, ids=lambda q: f"{q['file']}:p{q['page']}")
def test_expected_phrase_is_on_the_named_page(item: dict[str, Any]) -> None:
    assert item["language"] in {"en", "fr"}
    with pymupdf.open(SAMPLE_DIR / item["file"]) as doc:
        text = _flat(doc[item["page"] - 1].get_text())
    assert text, "questions must not point at an image-only page"
    assert _flat(item["expected"]) in text


def test_questions_cover_both_languages_with_one_demo_each() -> None:
    languages = [q["language"] for q in QUESTIONS]
    assert languages.count("en") >= 3 and languages.count("fr") >= 3
    demos = sorted(q["language"] for q in QUESTIONS if q.get("demo"))
    assert demos == ["en", "fr"]


def test_corpus_languages_metadata_and_datelines() -> None:
    pdfs = _committed_pdfs()
    assert len(pdfs) == 8
    assert sum(p.stem.endswith("_fr") for p in pdfs) >= 2
    for path in pdfs:
        with pymupdf.open(path) as doc:
            meta = doc.metadata
            first_page = _flat(doc[0].get_text())
            text = " ".join(page.get_text() for page in doc)
        words = len(text.split())
        stamp = "D:" + path.name[:10].replace("-", "")
        assert meta["author"] == "Agence Meridien"
        assert meta["title"]
        assert meta["creationDate"].startswith(stamp) and meta["modDate"] == meta["creationDate"]
        assert "(Meridien) –" in first_page
        assert 150 <= words <= 600, f"{path.name}: {words} words"
        assert not any(lig in text for lig in "\ufb00\ufb01\ufb02\ufb03\ufb04")


def test_french_accents_round_trip() -> None:
    with pymupdf.open(SAMPLE_DIR / "1983-05-12_greve-port-aurele_fr.pdf") as doc:
        text = _flat(doc[0].get_text())
    assert "PORT-AURÈLE, 12 mai 1983 (Meridien) –" in text
    for word in ("Grève", "Édouard", "« Nous", "aumône »", "François Lemarçon", "Sainte-Œuvre"):
        assert word in text


def test_one_image_only_page() -> None:
    image_only = []
    for path in _committed_pdfs():
        with pymupdf.open(path) as doc:
            for page in doc:
                if not page.get_text().strip():
                    assert page.get_images(), f"{path.name} p{page.number + 1} is blank"
                    image_only.append((path.name, page.number + 1))
                    assert any(p.get_text().strip() for p in doc), "other pages keep their text"
    assert image_only == [("1998-06-30_saint-ferreol-bridge_en.pdf", 2)]
    assert all(q["file"] != image_only[0][0] or q["page"] != 2 for q in QUESTIONS)


def test_multi_page_report_has_a_real_table() -> None:
    with pymupdf.open(SAMPLE_DIR / "2025-02-04_numerisation-archives-meridien_fr.pdf") as doc:
        assert doc.page_count == 3
        tables = doc[1].find_tables().tables
        assert len(tables) == 1
        rows = tables[0].extract()
        assert not doc[0].find_tables().tables and not doc[2].find_tables().tables
        bullets = doc[2].get_text()
    assert rows[0] == ["Période", "Dépêches", "Numérisées", "Avancement"]
    assert rows[2] == ["1990 à 1999", "331 000", "297 900", "90 %"]
    assert len(rows) == 5
    assert bullets.count("•") == 4
