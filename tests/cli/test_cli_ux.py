"""What a user of the command expects: a mistyped index or setting is one line and exit 2, never
a new empty index or a traceback; excluded files; the documents view; --version and -v."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from pipeline.models import Chunk, DocumentRecord, StageError, StoreOptions
from pipeline.store import LanceChunkStore

KEY = "cli-test-key-0123456789"
READING = [
    ["search", "grève"],
    ["ask", "Qui a gagné ?"],
    ["documents", "list"],
    ["documents", "show", "0123456789ab"],
    ["serve", "--port", "0"],
]


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("command", READING, ids=lambda c: " ".join(c[:2]))
def test_reading_commands_refuse_a_location_without_an_index(
    tmp_path: Path, command: list[str]
) -> None:
    typo = tmp_path / "typo"
    result = CliRunner().invoke(app, [*command, "--db", str(typo)])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"no index at {typo}" in line and "archivist ingest" in line
    assert not typo.exists()  # nothing created on the way


@pytest.mark.parametrize("command", [["search", "x"], ["ingest", "."], ["documents", "list"]])
def test_a_file_given_as_the_index_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str]
) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("not an index")
    result = CliRunner().invoke(app, [*command, "--db", str(file)])
    assert result.exit_code == 2
    assert f"{file} is a file, not an index folder" in _one_error_line(result)
    assert file.read_text() == "not an index"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('ocr_engnie = "vlm"\n', "unknown key 'ocr_engnie' (did you mean 'ocr_engine'?); known: "),
        ('[convert]\nocrr = "never"\n', "unknown key 'convert.ocrr' (did you mean 'ocr'?); known"),
        ('[answer.llm]\nbase_ulr = "x"\n', "known in [answer.llm]: api_key, base_url,"),
        ("ocr_dpi = [\n", "archivist.toml: not valid TOML: "),
        ('ocr_dpi = "high"\n', "invalid setting convert.dpi: Input should be a valid integer"),
    ],
)
def test_a_bad_archivist_toml_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, expected: str
) -> None:
    (tmp_path / "archivist.toml").write_text(toml, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["ingest", str(tmp_path), "--db", str(tmp_path / "idx")])
    assert result.exit_code == 2
    assert expected in _one_error_line(result)
    assert not (tmp_path / "idx").exists()


def test_keys_of_every_settings_class_are_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.settings import ApiSettings
    from flows.runners import RunnerSettings
    from pipeline.settings import Settings

    (tmp_path / "archivist.toml").write_text(
        'api_rate_limit = 7\ntask_runner = "dask"\nocr_engine = "rapidocr"\n'
        '[convert.vlm]\nbase_url = "http://gpu:8000/v1"\n[store]\nstorage_options = {x = "y"}\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.convert.engine == "rapidocr" and settings.convert.vlm is not None
    assert ApiSettings().api_rate_limit == 7 and RunnerSettings().task_runner == "dask"


def test_ingest_exclude_leaves_files_out_and_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    (folder / "drafts").mkdir(parents=True)
    (folder / "README.md").write_text("# About\n\nQuestion table: who won?\n")
    (folder / "strike.md").write_text("# Strike\n\nThe dockers of Port-Aurèle stopped work.\n")
    (folder / "drafts" / "draft.md").write_text("# Draft\n\nNot ready.\n")
    db = tmp_path / "idx"
    result = CliRunner().invoke(
        app,
        ["ingest", str(folder), "--db", str(db), "--exclude", "README*", "--exclude", "drafts/**"],
    )
    assert result.exit_code == 0, result.output
    assert "1 documents: 1 added, 2 excluded (--exclude)" in result.stdout
    listed = json.loads(
        CliRunner().invoke(app, ["documents", "list", "--db", str(db), "--json"]).stdout
    )
    assert [Path(d["uri"]).name for d in listed["items"]] == ["strike.md"]


def _index(path: Path, embedder) -> list[str]:  # type: ignore[no-untyped-def]
    """An index with three documents (one failed, one in another collection)."""
    store = LanceChunkStore(StoreOptions(uri=str(path)), embedder=embedder.name, dim=embedder.dim)
    ids = []
    rows = [
        ("strike.pdf", "press", "ok", "fr", "1983-05-12"),
        ("flood.pdf", "press", "ok", "en", "2011-04-19"),
        ("broken.pdf", "letters", "failed", None, None),
    ]
    for name, collection, status, lang, date in rows:
        doc_id = hashlib.sha256(name.encode()).hexdigest()
        ids.append(doc_id)
        errors = [StageError(stage="convert", message="corrupt PDF")] if status == "failed" else []
        chunks = (
            []
            if errors
            else [Chunk(chunk_id=Chunk.make_id(doc_id, 0), doc_id=doc_id, ordinal=0, text=name)]
        )
        record = DocumentRecord(
            doc_id=doc_id, uri=f"/archive/{name}", title=name.upper(), collection=collection,
            status=status, language=lang, date=date, errors=errors, chunks=len(chunks),
            pages=0 if errors else 1, markdown=f"<!-- page 1 -->\n{name}",
        )  # fmt: skip
        vectors = embedder.embed_documents([c.text for c in chunks]) if chunks else None
        store.write_document(record, chunks, vectors)
    return ids


def test_documents_list_show_delete_match_the_api(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import KeyRing
    from api.settings import ApiSettings
    from pipeline.archive import Archive
    from pipeline.settings import Settings

    db = tmp_path / "idx"
    strike, flood, broken = _index(db, embedder)
    run = CliRunner().invoke

    everything = json.loads(run(app, ["documents", "list", "--db", str(db), "--json"]).stdout)
    archive = Archive(Settings(db=str(db)).options())
    archive.__dict__["embedder"] = embedder  # the session's, already loaded
    api_settings = ApiSettings(api_keys=KEY, api_refresh_s=0)  # sees the CLI's writes at once
    keys = KeyRing.from_settings(api_settings)
    client = TestClient(create_app(archive=archive, api_settings=api_settings, keys=keys))
    client.headers["Authorization"] = f"Bearer {KEY}"
    assert everything == client.get("/v1/documents").json()
    assert everything["total"] == 3

    failed = json.loads(
        run(app, ["documents", "list", "--db", str(db), "--failed", "--json"]).stdout
    )
    assert [d["doc_id"] for d in failed["items"]] == [broken]
    assert failed == client.get("/v1/documents", params={"status": "failed"}).json()
    assert failed["items"][0]["errors"][0]["message"] == "corrupt PDF"
    french = run(app, ["documents", "list", "--db", str(db), "--language", "fr", "--json"])
    assert [d["doc_id"] for d in json.loads(french.stdout)["items"]] == [strike]
    paged = json.loads(
        run(app, ["documents", "list", "--db", str(db), "--limit", "2", "--json"]).stdout
    )
    assert paged["next_offset"] == 2 and len(paged["items"]) == 2

    text = run(app, ["documents", "list", "--db", str(db), "--collection", "letters"]).stdout
    assert text.splitlines()[0].startswith(broken[:12]) and "(convert: corrupt PDF)" in text

    shown = json.loads(
        run(app, ["documents", "show", flood[:10], "--db", str(db), "--json"]).stdout
    )
    assert shown["doc_id"] == flood and shown["markdown"].endswith("flood.pdf")
    assert shown == client.get(f"/v1/documents/{flood}").json()
    assert shown["variants"] == []

    ambiguous = run(app, ["documents", "show", "nothere1", "--db", str(db)])
    assert ambiguous.exit_code == 2 and "no document nothere1" in ambiguous.stderr

    refused = run(app, ["documents", "delete", flood, "missing99", "--db", str(db)])
    assert refused.exit_code == 2  # every id is checked first: nothing deleted
    assert client.get(f"/v1/documents/{flood}").status_code == 200
    deleted = run(app, ["documents", "delete", flood[:12], "--db", str(db), "--json"])
    assert json.loads(deleted.stdout) == {"deleted": flood, "chunks": 1}
    assert client.get(f"/v1/documents/{flood}").status_code == 404
    store = LanceChunkStore.open(StoreOptions(uri=str(db)))
    assert store.chunks_of(flood) == [] and len(store.chunks_of(strike)) == 1


def test_version_and_verbosity_are_documented() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"archivist {version('archivist')}"
    helped = CliRunner().invoke(app, ["--help"]).stdout
    assert "--verbose" in helped and "-vv" in helped and "--version" in helped


def test_object_storage_location_is_checked_without_creating_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from pipeline.errors import ConfigError
    from pipeline.store import check_location
    from tests.connectors.s3_server import put_objects, s3_server

    with s3_server(monkeypatch) as endpoint:
        put_objects(endpoint, "archives", {"other/readme.txt": b"x"})
        options = {"aws_endpoint": endpoint, "allow_http": "true", "aws_region": "us-east-1"}
        opts = StoreOptions(uri="s3://archives/index", storage_options=options)
        with pytest.raises(ConfigError, match="no index at s3://archives/index"):
            check_location(opts, create=False)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="archives").get("Contents", [])]
        assert keys == ["other/readme.txt"]
        LanceChunkStore(opts, embedder="toy", dim=4)  # what ingest does: the tables appear
        check_location(opts, create=False)
