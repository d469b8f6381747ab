"""olmOCR-Bench-format checks and ``archivist eval convert`` end to end on generated PDFs."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest
from typer.testing import CliRunner

from cli.main import app
from evals.convert.checks import BenchTest, check, near_matches, trailing_repeats
from evals.convert.runner import edit_distance, label_text, score_labels, without_tables
from evals.convert.tables import parse_html_tables, parse_markdown_tables


def t(**fields: object) -> BenchTest:
    return BenchTest.model_validate({"pdf": "a.pdf", "page": 1, "id": "x", **fields})


MD = """# Annual report

Le cœur de l’élève — “quoted” text here.

| Name | 2024 | 2025 |
| --- | --- | --- |
| Revenue | 10 | 12 |
| Costs | 7 | 8 |

Page 4
"""


def test_presence_is_fuzzy_within_max_diffs_and_normalises_quotes() -> None:
    assert check(t(type="present", text='Le cœur de l\'élève - "quoted" text'), MD).passed
    assert not check(t(type="present", text="Le coeur de l'eleve"), MD).passed
    assert check(t(type="present", text="Le cœur de l'élèves", max_diffs=1), MD).passed
    assert check(t(type="present", text="annual REPORT", case_sensitive=False), MD).passed
    assert not check(t(type="present", text="annual REPORT"), MD).passed


def test_absence_and_last_n() -> None:
    assert not check(t(type="absent", text="Page 4"), MD).passed
    assert check(t(type="absent", text="Annual", last_n=20), MD).passed
    assert not check(t(type="absent", text="4", last_n=20), MD).passed
    assert check(t(type="absent", text="Page 4", first_n=30), MD).passed


def test_order() -> None:
    assert check(t(type="order", before="Annual report", after="Revenue"), MD).passed
    result = check(t(type="order", before="Revenue", after="Annual report"), MD)
    assert not result.passed and "does not come before" in result.explanation
    assert "not found" in check(t(type="order", before="Missing", after="Revenue"), MD).explanation


def test_near_matches_finds_ends_within_the_edit_budget() -> None:
    assert near_matches("abc", "xxabcxx", 0) == [4]
    assert near_matches("abc", "xxabdxx", 1) == [3, 4]
    assert near_matches("abc", "xyz", 1) == []


def test_markdown_table_neighbours_and_headings() -> None:
    ok = [
        t(type="table", cell="10", up="2024", down="7", right="12"),
        t(type="table", cell="8", left="7", top_heading="2025", left_heading="Costs"),
    ]
    assert all(check(x, MD).passed for x in ok)
    bad = check(t(type="table", cell="10", up="2025"), MD)
    assert not bad.passed and "up of '10'" in bad.explanation
    assert check(t(type="table", cell="Nothing"), MD).explanation.startswith("no cell like")
    assert check(t(type="table", cell="x"), "no tables").explanation == "no table in the output"


HTML = """<table>
<tr><th></th><th colspan="2">Year Ended</th></tr>
<tr><th></th><th>2025</th><th>2024</th></tr>
<tr><td rowspan="2">Costs</td><td>1,136</td><td>876</td></tr>
<tr><td>5</td><td>6</td></tr>
</table>"""


def test_html_table_spans() -> None:
    grid = parse_html_tables(HTML)[0]
    assert grid.text[(0, 1)] == "Year Ended" and (0, 2) not in grid.text
    assert check(t(type="table", cell="1,136", top_heading="Year Ended"), HTML).passed
    assert check(t(type="table", cell="876", top_heading="Year Ended"), HTML).passed
    assert check(t(type="table", cell="6", left="5", left_heading="Costs"), HTML).passed
    assert check(t(type="table", cell="Costs", right="5"), HTML).passed  # rowspan reaches row 4
    assert len(parse_markdown_tables(MD)) == 1 and not parse_markdown_tables("a | b")


def test_baseline_checks() -> None:
    assert check(t(type="baseline"), MD).passed
    assert not check(t(type="baseline"), "  \n ").passed
    assert not check(t(type="baseline"), "word " + "ab" * 40).passed
    assert trailing_repeats("xyzababab", 2) == [1, 3]
    assert not check(t(type="baseline"), "Text with 漢字").passed
    assert check(t(type="baseline", max_length=5), "abc").passed
    assert not check(t(type="baseline", max_length=5), "a blank page with words").passed


def test_math_matches_normalised_latex() -> None:
    md = "Euler: $e^{i \\pi} + 1 = 0$ and \\[a^2+b^2=c^2\\]"
    assert check(t(type="math", math="e^{i \\pi}+1=0"), md).passed
    assert check(t(type="math", math="a^{2}+b^{2}=c^{2}"), md).passed
    assert not check(t(type="math", math="x^2"), md).passed


def test_edit_distance_ignores_markup_and_front_matter() -> None:
    label = "---\nprimary_language: en\n---\nEdgar was King of the English."
    assert label_text(label) == "Edgar was King of the English."
    assert edit_distance("# Edgar was King of the **English**.", label) == 0.0
    assert 0 < edit_distance("Edgar was King of the English!", label) < 0.05


def test_text_distance_sets_tables_apart_on_both_sides() -> None:
    label = "Edgar was King of the English."
    box = "<table>\n<tr><td>Born</td><td>943</td></tr>\n</table>"
    pipes = "| Born | 943 |\n| --- | --- |\n| Died | 975 |"
    for table in (box, pipes):
        prediction = f"Edgar was King of the English.\n\n{table}"
        assert edit_distance(prediction, label) > 0.2  # the headline counts the table
        assert edit_distance(prediction, label, tables=False) == 0.0
    # Text outside the tables still counts, and a table only in the label is set apart too.
    assert edit_distance(f"Edgar was King.\n\n{box}", label, tables=False) > 0.2
    assert edit_distance(label, f"{label}\n\n{pipes}", tables=False) == 0.0
    assert without_tables(f"a | b\n\n{pipes}\nafter").split() == ["a", "|", "b", "after"]


def test_label_rows_report_text_distance_only_for_labels_without_tables(tmp_path: Path) -> None:
    prose, table = tmp_path / "prose.md", tmp_path / "grid.md"
    prose.write_text("Edgar was King of the English.", encoding="utf-8")
    table.write_text("| Born | 943 |\n| --- | --- |", encoding="utf-8")
    pairs = [(tmp_path / "prose.pdf", prose), (tmp_path / "grid.pdf", table)]
    answer = "Edgar was King of the English.\n\n| Born | 943 |\n| --- | --- |"
    rows = score_labels(lambda path, page: answer, pairs, tmp_path)
    assert [(r.pdf, r.text_distance) for r in rows] == [("prose.pdf", 0.0), ("grid.pdf", None)]
    assert rows[0].distance > 0.2 and rows[1].distance > 0.2


def _bench(tmp_path: Path) -> tuple[Path, Path]:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 80), "Harbour strike ends", fontsize=20, fontname="hebo")
    page.insert_text((72, 130), "Dockers voted on Monday to return to work.", fontsize=11)
    page.insert_text((72, 150), "The port reopens on Tuesday morning.", fontsize=11)
    page.insert_text((300, 770), "7", fontsize=9)
    doc.save(pdfs / "strike.pdf")
    tests = [
        {
            "type": "present",
            "text": "Dockers voted on Monday to return to work.",
            "checked": "verified",
        },
        {"type": "order", "before": "Harbour strike ends", "after": "The port reopens"},
        {"type": "absent", "text": "7", "last_n": 5, "checked": "verified"},
        {"type": "present", "text": "A sentence the page does not hold."},
        {"type": "baseline"},
    ]
    lines = [
        json.dumps({"pdf": "strike.pdf", "page": 1, "id": f"strike_{i}", **x})
        for i, x in enumerate(tests)
    ]
    path = tmp_path / "tests.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "strike.md").write_text(
        "# Harbour strike ends\n\nDockers voted on Monday to return to work. "
        "The port reopens on Tuesday morning.\n",
        encoding="utf-8",
    )
    return path, pdfs


@pytest.mark.integration
def test_eval_convert_command_scores_reports_and_keeps_history(tmp_path: Path) -> None:
    tests, pdfs = _bench(tmp_path)
    report = tmp_path / "report"
    args = ["eval", "convert", "--tests", str(tests), "--pdfs", str(pdfs), "--report", str(report)]
    args += ["--labels", str(tmp_path / "labels"), "--no-baseline", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ours = data["results"][0]
    assert ours["converter"] == "archivist"
    assert (ours["passed"], ours["total"]) == (4, 5) and ours["verified"] == [2, 2]
    failed = [r["id"] for r in ours["tests"] if not r["passed"]]
    assert failed == ["strike_3"]
    assert ours["labels"] == [
        {"pdf": "strike.pdf", "label": "strike.md", "distance": 0.0, "text_distance": 0.0}
    ]
    text = (report / "report.md").read_text(encoding="utf-8")
    assert "`strike_3`" in text and "| **archivist** | 4/5 (0.800)" in text
    assert (report / "report.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert json.loads((report / "results.json").read_text())["kind"] == "convert"
    CliRunner().invoke(app, args)
    history = (report / "history.jsonl").read_text().splitlines()
    assert len(history) == 2 and json.loads(history[1])["scores"] == {"archivist": 0.8}


def test_eval_convert_needs_tests_or_labels(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "convert", "--pdfs", str(tmp_path)])
    assert result.exit_code == 2


def test_archivist_converter_takes_a_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evals.convert.runner import archivist_converter
    from pipeline.models import ConvertOptions

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "A relative path is still a file.")
    doc.save(tmp_path / "rel.pdf")
    monkeypatch.chdir(tmp_path)
    assert "relative path is still" in archivist_converter(ConvertOptions())(Path("rel.pdf"), 1)
