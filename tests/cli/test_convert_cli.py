"""``archivist convert``: Markdown and a provenance sidecar per document, options checked."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
from typer.testing import CliRunner

from cli.main import app


def _folder(tmp_path: Path) -> Path:
    src = tmp_path / "in" / "1987"
    src.mkdir(parents=True)
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 80), "Harbour strike ends", fontsize=20, fontname="hebo")
    page.insert_text((72, 130), "Dockers voted on Monday to return to work.", fontsize=11)
    doc.new_page()  # a blank second page
    doc.save(src / "strike.pdf")
    (src / "note.md").write_text("# Note\n\nA short note.", encoding="utf-8")
    return tmp_path / "in"


def test_convert_writes_markdown_and_provenance(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["convert", str(_folder(tmp_path)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    md = (out / "1987" / "strike.md").read_text(encoding="utf-8")
    assert "# Harbour strike ends" in md and "<!-- page 2 -->" in md
    sidecar = json.loads((out / "1987" / "strike.json").read_text(encoding="utf-8"))
    first, second = sidecar["pages"]
    assert (first["method"], first["reason"]) == ("text", "text layer")
    assert first["blocks"][0]["kind"] == "heading" and len(first["blocks"][0]["box"]) == 4
    assert (second["status"], second["blocks"]) == ("empty", [])
    assert (out / "1987" / "note.md").is_file()
    assert "(2 pages: 1 none, 1 text)" in result.output


def test_convert_without_sidecar(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["convert", str(_folder(tmp_path)), "--out", str(out), "--no-sidecar", "--ocr", "never"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert not list(out.rglob("*.json")) and (out / "1987" / "strike.md").is_file()


def test_convert_rejects_unknown_modes_and_engines(tmp_path: Path) -> None:
    folder = str(_folder(tmp_path))
    bad_mode = CliRunner().invoke(app, ["convert", folder, "--out", "x", "--ocr", "sometimes"])
    assert bad_mode.exit_code == 2 and "auto, always or never" in bad_mode.output
    bad_engine = CliRunner().invoke(app, ["convert", folder, "--out", "x", "--engine", "magic"])
    message = " ".join(bad_engine.output.replace("│", " ").split())  # the error box wraps
    assert bad_engine.exit_code == 2 and "fast, rapidocr, routed, tesseract, vlm" in message
    args = ["convert", folder, "--out", "x", "--ocr-precision", "int4"]
    bad_precision = CliRunner().invoke(app, args)
    assert bad_precision.exit_code == 2 and "fp32 or int8" in bad_precision.output
    args = ["convert", folder, "--out", "x", "--ocr-model", "medium"]
    bad_model = CliRunner().invoke(app, args)
    assert bad_model.exit_code == 2 and "tiny or small" in bad_model.output


def test_engine_and_model_flags_reach_the_options(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from cli.convert_opts import convert_options

    monkeypatch.setenv("ARCHIVIST_OCR_ENGINE", "rapidocr")
    assert convert_options().engine == "rapidocr"  # the settings, when no flag is given
    opts = convert_options(engine="fast", model="small")
    assert (opts.engine, opts.ocr_model) == ("fast", "small")
    monkeypatch.delenv("ARCHIVIST_OCR_ENGINE")
    assert (convert_options().engine, convert_options().ocr_model) == ("routed", "tiny")
