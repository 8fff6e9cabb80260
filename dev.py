#!/usr/bin/env python3
"""Bootstrap and run: `python3 dev.py test` or `python3 dev.py demo` on a machine with only python3.

Also `python3 dev.py test-scale` (the PostgreSQL tier at full size: 2,000 models), `test-ui` (the
browser tier: Prefect's UI in Debian's chromium through Playwright, see ui_tests/), `lint`, and
`bench NAME` (benchmarks/bench_NAME.py).

Creates `.venv` next to this file, installs the project with its dev extra (again only when
pyproject.toml changed), then runs the test suite (ruff + pytest) or the demo inside it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed"
# The browser tier drives the OS's chromium; Playwright never downloads a browser build of its own.
CHROMIUM = Path("/usr/bin/chromium")


def ensure_venv() -> None:
    """Create the venv and install the project when missing or out of date."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PY.exists():
        return
    if not PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True, cwd=ROOT)
    STAMP.write_text(wanted)


def ensure_chromium() -> bool:
    """Make sure Debian's chromium is installed: as root, install it with apt-get when missing."""
    if CHROMIUM.exists():
        return True
    if getattr(os, "geteuid", lambda: -1)() != 0 or not shutil.which("apt-get"):
        print(f"test-ui needs chromium at {CHROMIUM}: install it with `sudo apt-get install -y chromium`")
        return False
    print("test-ui: chromium is missing; installing Debian's package: apt-get update && apt-get install -y chromium")
    subprocess.run(["apt-get", "update"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "chromium"], check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    )
    return CHROMIUM.exists()


def ensure_playwright() -> None:
    """Install Playwright's Python package into .venv on first use (not in the dev extra: CI never needs it)."""
    if subprocess.run([str(PY), "-c", "import playwright"], capture_output=True).returncode == 0:
        return
    print("test-ui: installing playwright into .venv (the package only; the browser is the OS's chromium)")
    subprocess.run([str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", "playwright"], check=True)


def main(argv: list[str]) -> int:
    """Dispatch `test`, `test-scale`, `test-ui`, `demo`, `lint` or `bench NAME`; extra arguments go to the tool."""
    if not argv or argv[0] not in ("test", "test-scale", "test-ui", "demo", "lint", "bench"):
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if command in ("test", "lint"):
        # ruff is pinned to one minor version in pyproject, so the formatter's verdict is stable.
        lint = subprocess.run([str(PY), "-m", "ruff", "check", "."], cwd=ROOT)
        style = subprocess.run([str(PY), "-m", "ruff", "format", "--check", "."], cwd=ROOT)
        if lint.returncode or style.returncode or command == "lint":
            return lint.returncode or style.returncode
        return subprocess.run([str(PY), "-m", "pytest", *rest], cwd=ROOT, env=env).returncode
    if command == "test-scale":
        scale = {**env, "SCALE_MODELS": env.get("SCALE_MODELS", "2000")}
        return subprocess.run([str(PY), "-m", "pytest", "tests/scale", *rest], cwd=ROOT, env=scale).returncode
    if command == "test-ui":
        if "--chromium" not in rest and not ensure_chromium():  # another binary given: not ours to install
            return 2
        ensure_playwright()
        return subprocess.run([str(PY), "-m", "ui_tests", *rest], cwd=ROOT, env=env).returncode
    if command == "demo":
        return subprocess.run([str(PY), "-m", "flows.demo", *rest], cwd=ROOT, env=env).returncode
    script = ROOT / "benchmarks" / f"bench_{rest[0]}.py"
    return subprocess.run([str(PY), str(script), *rest[1:]], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
