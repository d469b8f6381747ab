"""Storage errors with their OS error code: read once here, passed along as a number.

LanceDB reports a full disk as text (``lance error: LanceError(IO): No space left on device (os
error 28), /root/.cargo/.../structural.rs:191:9``). This module is the one place that reads such
text: ``as_storage_error`` turns an error the operating system caused into a ``StorageError``
carrying ``errno`` and a reason a person can act on, and everything above the store decides on
``StorageError.errno`` (and ``StageError.errno`` in results), never on messages.
"""

from __future__ import annotations

import errno
import os
import re

from pipeline.errors import StorageError

# "No space left on device (os error 28)" inside a Lance error's text (the Rust io::Error).
_OS_ERROR = re.compile(r"\(os error (\d+)\)")
_STORAGE_HINTS = {
    errno.ENOSPC: ": the disk holding the index is full; free space, then run again",
    errno.EDQUOT: ": the disk quota of the index's storage is used up",
    errno.EROFS: ": the storage holding the index is mounted read-only",
}


def os_error_code(error: BaseException) -> int | None:
    """The errno of a ``StorageError`` or ``OSError``, or the one Lance quotes in its error
    text, else None."""
    if isinstance(error, StorageError):
        return error.errno
    if isinstance(error, OSError) and error.errno:
        return int(error.errno)
    found = _OS_ERROR.search(str(error))
    return int(found.group(1)) if found else None


def storage_reason(error: BaseException) -> str:
    """The operating system's reason inside a storage error, without Lance's source location,
    and a hint when the disk is full or read-only.

    >>> storage_reason(OSError(30, "Read-only file system"))
    'Read-only file system (os error 30): the storage holding the index is mounted read-only'
    """
    if isinstance(error, StorageError):
        return str(error)
    code = os_error_code(error)
    if code is None:
        return str(error)
    return f"{os.strerror(code)} (os error {code})" + _STORAGE_HINTS.get(code, "")


def as_storage_error(error: BaseException) -> StorageError | None:
    """``error`` as a ``StorageError`` when the operating system caused it, else None.

    >>> as_storage_error(OSError(28, "No space left on device")).errno
    28
    """
    if isinstance(error, StorageError):
        return error
    code = os_error_code(error)
    return None if code is None else StorageError(storage_reason(error), errno=code)
