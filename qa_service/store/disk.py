"""A write the disk refused (full, over a file-size limit, failing) becomes one domain error, `StorageFullError`.

SQLite reports a full disk as SQLITE_FULL and a write the kernel refused (EFBIG past `ulimit -f`, EIO) as
SQLITE_IOERR; files written directly fail with OSError. Without this the API answered a bare 500 (or reset the
connection) and `ingest` printed a traceback. The transaction was rolled back either way: nothing half-written
is left, and the service keeps answering from what was committed.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from qa_service.errors import StorageFullError

_SQLITE_IOERR = 10
_SQLITE_FULL = 13
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO})


def disk_refused(exc: BaseException) -> bool:
    """Whether `exc` is the disk refusing a write (as opposed to a bug, a lock or a damaged file)."""
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", 0) & 0xFF in (_SQLITE_IOERR, _SQLITE_FULL)
    return isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Raise StorageFullError, naming `what` was not done, when the disk refuses a write inside the block."""
    try:
        yield
    except (sqlite3.OperationalError, OSError) as exc:
        if not disk_refused(exc):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StorageFullError(
            f"{what}: the index could not be written ({reason}); the disk is full, over a file-size limit or "
            "failing. Nothing was changed; free space and retry"
        ) from exc
