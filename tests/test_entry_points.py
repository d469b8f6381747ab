"""Every entry point (CLI, flows, watcher, API) reads the same settings tree: a convert option
set once in the environment, the vision model included, reaches each of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.settings import Settings
from tests.llm_server import LLMServer

pytestmark = pytest.mark.integration


def test_vlm_settings_reach_every_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_pdf: Callable[..., Path]
) -> None:
    from api.app import create_app
    from cli.convert_opts import convert_options
    from cli.main import app
    from flows import runtime

    pdf = write_pdf("scan.pdf", ["<p>Whatever the text layer says.</p>"])
    db = str(tmp_path / "index")
    with LLMServer(reply=lambda request: "# Read by the vision model") as server:
        monkeypatch.setenv("ARCHIVIST_OCR", "always")
        monkeypatch.setenv("ARCHIVIST_OCR_ENGINE", "vlm")
        monkeypatch.setenv("ARCHIVIST_VLM_BASE_URL", server.url)  # a documented flat name
        monkeypatch.setenv("ARCHIVIST_CONVERT__VLM__MODEL", "olmocr-test")  # a tree name
        expected = Settings().convert
        assert expected.vlm is not None and expected.vlm.base_url == server.url
        # `archivist ingest`, for real: the page is read by the vision model
        out = CliRunner().invoke(app, ["ingest", str(pdf), "--db", db, "--json"])
        assert out.exit_code == 0, out.output
        [result] = json.loads(out.stdout)
        assert result["action"] == "added"
        assert [r["model"] for r in server.requests] == ["olmocr-test"]
    assert runtime.stages_for(db).options.convert == expected  # sync flows' workers
    assert runtime.archive_for(db).options.convert == expected  # sync flows and the watcher
    assert runtime.archive_for(db).store.get_document(result["doc_id"]).page_methods == ["vlm"]
    served = create_app(Settings(db=db)).state.runtime.archive  # archivist serve
    assert served.options.convert == expected
    assert convert_options() == expected  # archivist convert, no flag given
    assert convert_options(engine="rapidocr").vlm == expected.vlm  # a flag changes one field
