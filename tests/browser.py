"""What the browser tests share: Chromium and its flags, a `qa-service serve` of their own, the screenshot folder.

Fixtures built on these (`browser`, `api`) are in conftest.py; each browser test module defines its `server`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devtools.devserver import local_server

from .conftest import ROOT, server_env

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 180  # model load and first index build on a busy 2-core machine
UI_TIMEOUT_MS = 60_000  # one answer can wait behind other work on the same machine
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Chromium at /usr/bin/chromium (apt-get install -y chromium); Playwright's download is not used",
)


@contextmanager
def page_server(workdir: Path, **env: str) -> Iterator[str]:
    """`qa-service serve` on a free port with its index in `workdir` (built from the seeds unless `env` says
    otherwise); its URL. cwd is `workdir`, so no stray .env file changes the settings."""
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    settings = server_env(workdir / "index", QA_LOG_LEVEL="warning", PYTHONPATH=pythonpath, **env)
    with local_server(settings, log_path=workdir / "server.log", cwd=workdir, timeout_s=START_TIMEOUT_S) as running:
        yield running.url


def screenshot_folder(tmp_path: Path) -> Path:
    """docs/screenshots/ with QA_UPDATE_SCREENSHOTS=1 (to be committed), else a temporary folder."""
    folder = SCREENSHOTS if os.environ.get("QA_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder
