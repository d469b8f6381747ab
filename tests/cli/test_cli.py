"""The ``archivist`` command as a user runs it: a real process, a real index on disk."""

from __future__ import annotations

import json
import os
import shlex
import signal
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


def quickstart_ingest() -> list[str]:
    """The ingest command of docs/api.md's quickstart, as a reader would paste it."""
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    line = next(li for li in text.splitlines() if li.startswith("archivist ingest sample_docs"))
    return shlex.split(line.split("#", 1)[0])[1:]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample index, built by the quickstart's own command (its README left out)."""
    path = tmp_path_factory.mktemp("cli") / "index"
    args = quickstart_ingest()
    args[args.index("--db") + 1] = str(path)
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    assert "8 documents" in proc.stdout and "8 added" in proc.stdout
    assert "FAILED" not in proc.stdout and "partial" not in proc.stdout
    assert "README" not in proc.stdout and "excluded" in proc.stdout
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
        "variants",
    }
    # The sample dispatches are distinct stories: no hit stands for other versions.
    assert all(hit["variants"] == [] for hit in hits)
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
    nope = run("ask", "x", "--db", str(db), "--backend", "nope")
    assert nope.returncode == 2 and nope.stderr.startswith("error: unknown answer backend 'nope'")


def test_a_backend_down_is_exit_3_in_one_line(db: Path) -> None:
    with LLMServer(status=500) as server:
        env = {"ARCHIVIST_LLM_BASE_URL": server.url, "ARCHIVIST_LLM_MAX_RETRIES": "0"}
        proc = run("ask", "When was the Kestrel probe launched?", "--db", str(db),
                   "--backend", "openai", env=env)  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


def test_piped_output_is_never_wrapped(db: Path, tmp_path: Path) -> None:
    long = tmp_path / ("a-dispatch-with-a-rather-long-file-name-" * 3 + "flood.pdf")
    long.write_bytes((SAMPLE_DOCS / "2011-04-19_brennach-flood_en.pdf").read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "ingest", str(long), "--db", str(tmp_path / "idx")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert len(first) > 120 and first.endswith(f"{long.name} (1 pages, 2 chunks)")


def test_verbose_shows_archivist_lines_not_http_clients(db: Path) -> None:
    question = ["ask", "When was the Kestrel probe launched?", "--db", str(db)]
    with LLMServer() as server:
        env = {"ARCHIVIST_LLM_BASE_URL": server.url, "ARCHIVIST_ANSWER_BACKEND": "openai"}
        quiet = run(*question, env=env)
        info = run("-v", *question, env=env)
        debug = run("-vv", *question, env=env)
    assert quiet.returncode == info.returncode == debug.returncode == 0, debug.stderr
    assert quiet.stderr == ""
    assert "INFO pipeline.registry: loading embedder kind use-multilingual" in info.stderr
    assert "httpx" not in info.stderr and "HTTP Request" not in info.stderr
    assert "INFO httpx: HTTP Request: POST " + server.url in debug.stderr


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


def test_convert_json_is_one_line_per_document(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "flood.pdf").write_bytes((SAMPLE_DOCS / "2011-04-19_brennach-flood_en.pdf").read_bytes())
    (src / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really")
    proc = run("convert", str(src), "--out", str(tmp_path / "out"), "--json")
    assert proc.returncode == 1  # one document failed
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    by_name = {Path(d["source"]).name: d for d in lines}
    assert by_name["broken.pdf"]["status"] == "failed" and by_name["broken.pdf"]["reason"]
    flood = by_name["flood.pdf"]
    assert flood["status"] == "ok" and flood["pages"] == 1 and flood["methods"] == {"text": 1}
    assert Path(flood["markdown"]).read_text(encoding="utf-8").startswith("<!-- page 1 -->")


def test_demo_json_answers_from_the_dispatches_not_the_readme(db: Path) -> None:
    proc = run("demo", "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    [data] = [json.loads(line) for line in proc.stdout.splitlines()]
    ingested = [Path(r["uri"]).name for r in data["ingest"]]
    assert len(ingested) == 8 and all(name.endswith(".pdf") for name in ingested)
    assert {r["action"] for r in data["ingest"]} == {"unchanged"}
    assert [a["language"] for a in data["answers"]] == ["en", "fr"]
    for answer in data["answers"]:
        assert answer["citations"] and not answer["answer"].startswith("#")
        assert all(c["source"].endswith(".pdf") for c in answer["citations"])


def test_watch_json_prints_one_line_per_file(tmp_path: Path) -> None:
    drop, db = tmp_path / "drop", tmp_path / "idx"
    drop.mkdir()
    (drop / "note.md").write_text("# Note\n\nThe Kestrel probe left in 1994.\n")
    (drop / "bad.pdf").write_bytes(b"%PDF-1.7\ngarbage")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    args = ["watch", str(drop), "--db", str(db), "--json", "--settle", "0.5", "--rescan", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [json.loads(proc.stdout.readline()) for _ in range(2)]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out == "" and proc.returncode == 0
    by_name = {Path(d["uri"]).name: d for d in lines}
    assert by_name["note.md"]["action"] == "added"
    assert by_name["bad.pdf"]["status"] == "failed" and by_name["bad.pdf"]["errors"]
    assert Path(by_name["bad.pdf"]["moved_to"]).parent.name == "failed"
    assert "watching" in err and "stopped: 2 files handled, 1 failed" in err
