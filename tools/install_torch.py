"""Install torch's CPU build first (`make setup`), so sentence-transformers finds torch satisfied and adds no CUDA.

On Linux, PyPI's torch wheels are CUDA builds that bring cuda-toolkit and about 15 nvidia-* packages (several
GB). PyTorch's CPU index has the same version without them. Where that index answers within a few seconds it
is used; where it does not (no internet, a blocked host), pip's own configuration is used instead, after a dry
run has shown that it would not bring CUDA (this is how an offline machine with a local CPU wheel sets up).
Either way the installed torch is checked to be a CPU build.

Runs with the new virtualenv's python and only the standard library: nothing else is installed yet.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"  # the Dockerfile uses the same index
PROBE_TIMEOUT_S = 5.0
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
CUDA_PACKAGE = re.compile(r"^(nvidia-|cuda-|triton$)", re.IGNORECASE)


def say(line: str) -> None:
    print(f"install_torch: {line}", flush=True)


def pinned_torch(pyproject: Path = PYPROJECT) -> str:
    """The `torch==X.Y.Z` requirement of pyproject.toml, the one place the version is written."""
    dependencies = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = [re.sub(r"\s+", "", d) for d in dependencies if re.match(r"torch\s*==", d)]
    if len(pins) != 1:
        raise SystemExit(f"{pyproject} must pin torch exactly once (torch==X.Y.Z), found {pins or 'none'}")
    return pins[0]


def unreachable(index: str, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """Why the index's torch page gives no answer within `timeout_s`, name lookup included; None if it does.

    urllib's timeout does not bound DNS, so the request runs in a thread that is no longer waited for.
    """
    outcome: list[str | None] = []

    def probe() -> None:
        request = urllib.request.Request(f"{index.rstrip('/')}/torch/", method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s):
                outcome.append(None)
        except urllib.error.HTTPError as exc:
            outcome.append(f"HTTP {exc.code}")
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections, a malformed URL
            outcome.append(str(getattr(exc, "reason", None) or exc))

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return outcome[0] if outcome else f"no answer within {timeout_s:g} s"


def cuda_packages(pip: list[str], requirement: str) -> list[str]:
    """The CUDA packages a fresh install of `requirement` would bring with pip's configuration (a dry run)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [*pip, "install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report), requirement],
            check=True,
        )
        planned = json.loads(report.read_text(encoding="utf-8"))["install"]
    names = [item["metadata"]["name"] for item in planned]
    return sorted(name for name in names if CUDA_PACKAGE.match(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=CPU_INDEX, help=f"PyTorch's CPU index or a mirror (default {CPU_INDEX})")
    parser.add_argument("--timeout", type=float, default=PROBE_TIMEOUT_S, help="seconds to wait for the index")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to install into (default: this one)")
    parser.add_argument("--print-only", action="store_true", help="print the pip command instead of running it")
    args = parser.parse_args(argv)

    requirement = pinned_torch()
    pip = [args.python, "-m", "pip"]
    why = unreachable(args.index, args.timeout)
    if why is None:
        say(f"{args.index} answers: {requirement} (CPU build) from there")
        command = [*pip, "install", requirement, "--index-url", args.index]
    else:
        say(f"{args.index} cannot be reached ({why}): {requirement} from pip's own configuration")
        cuda = cuda_packages(pip, requirement)
        if cuda:
            say(
                f"ERROR: there pip would install torch's CUDA build with {len(cuda)} CUDA packages "
                f"({', '.join(cuda[:4])}{', ...' if len(cuda) > 4 else ''}; several GB), and this service runs "
                f"on the CPU. Make {args.index} reachable (HTTPS_PROXY if you need a proxy), or name a mirror "
                "of it: make setup TORCH_INDEX=https://your.mirror/whl/cpu"
            )
            return 1
        command = [*pip, "install", requirement]
    if args.print_only:
        print(shlex.join(command))
        return 0
    if subprocess.run(command).returncode != 0:
        say(f"ERROR: {shlex.join(command)} failed (its messages are above)")
        return 1
    probe = "import torch; print(torch.__version__, torch.version.cuda)"
    version, cuda_version = subprocess.run(
        [args.python, "-c", probe], check=True, capture_output=True, text=True
    ).stdout.split()
    if cuda_version != "None":
        say(f"ERROR: torch {version} is a CUDA {cuda_version} build; run `make clean` and set up with the CPU index")
        return 1
    say(f"torch {version} installed, a CPU build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
