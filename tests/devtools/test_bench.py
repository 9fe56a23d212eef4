"""The benchmark runs from the checkout (`make bench`), outside the installed package."""

from __future__ import annotations

import re
import subprocess
import sys

from ..conftest import ROOT


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.bench", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_bench_checks_its_options_before_it_measures_anything() -> None:
    assert "--sizes" in _bench("--help").stdout
    bad_sizes = _bench("--sizes", "10k")
    assert bad_sizes.returncode == 2 and "--sizes must be comma-separated whole numbers" in bad_sizes.stderr
    bad_store = _bench("--store", "elastic", "--sizes", "")
    assert bad_store.returncode == 2 and "--store must be embedded or milvus" in bad_store.stderr


def test_the_runtime_package_holds_no_dev_tooling() -> None:
    package = ROOT / "qa_service"
    for name in ("bench.py", "storebench.py", "loadgen.py", "devserver.py", "store/milvus/lite.py"):
        assert not (package / name).exists(), name
    imports = [p for p in package.rglob("*.py") if re.search(r"^\s*(from|import)\s+devtools\b", p.read_text(), re.M)]
    assert not imports, f"the package imports dev tooling: {imports}"
