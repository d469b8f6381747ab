"""The ``archivist`` command as a user runs it: a real process, a real index on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE_DOCS
from tests.llm_server import LLMServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def run(
    *args: str, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "index"
    proc = run("ingest", *map(str, sorted(SAMPLE_DOCS.glob("*.pdf"))), "--db", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "8 documents" in proc.stdout and "8 added" in proc.stdout
    assert "FAILED" not in proc.stdout and "partial" not in proc.stdout
    return path


def test_search_json_shape_and_filters(db: Path) -> None:
    proc = run("search", "record de chaleur canicule", "--db", str(db), "--json", "-k", "3")
    hits = json.loads(proc.stdout)["hits"]
    assert set(hits[0]) == {
        "chunk_id",
        "doc_id",
        "title",
        "source",
        "page_start",
        "page_end",
        "score",
        "text",
    }
    assert "canicule" in hits[0]["source"] and "41,7" in hits[0]["text"]
    proc = run(
        "search",
        "record de chaleur canicule",
        "--db",
        str(db),
        "--json",
        "--date-from",
        "2010-01-01",
        "--language",
        "fr",
    )
    assert all("canicule" not in h["source"] for h in json.loads(proc.stdout)["hits"])


@pytest.mark.parametrize(
    ("question", "source", "page", "expected"),
    [
        (
            "How high did the River Brennach rise at the Mill Lane gauge in April 2011?",
            "brennach",
            1,
            "6.82",
        ),
        (
            "Quelle température record a été relevée à Lorvennes pendant la canicule d'août 2003 ?",
            "canicule",
            1,
            "41,7",
        ),
    ],
)
def test_ask_cites_the_right_page(
    db: Path, question: str, source: str, page: int, expected: str
) -> None:
    proc = run("ask", question, "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["backend"] == "offline" and expected in answer["answer"]
    cited = [c for c in answer["citations"] if source in c["source"]]
    assert cited and cited[0]["page_start"] == page and expected in cited[0]["quote"]
    keys = {"n", "doc_id", "title", "source", "page_start", "page_end", "chunk_id", "quote"}
    assert set(cited[0]) == keys | {"regions"} and cited[0]["regions"]
    assert f"[{cited[0]['n']}]" in answer["answer"]


def test_ask_through_an_openai_compatible_server(db: Path) -> None:
    with LLMServer() as server:
        proc = run(
            "ask",
            "When was the Kestrel probe launched?",
            "--db",
            str(db),
            "--json",
            "--backend",
            "openai",
            env={"ARCHIVIST_LLM_BASE_URL": server.url, "ARCHIVIST_LLM_MODEL": "test-model"},
        )
        assert proc.returncode == 0, proc.stderr
        request = server.requests[0]
    answer = json.loads(proc.stdout)
    assert answer["backend"] == "openai" and request["model"] == "test-model"
    assert "Kestrel" in json.dumps(request["messages"], ensure_ascii=False)
    assert answer["citations"] and answer["citations"][0]["n"] == 1


def test_exit_codes_and_named_failures(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    proc = run(
        "ingest",
        str(bad),
        str(SAMPLE_DOCS / "1983-05-12_greve-port-aurele_fr.pdf"),
        "--db",
        str(db),
    )
    assert proc.returncode == 1
    assert "broken.pdf" in proc.stdout and "FAILED" in proc.stdout
    assert "unchanged" in proc.stdout  # the good one went through (already there)
    assert run("ingest", str(tmp_path / "missing.pdf"), "--db", str(db)).returncode == 2
    assert run("search").returncode == 2
    assert run("ask", "x", "--db", str(db), "--backend", "nope").returncode == 1


def test_convert_mirrors_folders(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "1998").mkdir(parents=True)
    (src / "1998" / "bridge.pdf").write_bytes(
        (SAMPLE_DOCS / "1998-06-30_saint-ferreol-bridge_en.pdf").read_bytes()
    )
    (src / "flood.pdf").write_bytes((SAMPLE_DOCS / "2011-04-19_brennach-flood_en.pdf").read_bytes())
    proc = run("convert", str(src), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    bridge = (tmp_path / "out" / "1998" / "bridge.md").read_text(encoding="utf-8")
    assert "<!-- page 1 -->" in bridge and "<!-- page 2 -->" in bridge
    assert "6.82 metres" in (tmp_path / "out" / "flood.md").read_text(encoding="utf-8")
