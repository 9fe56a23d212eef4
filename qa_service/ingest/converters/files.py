"""Reading an article file: only a regular file is read; anything else is refused at once, by name.

Reading a FIFO (`mkfifo d/pipe.txt`) blocked `ingest` for good, and the rest of its batch with it; a device
never ends.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from qa_service.errors import InvalidDocumentError


def read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file; InvalidDocumentError (without waiting) for anything else."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO with no writer would block the open itself
    try:
        check_mode(os.fstat(fd).st_mode)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


def require_regular(path: Path) -> None:
    """InvalidDocumentError unless `path` (followed through links) is a regular file; `stat` never blocks."""
    check_mode(os.stat(path).st_mode)


def check_mode(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise InvalidDocumentError(f"not a regular file but {_kind(mode)}")


def _kind(mode: int) -> str:
    kinds: tuple[tuple[Callable[[int], bool], str], ...] = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((name for test, name in kinds if test(mode)), "not a file")
