"""The command line with news as it lives: a folder of pages, an export and Markdown; pages by URL; a feed run
twice; `list`, `delete`, `ask --source`; and Ctrl-C saying what was saved."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import run_cli
from tests.conftest import SEEDS
from tests.ingest.converters.pages import ARTICLE_PAGE, JSON_LD_PAGE, NO_ARTICLE_PAGE
from tests.ingest.test_feeds import _routes
from tests.local_web import serve

pytestmark = pytest.mark.slow

ROW = {
    "doc_id": "quake",
    "title": "Quake hits western Nepal",
    "date": "Nov. 4, 2023",
    "source": "Voice of America",
    "text": "At least 128 people were killed after a powerful quake hit western Nepal late on Friday, officials said.",
}


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "bridge.html").write_text(ARTICLE_PAGE, encoding="utf-8")
    (folder / "glacier.htm").write_text(JSON_LD_PAGE, encoding="utf-8")
    (folder / "missing.html").write_text(NO_ARTICLE_PAGE, encoding="utf-8")
    (folder / "archive.jsonl").write_text(json.dumps(ROW) + "\n", encoding="utf-8")
    (folder / "planet.md").write_text(
        "# Tiny planet found\n\n*Published: Sept. 14, 2025*\n\n- It completes one orbit every **11.3 days**.\n",
        encoding="utf-8",
    )
    return folder


def test_every_input_kind_then_list_ask_by_outlet_and_delete(tmp_path: Path) -> None:
    index = tmp_path / "index"
    result = run_cli("ingest", str(_folder(tmp_path)), index=index)
    assert result.returncode == 1, result.stderr  # the page without an article
    assert "4 added" in result.stdout and "1 error" in result.stdout
    assert re.search(r"skipped \S+missing\.html: no article text", result.stderr)

    listed = run_cli("list", "--json", index=index)
    assert listed.returncode == 0, listed.stderr
    rows = {d["doc_id"]: d for d in json.loads(listed.stdout)}
    assert set(rows) == {"bridge", "glacier", "quake", "planet"}
    assert (rows["quake"]["date"], rows["quake"]["source"]) == ("2023-11-04", "Voice of America")
    assert (rows["planet"]["title"], rows["planet"]["date"]) == ("Tiny planet found", "2025-09-14")
    wire = run_cli("list", "--source", "Alpine Wire", "--since", "March 1, 2024", index=index)
    assert wire.stdout.splitlines() == [
        "glacier\t2024-03-02\tAlpine Wire\tGlacier retreat doubled in a decade, survey finds"
    ]
    assert "1 article (Alpine Wire 1)" in wire.stderr

    answer = run_cli("ask", "How many people were killed?", "--json", "--source", "Voice of America", index=index)
    body = json.loads(answer.stdout)
    assert {c["doc_id"] for c in body["citations"]} <= {"quake"} and {p["doc_id"] for p in body["passages"]} == {
        "quake"
    }
    typed = run_cli("ask", "How many people were killed?", "--json", "--source", "voice of  AMERICA", index=index)
    assert json.loads(typed.stdout)["citations"][0]["doc_id"] == "quake"  # case and spaces do not matter
    removed = run_cli("ask", "How many people were killed in Nepal?", "--source", "Alpine Wire", index=index)
    assert removed.returncode == 0, removed.stderr
    assert re.search(
        r"Nothing within the filter \(outlet Alpine Wire\); \d+ passages? outside it match", removed.stdout
    ), removed.stdout
    assert run_cli("ask", "x?", "--since", "someday", index=index).returncode == 2

    deleted = run_cli("delete", "quake", "nope", index=index)
    assert deleted.returncode == 1 and "not found: nope" in deleted.stderr
    assert "1 article deleted; the index holds 3 documents." in deleted.stdout


def test_pages_by_url_and_a_feed_run_twice(tmp_path: Path) -> None:
    index = tmp_path / "index"
    with serve({"/bridge": (200, "text/html", ARTICLE_PAGE)}) as site:
        site.routes.update(_routes(site.url, 5))
        refused = run_cli("ingest", f"{site.url}/bridge", index=index)
        assert refused.returncode == 1 and "QA_FETCH_ALLOW_PRIVATE" in refused.stderr and not site.hits
        allow = {"QA_FETCH_ALLOW_PRIVATE": "true"}
        page = run_cli("ingest", f"{site.url}/bridge", index=index, **allow)
        assert page.returncode == 0 and "1 added" in page.stdout, page.stderr
        first = run_cli("ingest", "--feed", f"{site.url}/feed.xml", index=index, **allow)
        assert first.returncode == 0 and "5 added, 0 replaced, 0 unchanged" in first.stdout, first.stderr
        second = run_cli("ingest", "--feed", f"{site.url}/feed.xml", index=index, **allow)
        assert "0 added, 0 replaced, 5 unchanged" in second.stdout and "holds 6 documents" in second.stdout
        assert all(site.hits[f"/news/{n}"] == 1 for n in range(5))


# Enough that the pipelined bulk path cannot finish before the signal lands (40 once did, beside another suite).
ARTICLES_TO_INTERRUPT = 120


def test_ctrl_c_says_how_many_were_saved_and_the_same_command_resumes(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    text = (SEEDS / "000_f6e0c52e4f6527ee.txt").read_text(encoding="utf-8")
    for n in range(ARTICLES_TO_INTERRUPT):
        (folder / f"article-{n:03d}.txt").write_text(f"Article {n}.\n\n{text}", encoding="utf-8")
    index = tmp_path / "index"
    process, message = _interrupt_after_first_commit(folder, index)
    assert process.returncode == 130, message[-2000:]
    said = re.search(r"interrupted: (\d+) articles? saved by this run\. Run the same command again", message)
    assert said is not None, message[-2000:]
    saved = int(said[1])
    assert 1 <= saved < ARTICLES_TO_INTERRUPT
    again = run_cli("ingest", str(folder), index=index)
    assert f"{ARTICLES_TO_INTERRUPT - saved} added, 0 replaced, {saved} unchanged" in again.stdout, again.stdout


def _interrupt_after_first_commit(folder: Path, index: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`ingest folder`, sent SIGINT once the progress bar counts committed chunks; the process and its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_INDEX_DIR=str(index), QA_INGEST_BATCH="4", HF_HUB_OFFLINE="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "qa_service", "ingest", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        # as at a terminal: a runner started in the background (`nohup ... &`) passes SIGINT on ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    seen = b""
    while not re.search(rb"chunks=[1-9]", seen):  # a batch was committed: the bar counts its chunks
        chunk = os.read(process.stderr.fileno(), 4096)
        assert chunk, seen.decode(errors="replace")[-2000:]
        seen += chunk
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return process, (seen + stderr).decode(errors="replace")
