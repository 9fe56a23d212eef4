"""Load test: N concurrent clients asking questions for a fixed time; errors, requests/s and latency percentiles.

    .venv/bin/python eval/loadtest.py                          # starts a server on 127.0.0.1 over ./index
    .venv/bin/python eval/loadtest.py --clients 8 32 --duration 60 --workers 2 --runs 5
    .venv/bin/python eval/loadtest.py --url http://127.0.0.1:8000 --api-key "$QA_API_KEY"

Each client sends `POST /ask` (or `GET /search` with --endpoint search) with the seed questions in turn, one
request at a time over a keep-alive connection, until --duration seconds or --max-requests per level (the driver
is devtools/loadgen.py, shared with `make bench`). Exit status 1 if any request failed. A server it starts
itself has no rate limit (QA_RATE_LIMIT is set empty in its environment); its log is printed when a request fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

from devtools.devserver import local_server, measured_env
from devtools.loadgen import drive

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running server (default: start one on 127.0.0.1)")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32], help="concurrency levels (default 8 32)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per level (default 60)")
    parser.add_argument("--runs", type=int, default=1, help="repeat all levels this many times (default 1)")
    parser.add_argument("--max-requests", type=int, default=50_000, help="request cap per level (default 50000)")
    parser.add_argument("--endpoint", choices=["ask", "search"], default="ask")
    parser.add_argument("--workers", type=int, default=1, help="server workers when starting one (default 1)")
    parser.add_argument("--index-dir", type=Path, help="index for a server it starts (default QA_INDEX_DIR or ./index)")
    parser.add_argument("--api-key", default=os.environ.get("QA_API_KEY"), help="sent as a Bearer token if set")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.duration <= 0 or args.duration > 3600 or any(c < 1 or c > 1024 for c in args.clients):
        parser.error("--duration must be in (0, 3600] and each --clients value in [1, 1024]")
    if not 1 <= args.runs <= 100:
        parser.error("--runs must be in [1, 100]")

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    results = []
    with contextlib.ExitStack() as stack:
        log_path = None
        if args.url:
            url = args.url
        else:
            log_path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qa-loadtest-"))) / "server.log"
            server_args = ["--workers", str(args.workers)]
            env = measured_env(args.index_dir, QA_LOG_LEVEL="warning")
            url = stack.enter_context(local_server(env, args=server_args, cwd=ROOT, log_path=log_path)).url
            print(f"server: {args.workers} worker(s) at {url}", flush=True)
        for run in range(1, args.runs + 1):
            for clients in args.clients:
                level = drive(
                    url,
                    clients=clients,
                    duration_s=args.duration,
                    max_requests=args.max_requests,
                    endpoint=args.endpoint,
                    headers=headers,
                    timeout_s=args.timeout,
                )
                results.append({"run": run, **level.summary()})
                print(("" if args.runs == 1 else f"run {run}  ") + level.line(), flush=True)
        if log_path is not None and any(r["errors"] for r in results):
            print("server log (tail):\n" + log_path.read_text(encoding="utf-8", errors="replace")[-4000:])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"url": args.url or "own server", "levels": results}, indent=2))
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
