"""Uploaded files: safe names, type checks, size limits, and where they are kept.

An upload lands in ``<uploads>/.incoming/`` while it is received (hashed and counted on the way,
413 past the limit), is checked by content (415 unless PDF, Markdown or UTF-8 text), then moves to
``<uploads>/<doc_id>/<safe name>`` (the document's id: the bytes' sha256 within its collection;
a failed file's record id). A client's file name never chooses a folder: only its last
component survives ``safe_filename``, and the final path is checked to lie in the uploads folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fastapi import UploadFile

from api.errors import ApiError

READ_BLOCK = 1024 * 1024
MAX_NAME_BYTES = 200  # file systems allow 255; leave room for a suffix
TEXT_TYPES = {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain"}
SUPPORTED = "PDF (.pdf), Markdown (.md) or UTF-8 text (.txt)"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_filename(name: str | None, *, default: str = "upload") -> str:
    """A file name that stays where it is put: no folders, no control characters, no dot files.

    >>> safe_filename("../../etc/passwd")
    'passwd'
    >>> safe_filename("..\\\\..\\\\boot.ini")
    'boot.ini'
    >>> safe_filename("rapport d'activité 2024.pdf")
    "rapport d'activité 2024.pdf"
    >>> safe_filename("..")
    'upload'
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if not name:
        return default
    stem, suffix = os.path.splitext(name)
    suffix = suffix[:16]
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return (stem + suffix) or default


def inside(folder: Path, *parts: str) -> Path:
    """``folder/parts...``, refusing any result outside ``folder`` (belt and braces)."""
    root = folder.resolve()
    target = root.joinpath(*parts).resolve()
    if target == root or root not in target.parents:
        raise ApiError(422, "file name resolves outside the uploads folder")
    return target


def upload_folder(uploads: Path | None, doc_id: str) -> Path | None:
    """The folder holding the upload of ``doc_id``, or None if there can be none."""
    if uploads is None:
        return None
    try:
        return inside(uploads, doc_id)
    except ApiError:
        return None


@dataclass
class Spooled:
    """A received file waiting in ``.incoming``: its names, hash, size and checked media type."""

    original: str
    name: str
    temp: Path
    sha256: str
    size: int
    media_type: str


async def spool(upload: UploadFile, incoming: Path, *, max_bytes: int) -> Spooled:
    """Receive ``upload`` into ``incoming``, hashing it; 413 past ``max_bytes``, 415 if unusable."""
    original = upload.filename or ""
    name = safe_filename(original)
    incoming.mkdir(parents=True, exist_ok=True)
    temp = incoming / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with temp.open("wb") as out:
            while block := await upload.read(READ_BLOCK):
                size += len(block)
                if size > max_bytes:
                    raise ApiError(
                        413, f"{original or name}: file over the limit of {max_bytes} bytes"
                    )
                if len(head) < 1024:
                    head += block[: 1024 - len(head)]
                digest.update(block)
                out.write(block)
        media_type = media_type_of(name, head, temp, declared=upload.content_type)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return Spooled(original, name, temp, digest.hexdigest(), size, media_type)


def media_type_of(name: str, head: bytes, path: Path, *, declared: str | None = None) -> str:
    """The media type by content: PDF when ``%PDF-`` starts the file, text only if it is UTF-8."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".pdf":
        raise ApiError(415, f"{name}: not a PDF (it does not start with %PDF-); send {SUPPORTED}")
    declared = (declared or "").split(";", 1)[0].strip().lower()
    media_type = TEXT_TYPES.get(suffix) or (
        declared if declared in ("text/plain", "text/markdown") and not suffix else None
    )
    if media_type is None:
        kind = f"type {suffix!r}" if suffix else "a file without extension"
        raise ApiError(415, f"{name}: {kind} is not supported; send {SUPPORTED}")
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ApiError(415, f"{name}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    if b"\x00" in data:
        raise ApiError(415, f"{name}: binary content in a text file")
    return media_type


def place(source: Path, uploads: Path, doc_id: str, name: str) -> Path:
    """Move ``source`` to ``<uploads>/<doc_id>/<name>`` and return its new path."""
    target = inside(uploads, doc_id, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    with contextlib.suppress(OSError):  # the folder it left, once empty
        source.parent.rmdir()
    return target


def remove_upload(path: Path) -> None:
    """Remove one placed file, and its folder once empty."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()
