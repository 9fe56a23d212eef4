"""A local `qa-service serve` in a child process, for the benchmark, the load test and end-to-end tests.

One place knows how to start it on a free loopback port, wait until `/health` answers, and stop it with
all its workers (it runs in its own process group), so those three never drift apart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx


class ServerStartError(RuntimeError):
    """The server exited or never became healthy; the message ends with the tail of its log."""


@dataclass(frozen=True)
class LocalServer:
    url: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def measured_env(index_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's settings for a server to measure: offline, and no rate limit (a 429 measures nothing).

    QA_RATE_LIMIT is set empty rather than removed, so an `.env` file cannot bring a limit back.
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "QA_RATE_LIMIT": ""}
    if index_dir is not None:
        env["QA_INDEX_DIR"] = str(index_dir)
    return {**env, **extra}


@contextlib.contextmanager
def local_server(
    env: Mapping[str, str],
    *,
    args: Sequence[str] = (),
    log_path: Path | None = None,
    cwd: Path | None = None,
    timeout_s: float = 180,
) -> Iterator[LocalServer]:
    """`python -m qa_service serve --host 127.0.0.1 --port <free> *args`; yields once `/health` is 200."""
    port = free_port()
    command = [sys.executable, "-m", "qa_service", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(log_path.open("wb")) if log_path else subprocess.DEVNULL
        process = subprocess.Popen(
            command, cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        stack.callback(_stop, process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise ServerStartError(f"the server exited with status {process.returncode}{_tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise ServerStartError(f"the server did not answer /health within {timeout_s:.0f} s{_tail(log_path)}")
            time.sleep(0.25)
        yield LocalServer(url, process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole group (uvicorn's workers too), SIGKILL what is still there after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _tail(log_path: Path | None) -> str:
    if log_path is None or not log_path.exists():
        return ""
    return ":\n" + log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
