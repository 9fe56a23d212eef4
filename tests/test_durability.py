"""Nothing acknowledged is lost on the default Milvus set-up (issue 22): Milvus Lite inside the API server, killed
with it. Before, 4 of 152 documents answered 201 were gone after 15 kills during 4-writer bursts, rows of
unfinished writes outlived restarts, and a kill could leave the store unable to open ("Not an Arrow file")."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.durability import kill_loop


@pytest.mark.slow
@pytest.mark.parametrize("kills", [3, pytest.param(10, marks=pytest.mark.long)])
def test_kills_during_concurrent_writes_lose_nothing_acknowledged(tmp_path: Path, kills: int) -> None:
    """3 kills in `make test` (CI), 10 in `make test-long`; `eval/killtest.py --runs N` runs more."""
    runs = kill_loop(tmp_path / "index", kills, seed=22)
    report = "\n".join(run.line() for run in runs)
    assert len(runs) == kills and all(run.restart_error is None for run in runs), report  # the store opens again
    # the kills came during real write bursts: writes were acknowledged and others still in flight (how many is a
    # rate, which a loaded machine lowers: 11 in 3 kills at a load of 10, where the old ">= 50 in 10" failed)
    assert any(run.acknowledged for run in runs) and any(run.in_flight > 0 for run in runs), report
    assert all(run.acknowledged <= run.present for run in runs), report
    assert all(run.orphan_chunks == 0 for run in runs), report
