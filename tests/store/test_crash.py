"""SIGKILL at any instant leaves the store at its last commit, and running the same ingest again resumes."""

from __future__ import annotations

import json
import queue
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.service import QAService

from ..conftest import ROOT, SEEDS, server_env
from .conftest import assert_store_consistent, database_rows, fake_settings

# The child ingests like `qa-service ingest` does, and says what it is doing: "batch [ids]" before each write,
# "committed" after it. Inside the write transaction it pauses a little, so a kill often lands there.
CHILD = r"""
import json, sys, time
from pathlib import Path
from qa_service.config import Settings
from qa_service.service import QAService
from qa_service.store.embedded import EmbeddedStore

index_dir, corpus, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
real_write, real_finish = EmbeddedStore.write, EmbeddedStore._finish_write
def write(self, documents):
    print("batch " + json.dumps(sorted(p.document.doc_id for p in documents)), flush=True)
    generation = real_write(self, documents)
    print("committed", flush=True)
    return generation
def finish(self, *args):
    time.sleep(0.1)
    return real_finish(self, *args)
EmbeddedStore.write, EmbeddedStore._finish_write = write, finish
settings = Settings(index_dir=index_dir, embedding_model="hashing-fake", ingest_batch=4, _env_file=None)
service = QAService(settings).load()
print("ready", flush=True)
if mode == "ingest":
    service.ingest_paths([corpus], progress=False)
    print("finished", flush=True)
else:  # add the articles one by one, then delete them one by one, and again
    from qa_service.ingest import load_file
    documents = [load_file(p) for p in sorted(corpus.glob("*.txt"))]
    real_delete = EmbeddedStore.delete
    def delete(self, doc_ids):
        print("batch " + json.dumps(sorted(doc_ids)), flush=True)
        deleted = real_delete(self, doc_ids)
        print("committed", flush=True)
        return deleted
    EmbeddedStore.delete = delete
    while True:
        for document in documents:
            if document.doc_id in {d.doc_id for d in service.list_documents()}:
                service.delete_document(document.doc_id)
            else:
                service.add_documents([document])
"""


class _Child:
    """A child process and what it said: the documents of committed batches and of the batch in flight."""

    def __init__(self, index_dir: Path, corpus: Path, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(index_dir), str(corpus), mode],
            cwd=ROOT,
            env=server_env(index_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.in_flight: list[str] | None = None
        self.committed: list[list[str]] = []
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()

    def _pump(self, stream: Iterator[str]) -> None:
        for line in stream:
            self.lines.put(line.strip())
        self.lines.put("<eof>")

    def next_line(self) -> str:
        line = self.lines.get(timeout=120)
        self.seen.append(line)
        if line.startswith("batch "):
            self.in_flight = json.loads(line.removeprefix("batch "))
        elif line == "committed" and self.in_flight is not None:
            self.committed.append(self.in_flight)
            self.in_flight = None
        return line

    def wait_for(self, wanted: str) -> bool:
        while (line := self.next_line()) != wanted:
            if line in ("<eof>", "finished"):
                return False
        return True

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        while True:  # what it printed before dying still counts
            try:
                line = self.lines.get(timeout=5)
            except queue.Empty:
                break
            if line == "<eof>":
                break
            self.lines.put(line)
            self.next_line()


def _corpus(folder: Path, count: int) -> Path:
    folder.mkdir()
    rng = random.Random(7)
    towns = ["Riverton", "Lakeside", "Hillcrest", "Stonebridge", "Fairview", "Oakdale"]
    for n in range(count):
        town = f"{rng.choice(towns)} {n}"
        (folder / f"article {n:03d}.txt").write_text(
            f"{town} council news\n\nThe council of {town} approved {rng.randint(2, 90)} new homes on Monday. "
            f"Work starts in {rng.randint(2026, 2040)}, the mayor, Kim Vale{n}, said. "
            f"Residents asked for {rng.choice(['a park', 'a school', 'a bridge', 'a clinic'])} as well.\n\n"
            f"The vote was {rng.randint(5, 9)} to {rng.randint(0, 4)}.",
            encoding="utf-8",
        )
    return folder


def _ids(index_dir: Path) -> set[str]:
    return set(database_rows(index_dir)["documents"]) if (index_dir / "store.sqlite3").exists() else set()


def _comparable(rows: dict) -> dict:
    """Rows without the ids a run happens to assign (chunk ids, row ids), which differ between runs."""
    return {
        "documents": rows["documents"],
        "chunks": rows["chunks"],
        "sentences": rows["sentences"],
        "term_counts": rows["term_counts"],
    }


@pytest.mark.slow
def test_twenty_kills_during_bulk_ingest_then_the_same_command_finishes_it(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", 48)
    index_dir = tmp_path / "index"
    rng = random.Random(20251125)
    kills_in_transaction = 0
    for _ in range(20):
        before = _ids(index_dir)
        child = _Child(index_dir, corpus, "ingest")
        if not child.wait_for("ready"):
            pytest.fail("child died: " + "\n".join(child.seen))
        for _ in range(rng.randint(0, 2)):
            if not child.wait_for("committed"):
                break
        if rng.random() < 0.7:  # most kills inside a write, the others anywhere (reading, embedding, between)
            while child.in_flight is None and child.next_line() not in ("<eof>", "finished"):
                pass
            kills_in_transaction += child.in_flight is not None
        child.kill()
        after = _ids(index_dir)
        assert_store_consistent(index_dir)
        committed = set().union(*child.committed) if child.committed else set()
        in_flight = set(child.in_flight or [])
        assert before | committed <= after, "a committed batch was lost"
        assert after <= before | committed | in_flight, "documents appeared that no batch wrote"
        assert after - before - committed in (set(), in_flight), "the batch in flight landed in part"
    assert kills_in_transaction >= 3  # the others landed just after a commit (the kill is not instant)
    result = subprocess.run(
        [sys.executable, "-m", "qa_service", "ingest", str(corpus)],
        cwd=ROOT,
        env=server_env(index_dir, QA_EMBEDDING_MODEL="hashing-fake", QA_INGEST_BATCH="4"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    clean_dir = tmp_path / "clean"
    QAService(fake_settings(clean_dir, ingest_batch=4)).load().ingest_paths([corpus], progress=False)
    assert _comparable(assert_store_consistent(index_dir)) == _comparable(assert_store_consistent(clean_dir))
    resumed, clean = QAService(fake_settings(index_dir)).load(), QAService(fake_settings(clean_dir)).load()
    for question in (
        "How many homes did Lakeside 3 approve?",
        "Who is the mayor of Oakdale 40?",
        "When does work start?",
    ):
        assert resumed.ask(question).citations == clean.ask(question).citations


@pytest.mark.slow
def test_kills_during_single_adds_and_deletes_leave_each_document_whole_or_absent(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    rng = random.Random(20250603)
    for _ in range(8):
        state = _ids(index_dir)
        child = _Child(index_dir, SEEDS, "loop")
        assert child.wait_for("ready"), child.seen
        for _ in range(rng.randint(1, 5)):
            assert child.wait_for("committed"), child.seen
        while child.in_flight is None:
            child.next_line()
        child.kill()
        for batch in child.committed:  # each add or delete flips one document
            state ^= set(batch)
        assert_store_consistent(index_dir)
        assert _ids(index_dir) in (state, state ^ set(child.in_flight or [])), child.seen
