"""Milvus Lite as a server in a process of its own (tests and benchmarks; a deployment runs Milvus itself). Before
it starts, what the last engine left torn is removed (qa_service/store/milvus/repair.py)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from qa_service.store.milvus.connection import StoreUnavailableError, connect
from qa_service.store.milvus.repair import remove_torn_index_files


@contextlib.contextmanager
def lite_server(
    data_dir: Path | str,
    *,
    timeout_s: float = 60.0,
    stop_timeout_s: float = 300.0,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Milvus Lite as a server in a process of its own (what Milvus standalone is to a deployment): yields its
    URI and process. Several clients (API replicas, a writer, a benchmark) share it, and it outlives them."""
    from devtools.devserver import free_port

    port = free_port()
    remove_torn_index_files(Path(data_dir))  # what a stop or kill of the last engine left torn
    process = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                connect(uri).close()
                break
            except StoreUnavailableError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise StoreUnavailableError(f"Milvus Lite server on port {port} did not start") from None
                time.sleep(0.2)
        yield uri, process
    finally:
        process.terminate()  # its files are not always whole after a stop (seen: "Not an Arrow file" on restart)
        try:
            process.wait(timeout=stop_timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
