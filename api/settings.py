"""What an operator sets for the HTTP server, beside the index ``Settings``.

Same sources as ``pipeline.settings.Settings``: env ``ARCHIVIST_*`` (``ARCHIVIST_API_KEYS``,
``ARCHIVIST_API_KEYS_FILE``...), an optional ``archivist.toml``, explicit values on top.

>>> ApiSettings(api_max_upload_mb=5).max_upload_bytes
5242880
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import Field

from pipeline.settings import ArchivistSettings

MIB = 1024 * 1024


class ApiSettings(ArchivistSettings):
    """Keys, limits and storage of the REST server. Env names: the field names, upper-cased."""

    api_keys: str = Field(
        default="",
        description="comma-separated keys; 'KEY:collA|collB' scopes a key to collections",
    )
    api_keys_file: Path | None = Field(
        default=None, description="TOML file of [[keys]] (name, key or sha256, collections, scopes)"
    )
    api_insecure: bool = Field(
        default=False,
        description="serve clients beyond loopback without any key (behind a trusted gateway)",
    )
    api_rate_limit: int = Field(
        default=0, ge=0, description="requests a minute per key (0: no limit)"
    )
    api_cors_origins: str = Field(
        default="", description="comma-separated browser origins allowed to call the API"
    )
    api_max_upload_mb: float = Field(default=50.0, gt=0, description="per uploaded file")
    api_max_files: int = Field(default=20, ge=1, description="files per ingest request")
    api_max_json_kb: int = Field(default=256, ge=1, description="body size of JSON requests")
    api_uploads_dir: str | None = Field(
        default=None, description="where uploads are kept (default: <db>/uploads)"
    )
    api_refresh_s: float = Field(
        default=5.0,
        ge=0,
        description="how often to pick up writes made by other processes (CLI, watcher)",
    )
    api_ready_wait_s: float = Field(
        default=30.0, ge=0, description="how long a request waits for models to load before 503"
    )
    api_page_image_px: int = Field(
        default=1200, ge=200, le=4000, description="width of page images, in pixels"
    )
    api_page_cache_mb: float = Field(
        default=256.0, gt=0, description="disk kept for rendered page images (oldest-used go)"
    )
    api_page_cache_dir: str | None = Field(
        default=None, description="where page images are cached (default: <db>/page-images)"
    )
    api_chat_sources_footer: bool = Field(
        default=False,
        description="append a Sources list to chat answers (for UIs that ignore extra fields)",
    )

    @property
    def max_upload_bytes(self) -> int:
        return int(self.api_max_upload_mb * MIB)

    @property
    def max_json_bytes(self) -> int:
        return self.api_max_json_kb * 1024

    @property
    def max_ingest_body_bytes(self) -> int:
        """A whole multipart request: every file at its limit, plus room for the form framing."""
        return self.max_upload_bytes * self.api_max_files + MIB

    def page_cache_dir(self, db: str) -> Path:
        """Where rendered page images are kept: beside the index, or a temporary folder when the
        index is remote."""
        if self.api_page_cache_dir:
            return Path(self.api_page_cache_dir)
        if "://" in db:
            return Path(tempfile.gettempdir()) / "archivist-page-images"
        return Path(db) / "page-images"

    def uploads_dir(self, db: str) -> Path | None:
        """Where uploaded files are kept; None when the index is remote and no folder is set."""
        if self.api_uploads_dir:
            return Path(self.api_uploads_dir)
        if "://" in db:
            return None
        return Path(db) / "uploads"
