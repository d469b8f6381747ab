"""The noisy French scan set and the scores the OCR bench reports."""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from bench.noisy_scans import degrade, scan_pdf
from bench.scan_quality import accent_hits, char_accuracy, has_table


def test_char_accuracy_counts_edits_against_the_truth_length() -> None:
    assert char_accuracy("Le cœur battait.", "Le cœur battait.") == 1.0
    assert char_accuracy("Le coeur battait.", "Le cœur battait.") == pytest.approx(1 - 2 / 16)
    assert char_accuracy("## Le *cœur*  battait.", "Le cœur battait.") == 1.0  # markup ignored
    assert char_accuracy("", "Le cœur") == 0.0 and char_accuracy("", "") == 1.0


def test_accent_hits_are_multisets_of_words_with_non_ascii_letters() -> None:
    truth = "Le maïs et le cœur, le cœur de l'élève"
    assert accent_hits("Le mais et le cœur, le coeur de l'élève", truth) == (2, 4)
    assert accent_hits("Le mais et le cœur, le coeur de l'élève", truth, "œï") == (1, 3)
    assert accent_hits(truth, truth) == (4, 4)


def test_pages_with_tables_are_told_apart() -> None:
    assert has_table("Intro\n\n| a | b |\n| --- | --- |\n| 1 | 2 |")
    assert has_table("<table><tr><td>1</td></tr></table>")
    assert not has_table("Un paragraphe | avec une barre.")


def test_degradation_is_reproducible_and_changes_the_page() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=200)
    page.insert_text((20, 60), "Le cœur de l'élève", fontsize=14)

    def picture(pdf: bytes) -> bytes:
        scan = pymupdf.open("pdf", pdf)
        return scan.extract_image(scan[0].get_images()[0][0])["image"]

    first, second = scan_pdf(page, "page-a"), scan_pdf(page, "page-a")
    assert picture(first[0]) == picture(second[0]) != picture(scan_pdf(page, "page-b")[0])
    _, skew, quality = first
    assert first[1:] == second[1:] and 0.3 <= abs(skew) <= 1.2 and 45 <= quality <= 70
    scan = pymupdf.open("pdf", first[0])[0]
    assert scan.get_text().strip() == "" and len(scan.get_images()) == 1
    turned = pymupdf.open("pdf", scan_pdf(page, "page-a", rotation=90)[0])[0]
    assert (turned.rect.width, turned.rect.height) == (200, 300)


def test_degrade_adds_grain_and_keeps_the_ink() -> None:
    gray = np.full((200, 300), 255, np.uint8)
    gray[90:110, 50:250] = 0
    noisy, _ = degrade(gray, np.random.default_rng(3))
    assert noisy.shape == gray.shape and noisy[:60].std() > 2  # paper has grain
    assert noisy[95:105, 80:220].mean() < 90 < noisy[:60].mean()  # the stroke stays dark
