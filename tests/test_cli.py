"""The command line: ingest reports bad files by name, ask --json matches /ask, --help works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SEEDS

pytestmark = pytest.mark.slow


def run_cli(*args: str, index: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QA_INDEX_DIR": str(index), "QA_SEEDS_DIR": str(SEEDS)}
    return subprocess.run(
        [sys.executable, "-m", "qa_service", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_help_for_every_command(tmp_path: Path) -> None:
    for command in ("ingest", "serve", "ask", "eval", "bench", "migrate"):
        result = run_cli(command, "--help", index=tmp_path)
        assert result.returncode == 0 and "Usage" in result.stdout, command


def test_ingest_then_ask_json(tmp_path: Path) -> None:
    index = tmp_path / "index"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xc3\x28 invalid")
    result = run_cli("ingest", str(SEEDS / "000_f6e0c52e4f6527ee.txt"), str(bad), index=index)
    assert result.returncode == 1
    assert "bad.txt" in result.stderr and "added 1" in result.stdout
    result = run_cli("ask", "Who met Dorothy Shea?", "--json", index=index)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["answerable"] and "Dorothy Shea" in body["answer"]


def test_migrate_names_what_is_missing(tmp_path: Path) -> None:
    result = run_cli("migrate", "--to", "faiss", index=tmp_path)
    assert result.returncode == 2 and "--to must be milvus" in result.stderr
    result = run_cli("migrate", "--to", "milvus", index=tmp_path / "none")
    assert result.returncode == 1 and "no embedded store to migrate" in result.stderr
    assert "Traceback" not in result.stderr
