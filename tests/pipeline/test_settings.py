"""Settings: environment and archivist.toml reach the stage options."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import Settings


def test_env_and_toml_reach_stage_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "archivist.toml").write_text('db = "from-toml"\nocr = "never"\nocr_dpi = 200\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARCHIVIST_DB", "from-env")
    monkeypatch.setenv("ARCHIVIST_LLM_CONTEXT_WINDOW", "32768")
    opts = Settings().options()
    assert opts.store.uri == "from-env"  # the environment wins over the file
    assert (opts.convert.ocr, opts.convert.dpi) == ("never", 200)
    assert opts.answer.llm.context_window == 32768
    assert Settings(db="flag").options().store.uri == "flag"  # flags win over both
