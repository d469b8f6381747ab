"""The exception tree shared by every stage.

``ArchivistError`` is the root; callers that want "anything archivist raised" catch it.
``DocumentLoadError`` marks bad input (never retried); ``EngineError`` a backend failure, with a
``retryable`` flag so orchestration (Prefect, the HTTP client) knows whether to try again;
``StorageError``, an ``EngineError`` of the index's storage, carries the OS error code.
"""

from __future__ import annotations


class ArchivistError(Exception):
    """Root of every error archivist raises on purpose."""


class DocumentLoadError(ArchivistError):
    """The input itself is unusable: corrupt, encrypted, empty, unsupported. Never retried."""


class EngineError(ArchivistError):
    """A backend (OCR engine, embedder, LLM server) failed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class StorageError(EngineError):
    """The index's storage refused a write or a read: a full or read-only disk, a lost bucket.

    ``errno`` is the operating system's code when there is one (``errno.ENOSPC``...), so callers
    decide on it rather than on the message.
    """

    def __init__(self, message: str, *, errno: int | None = None, retryable: bool = False):
        super().__init__(message, retryable=retryable)
        self.errno = errno


class ConfigError(ArchivistError):
    """A setting or option is invalid (unknown backend kind, missing URL, ...)."""


class IndexSchemaError(ArchivistError):
    """The index on disk was built differently (embedder, dimension, schema) than requested."""
