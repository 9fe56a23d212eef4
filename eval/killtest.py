"""Kill test of the default Milvus set-up: SIGKILL a server (Milvus Lite inside it) during 4 concurrent writers,
start it again, and print per run what it had acknowledged (201) and what is there after the restart.

    .venv/bin/python eval/killtest.py --runs 30

Exit status 1 if any acknowledged document was lost or rows of unfinished writes outlived the restart. The loop
is devtools/durability.py (tests/test_durability.py runs it ten times).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from devtools.durability import kill_loop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="kills (default 30)")
    parser.add_argument("--seed", type=int, default=22, help="seed of the kill instants (default 22)")
    parser.add_argument(
        "--server-pythonpath", help="PYTHONPATH of the servers only: measure another checkout's code (before/after)"
    )
    args = parser.parse_args()
    if not 1 <= args.runs <= 1000:
        parser.error("--runs must be in [1, 1000]")
    with tempfile.TemporaryDirectory(prefix="qa-killtest-") as root:
        extra = {"PYTHONPATH": args.server_pythonpath} if args.server_pythonpath else None
        runs = kill_loop(Path(root) / "index", args.runs, seed=args.seed, extra_env=extra)
    for n, run in enumerate(runs, 1):
        print(f"run {n:3d}: {run.line()}", flush=True)
    acknowledged = sum(len(r.acknowledged) for r in runs)
    lost = sum(len(r.lost) for r in runs if r.restart_error is None)
    failed = [r for r in runs if r.restart_error is not None]
    if failed:
        print(f"the server did not start again after kill {len(runs)}: the store no longer opens; stopped there")
    orphans = sum(r.orphan_chunks for r in runs)
    print(f"{len(runs)} kills: {acknowledged} acknowledged, {acknowledged - lost} present, {lost} lost", end="")
    print(f"; orphan chunks after the restarts {orphans}")
    return 1 if lost or orphans or failed else 0


if __name__ == "__main__":
    sys.exit(main())
