"""``/v1/documents`` and ``/v1/ingest`` over HTTP: paging, Markdown, deletion, uploads, limits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.api.conftest import ADMIN_KEY, FLOOD, HEAT, MAX_UPLOAD_BYTES, STRIKE, WIRE_KEY, Api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MakePdf = Callable[..., Path]


def _pdf(write_pdf: MakePdf, name: str, text: str) -> bytes:
    return write_pdf(name, [f"<h1>{name}</h1><p>{text}</p>"], title=name).read_bytes()


def test_documents_are_paged(api: Api) -> None:
    with api.client() as c:
        first = c.get("/v1/documents", params={"collection": "press", "limit": 1}).json()
        second = c.get(
            "/v1/documents", params={"collection": "press", "limit": 1, "offset": 1}
        ).json()
        past = c.get("/v1/documents", params={"collection": "press", "offset": 5}).json()
        bad = c.get("/v1/documents", params={"limit": 0})
    assert first["total"] == second["total"] == 2
    assert first["next_offset"] == 1 and second["next_offset"] is None
    ids = {first["items"][0]["doc_id"], second["items"][0]["doc_id"]}
    assert ids == {api.doc_ids[STRIKE], api.doc_ids[HEAT]}
    assert "markdown" not in first["items"][0]
    assert past["items"] == [] and past["next_offset"] is None
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "limit"


def test_document_detail_has_metadata_and_markdown(api: Api) -> None:
    with api.client() as c:
        heat = c.get(f"/v1/documents/{api.doc_ids[HEAT]}").json()
        flood = c.get(f"/v1/documents/{api.doc_ids[FLOOD]}").json()
        missing = c.get("/v1/documents/" + "0" * 64)
        bad_id = c.get("/v1/documents/not%20an%20id")
    assert heat["title"].startswith("Canicule") and heat["date"] == "2003-08-11"
    assert heat["status"] == "ok" and heat["language"] == "fr"
    assert "<!-- page 1 -->" in heat["markdown"] and "41,7" in heat["markdown"]
    assert flood["collection"] == "wire" and flood["language"] == "en"
    assert flood["page_methods"] == ["text"] and flood["errors"] == []
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    assert bad_id.status_code == 422


def test_upload_ingest_search_replace_delete(api: Api, write_pdf: MakePdf) -> None:
    v1 = _pdf(write_pdf, "v1.pdf", "The Quarrendon lighthouse was relit on 9 May 1991.")
    v2 = _pdf(write_pdf, "v2.pdf", "The Quarrendon lighthouse was relit on 14 June 1992.")
    uploads = api.db / "uploads"
    with api.client() as c:
        added = c.post(
            "/v1/ingest",
            files={"files": ("lighthouse.pdf", v1, "application/pdf")},
            data={"collection": "uploads", "source": "Coastal Gazette"},
        )
        assert added.status_code == 200, added.text
        result = added.json()["files"][0]
        assert (result["action"], result["status"], result["pages"]) == ("added", "ok", 1)
        first_id = result["doc_id"]
        assert (uploads / first_id / "lighthouse.pdf").read_bytes() == v1
        hits = c.post("/v1/search", json={"query": "Quarrendon lighthouse relit"}).json()["hits"]
        assert hits[0]["doc_id"] == first_id and hits[0]["source"] == "Coastal Gazette"

        again = c.post(
            "/v1/ingest",
            files={"files": ("lighthouse.pdf", v1, "application/pdf")},
            data={"collection": "uploads"},
        ).json()
        assert again["files"][0]["action"] == "unchanged"

        replaced = c.post(
            "/v1/ingest",
            files={"files": ("lighthouse.pdf", v2, "application/pdf")},
            data={"collection": "uploads"},
        ).json()["files"][0]
        assert replaced["action"] == "replaced"
        assert not (uploads / first_id).exists()  # the old version's file went with it
        assert c.get(f"/v1/documents/{first_id}").status_code == 404
        text = c.post("/v1/search", json={"query": "Quarrendon lighthouse relit"}).json()
        assert "1992" in text["hits"][0]["text"]

        second_id = replaced["doc_id"]
        deleted = c.delete(f"/v1/documents/{second_id}")
        assert deleted.status_code == 200 and deleted.json()["deleted"] == second_id
        assert deleted.json()["chunks"] >= 1
        assert c.get(f"/v1/documents/{second_id}").status_code == 404
        assert not (uploads / second_id).exists()
        after = c.post("/v1/search", json={"query": "Quarrendon lighthouse relit"}).json()
        assert second_id not in {h["doc_id"] for h in after["hits"]}


def test_per_file_status_in_one_request(api: Api, write_pdf: MakePdf) -> None:
    good = _pdf(write_pdf, "good.pdf", "The Veldmoor tram line reopened in 1996.")
    note = b"# Harbour log\n\nThe Veldmoor ferry made 412 crossings in 1995.\n"
    broken = b"%PDF-1.7\n this is not really a PDF at all \n%%EOF"
    with api.client() as c:
        r = c.post(
            "/v1/ingest",
            files=[
                ("files", ("good.pdf", good, "application/pdf")),
                ("files", ("log.md", note, "text/markdown")),
                ("files", ("broken.pdf", broken, "application/pdf")),
            ],
            data={"collection": "uploads"},
        )
    assert r.status_code == 200, r.text
    files = {f["filename"]: f for f in r.json()["files"]}
    assert files["good.pdf"]["action"] == "added" and files["log.md"]["action"] == "added"
    assert files["broken.pdf"]["action"] == "failed" and files["broken.pdf"]["errors"]
    assert r.json()["counts"] == {"added": 2, "failed": 1}


@pytest.mark.parametrize(
    "name, data, status, message",
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 415, "'.png' is not supported"),
        ("report.pdf", b"<html>not a pdf</html>", 415, "not a PDF"),
        ("notes.txt", "café".encode("latin-1"), 415, "not UTF-8"),
        ("noext", b"plain words", 415, "without extension"),
        ("big.pdf", b"%PDF-1.7\n" + b"0" * MAX_UPLOAD_BYTES, 413, "over the limit"),
    ],
)
def test_bad_uploads_are_refused_whole(
    api: Api, write_pdf: MakePdf, name: str, data: bytes, status: int, message: str
) -> None:
    good = _pdf(write_pdf, "fine.pdf", f"A good file sent beside {name}.")
    with api.client() as c:
        before = c.get("/v1/documents", params={"collection": "refused"}).json()["total"]
        r = c.post(
            "/v1/ingest",
            files=[
                ("files", ("fine.pdf", good, "application/pdf")),
                ("files", (name, data, "application/octet-stream")),
            ],
            data={"collection": "refused"},
        )
        after = c.get("/v1/documents", params={"collection": "refused"}).json()["total"]
    assert r.status_code == status, r.text
    assert message in r.json()["error"]["message"]
    assert before == after == 0  # nothing of a refused request is ingested
    assert not list((api.db / "uploads" / ".incoming").glob("*"))


def test_too_many_files_is_413(api: Api) -> None:
    files = [("files", (f"n{i}.md", b"# Note\n\nText.", "text/markdown")) for i in range(4)]
    with api.client() as c:
        r = c.post("/v1/ingest", files=files, data={"collection": "refused"})
    assert r.status_code == 413 and "limit is 3" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "filename, kept",
    [
        ("../../../outside.md", "outside.md"),
        ("..\\..\\windows.md", "windows.md"),
        ("/etc/absolute.md", "absolute.md"),
        ("..", "upload"),
        ("sub/.hidden.md", "hidden.md"),
    ],
)
def test_file_names_cannot_escape_the_uploads_folder(api: Api, filename: str, kept: str) -> None:
    body = f"# Escape test\n\nA note sent as {filename!r}.\n".encode()
    with api.client() as c:
        r = c.post(
            "/v1/ingest",
            files={"files": (filename, body, "text/markdown")},
            data={"collection": "uploads"},
        )
    assert r.status_code == 200, r.text  # a name with nothing left is "upload" (text/markdown)
    stored = r.json()["files"][0]["stored_as"]
    assert stored.endswith("/" + kept) and stored.count("/") == 1
    path = (api.db / "uploads" / stored).resolve()
    assert path.read_bytes() == body
    assert (api.db / "uploads").resolve() in path.parents
    root = api.db.parent
    assert not any(p.name == kept for p in root.rglob(kept) if "uploads" not in p.parts)


def test_scoped_key_uploads_into_its_collection(api: Api) -> None:
    note = b"# Wire flash\n\nThe Orlesse dam inquiry opened on 2 March 1999.\n"
    with api.client(WIRE_KEY) as c:
        r = c.post("/v1/ingest", files={"files": ("flash.md", note, "text/markdown")})
        assert r.status_code == 200 and r.json()["collection"] == "wire"
        other = c.post(
            "/v1/ingest",
            files={"files": ("flash2.md", note + b"more", "text/markdown")},
            data={"collection": "press"},
        )
        assert other.status_code == 403
    with api.client(ADMIN_KEY) as c:
        doc = c.get(f"/v1/documents/{r.json()['files'][0]['doc_id']}").json()
    assert doc["collection"] == "wire" and doc["uri"] == "upload://wire/flash.md"
