"""`make setup`'s torch step: the CPU index when it answers, pip's configuration otherwise but never CUDA.

pip runs for real here, in dry-run mode, against local stand-ins: a PEP 503 index served over HTTP (the CPU
index answering), and a folder of wheels with pip's configuration files switched off (the index unreachable).
"""

from __future__ import annotations

import http.server
import importlib.metadata
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from devtools.devserver import free_port

from ..conftest import ROOT

SCRIPT = ROOT / "tools" / "install_torch.py"
_spec = importlib.util.spec_from_file_location("install_torch", SCRIPT)
assert _spec is not None and _spec.loader is not None
install_torch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(install_torch)
PIN = install_torch.pinned_torch()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without a log line per request."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


VERSION = PIN.removeprefix("torch==")


def test_the_installed_torch_is_the_pinned_cpu_build() -> None:
    import torch

    assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build"
    assert torch.__version__.split("+")[0] == VERSION
    cuda = [d.metadata["Name"] for d in importlib.metadata.distributions() if install_torch.CUDA_PACKAGE.match(d.name)]
    assert cuda == [], f"CUDA packages installed: {cuda}"


def test_the_dockerfile_installs_the_same_torch_from_the_same_index() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(rf"pip install {re.escape(PIN)} --index-url {re.escape(install_torch.CPU_INDEX)}\s", dockerfile)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"TORCH_INDEX ?= {install_torch.CPU_INDEX}\n" in makefile


WHEEL = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal wheel: pip's resolver reads only its metadata."""
    dist = f"{name.replace('-', '_')}-{version}.dist-info"
    path = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{dist}/METADATA", metadata)
        wheel.writestr(f"{dist}/WHEEL", WHEEL)
        wheel.writestr(f"{dist}/RECORD", f"{dist}/METADATA,,\n{dist}/WHEEL,,\n{dist}/RECORD,,\n")
    return path


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--print-only", *args], capture_output=True, text=True, env=env, timeout=120
    )


def _no_pip_config(**extra: str) -> dict[str, str]:
    """pip without this machine's configuration files (its local indexes), plus `extra` PIP_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


@pytest.fixture
def cpu_index(tmp_path: Path) -> Iterator[str]:
    """A PEP 503 index on 127.0.0.1 with one torch: a CPU build of the pinned version, no dependencies."""
    root = tmp_path / "index"
    (root / "torch").mkdir(parents=True)
    wheel = _wheel(root, "torch", f"{VERSION}+cpu")
    href = f"../{wheel.name.replace('+', '%2B')}"
    (root / "torch" / "index.html").write_text(f'<html><body><a href="{href}">{wheel.name}</a></body></html>')
    handler = partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_reachable_cpu_index_is_used_and_pip_takes_torch_from_it(cpu_index: str, tmp_path: Path) -> None:
    result = _run("--index", cpu_index, env=_no_pip_config())
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{cpu_index} answers" in result.stdout
    command = result.stdout.strip().splitlines()[-1].split()
    assert command[-3:] == [PIN, "--index-url", cpu_index]
    # What that command would install, asked of pip itself.
    report = tmp_path / "report.json"
    dry_run = [*command, "--dry-run", "--ignore-installed", "--quiet", "--report", str(report)]
    subprocess.run(dry_run, check=True, env=_no_pip_config(), timeout=120)
    planned = json.loads(report.read_text())["install"]
    assert [(p["metadata"]["name"], p["metadata"]["version"]) for p in planned] == [("torch", f"{VERSION}+cpu")]
    assert planned[0]["download_info"]["url"].startswith(cpu_index)


def test_an_unreachable_index_falls_back_to_pip_configuration_quickly(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "torch", f"{VERSION}+cpu")
    closed = f"http://127.0.0.1:{free_port()}"
    result = _run("--index", closed, env=_no_pip_config(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{closed} cannot be reached" in result.stdout
    assert result.stdout.strip().splitlines()[-1].split()[-3:] == ["pip", "install", PIN]  # no --index-url


def test_a_cuda_build_from_pip_configuration_is_refused(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "torch", VERSION, requires=("nvidia-cublas-cu12", "triton"))  # what PyPI's Linux wheel needs
    _wheel(wheels, "nvidia-cublas-cu12", "12.0")
    _wheel(wheels, "triton", "3.0")
    closed = f"http://127.0.0.1:{free_port()}"
    result = _run("--index", closed, env=_no_pip_config(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels)))
    assert result.returncode == 1
    assert "2 CUDA packages (nvidia-cublas-cu12, triton" in result.stdout
    assert "TORCH_INDEX=" in result.stdout
    assert "pip install" not in result.stdout, result.stdout  # nothing is installed


def test_an_index_that_never_answers_is_given_up_on() -> None:
    with socket.socket() as listener:  # accepts connections, never replies
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        why = install_torch.unreachable(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_s=1.0)
    assert why is not None and ("1 s" in why or "timed out" in why)  # it gave up on the timeout, and says so
