"""Index files of a Milvus Lite folder that a stop or a kill left torn: found and removed before an engine starts,
so that Lite builds them again from the segment's data instead of refusing to load the collection."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def remove_torn_index_files(data_dir: Path) -> list[Path]:
    """Remove the index files of a Milvus Lite folder that a kill left torn; Lite builds them again on load.

    Milvus Lite (3.2.2) writes each segment's index files (`*.sidx`, Arrow files; `*.idx`, NumPy arrays) in place
    rather than to a temporary file it renames, so a kill while one is written leaves it torn, and at the next
    start loading that collection fails ("Not an Arrow file") and the store cannot open. They hold nothing the
    segment's data does not. Only done while no engine has the folder open (Lite's own LOCK file is free), so a
    file an engine is writing this instant is never taken for a torn one.
    """
    lock_path = Path(data_dir) / "LOCK"
    if not lock_path.exists():
        return []
    removed: list[Path] = []
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return []  # an engine (here or in another process) has it open
        try:
            for path in sorted(Path(data_dir).glob("collections/*/partitions/*/indexes/*")):
                if path.suffix in (".sidx", ".idx") and not _whole(path):
                    path.unlink()
                    removed.append(path)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    if removed:
        log.warning(
            "Milvus Lite in %s: removed %d torn index file(s) a kill left (%s); they are built again on load",
            data_dir,
            len(removed),
            ", ".join(p.name for p in removed[:5]),
        )
    return removed


def _whole(path: Path) -> bool:
    """Whether an index file reads: an Arrow file's footer, or a NumPy array's header and full length."""
    import numpy as np
    import pyarrow as pa

    try:
        if path.suffix == ".sidx":
            with pa.memory_map(str(path), "r") as source:
                pa.ipc.open_file(source)
        else:
            with path.open("rb") as fh:
                major, _ = np.lib.format.read_magic(fh)
                read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(fh)
                expected = fh.tell() + int(np.prod(shape)) * dtype.itemsize
            return os.path.getsize(path) >= expected
    except (OSError, ValueError, pa.ArrowInvalid):
        return False
    return True
