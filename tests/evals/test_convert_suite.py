"""``archivist eval convert --suite``: sets found by their shape, scored side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest
from typer.testing import CliRunner

from cli.main import app
from evals.convert.suite import archivist_pages, discover, run_suite
from evals.convert.suite_report import pooled, summary_lines
from evals.convert.table_score import score_headings, score_tables
from pipeline.models import ConvertOptions

TEXT = "The harbour office prints a bulletin every week for the pilots and the fishing fleet."


def _pdf(path: Path, text: str = TEXT) -> Path:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 100), text, fontsize=10)
    doc.save(path)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """One set of each shape: tests + pdfs/, labels beside PDFs, groundtruth/ + pdf/."""
    bench = tmp_path / "data" / "bench"
    (bench / "pdfs").mkdir(parents=True)
    _pdf(bench / "pdfs" / "a.pdf")
    tests = [
        {"pdf": "a.pdf", "page": 1, "id": "t1", "type": "present", "text": "bulletin every week"},
        {"pdf": "a.pdf", "page": 1, "id": "t2", "type": "absent", "text": "nowhere to be seen"},
    ]
    (bench / "tests.jsonl").write_text("\n".join(json.dumps(t) for t in tests))
    labels = tmp_path / "data" / "labelled"
    labels.mkdir()
    _pdf(labels / "page.pdf")
    (labels / "page.md").write_text(TEXT)
    docs = tmp_path / "data" / "docs"
    (docs / "pdf").mkdir(parents=True)
    (docs / "groundtruth").mkdir()
    _pdf(docs / "pdf" / "report.pdf")
    (docs / "groundtruth" / "report.tool.md").write_text(f"# Weekly\n\n{TEXT}\n")
    return tmp_path / "data"


def test_sets_are_found_by_their_shape(root: Path) -> None:
    found = {s.name: s for s in discover(root)}
    assert {n: s.kind for n, s in found.items()} == {
        "data/bench": "tests",
        "data/docs": "documents",
        "data/labelled": "labels",
    }
    assert [(p.name, r.name) for p, r in found["data/docs"].pairs] == [
        ("report.pdf", "report.tool.md")
    ]


def test_converters_are_scored_side_by_side_and_a_wrong_one_scores_worse(root: Path) -> None:
    def wrong(path: Path) -> list[str]:
        return ["Nothing like the page at all."]

    run = run_suite([root], [("archivist", archivist_pages(ConvertOptions())), ("wrong", wrong)])
    ours, theirs = pooled(run, "archivist"), pooled(run, "wrong")
    assert ours["tests_passed"] == 2 and theirs["tests_passed"] == 1  # "absent" passes anyway
    assert ours["distance"] is not None and theirs["distance"] is not None
    assert ours["distance"] < 0.2 < theirs["distance"]
    table = "\n".join(summary_lines(run))
    assert "| data/bench | 2/2 (1.000) | 1/2 (0.500) |" in table


def test_a_crashing_converter_scores_zero_there_and_the_run_goes_on(root: Path) -> None:
    def crash(path: Path) -> list[str]:
        raise ValueError("broken file")

    run = run_suite([root], [("crash", crash)])
    assert all(s.errors and "broken file" in s.errors[0] for s in run.scores)


def test_table_score_counts_structure_not_only_words() -> None:
    truth = "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |"
    assert score_tables(truth, truth) == 1.0
    swapped = "| a | b |\n|---|---|\n| 2 | 1 |\n| 4 | 3 |"
    assert score_tables(swapped, truth) is not None and score_tables(swapped, truth) < 0.5
    assert score_tables("no tables", "no tables either") is None
    html = "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
    assert score_tables(html, "| a | b |\n|---|---|\n| 1 | 2 |") == 1.0


def test_heading_score_is_f1_of_heading_lines() -> None:
    truth = "# Title\n\ntext\n\n## Part one\n\nmore"
    assert score_headings(truth, truth) == 1.0
    assert score_headings("# Title\n\ntext\n\nPart one\n\nmore", truth) == pytest.approx(
        2 / 3, 0.01
    )
    assert score_headings("text", "text") is None


def test_the_command_reports_variants_from_one_run(root: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["eval", "convert", "--suite", str(root), "--no-baseline", "--variant", "rules:layout=none",
         "--report", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| set | archivist | rules |" in report
    bad = CliRunner().invoke(
        app, ["eval", "convert", "--suite", str(root), "--variant", "x:no_such_field=1"]
    )
    assert bad.exit_code == 2 and "no_such_field" in bad.output
