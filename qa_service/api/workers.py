"""`serve --workers N`: uvicorn's own supervisor, plus the exit status it leaves out when a worker cannot start.

`uvicorn.run` exits with status 3 when its one server fails start-up (a damaged index, a Milvus Lite file another
process holds), but with several workers its supervisor stops every worker and returns normally, so
`serve --workers 2` exited 0 and a process manager took a service that never started for a clean stop.
"""

from __future__ import annotations

import contextlib

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess


def run_workers(config: uvicorn.Config) -> int:
    """Serve with `config.workers` processes until stopped; STARTUP_FAILURE (3) if one could not start, else 0."""
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    with contextlib.suppress(KeyboardInterrupt):
        supervisor.run()
    failed = [process for process in supervisor.processes if process.exitcode == STARTUP_FAILURE]
    return STARTUP_FAILURE if failed else 0
