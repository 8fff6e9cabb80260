#!/usr/bin/env python3
"""Bootstrap and run: `python3 dev.py test` or `python3 dev.py demo` on a machine with only python3.

Also `python3 dev.py test-prefect-floor` (the tests that touch Prefect, against the lowest Prefect the
project supports, installed from the built wheel into `.venv-floor`), `test-scale` (the PostgreSQL tier
at full size: 2,000 models), `test-ui` (the browser tier: this project's pages in both of Prefect's UIs,
v1 and v2, in Debian's chromium through Playwright, see ui_tests/; exits 1 on any failed check), `lint`, and
`bench NAME` (benchmarks/bench_NAME.py).

Creates `.venv` next to this file, installs the project with its dev extra (again only when
pyproject.toml changed), then runs the test suite (ruff + pytest) or the demo inside it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".installed"
FLOOR_VENV = ROOT / ".venv-floor"
FLOOR_PY = FLOOR_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
FLOOR_CONSTRAINTS = ROOT / "constraints" / "prefect-floor.txt"
# The floor tier: every test that touches Prefect and needs nothing beyond the product and pytest. Left out,
# with the reason: tests/flows/test_snapshot_storage.py (prefect-aws and moto, whose releases need a newer
# Prefect), tests/e2e/test_deployments.py and test_snapshot_workers.py (they deploy deployments/prefect.yaml,
# whose module-path entrypoints need Prefect 3.6.23; tests/e2e/test_serve.py serves the same deployments),
# tests/scale (PostgreSQL from the dev extra) and tests/compat (the official SDK, from the dev extra).
FLOOR_TESTS = (
    "tests/tasks",
    "tests/flows",
    "--ignore=tests/flows/test_snapshot_storage.py",
    "tests/e2e/test_serve.py",
    "tests/reliability/test_concurrent_writers.py",
    "tests/reliability/test_secrets.py",
    "tests/packaging",
)
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


def parallel(args: list[str]) -> list[str]:
    """pytest-xdist's `-n`: two workers per core (at most 8), unless the arguments choose (`-n 0`: serial).

    Most tests wait on servers and subprocesses rather than the CPU: on 2 cores the suite took 601 s serially
    and 370 s with 4 workers, at 94 % CPU.
    """
    if any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in args):
        return []
    return ["-n", str(min(8, 2 * (os.cpu_count() or 1)))]


def prefect_floor() -> str:
    """The lowest Prefect release pyproject.toml admits (`prefect>=X,<4`)."""
    found = re.search(r'"prefect>=([0-9.]+),<4"', (ROOT / "pyproject.toml").read_text())
    if not found:
        raise SystemExit("pyproject.toml: no `prefect>=X,<4` dependency to take the floor from")
    return found.group(1)


def build_wheel(out: Path) -> Path:
    """Build the project's wheel into an empty `out` with .venv's pip; returns its path."""
    shutil.rmtree(out, ignore_errors=True)
    pip = [str(PY), "-m", "pip", "wheel", "--disable-pip-version-check", "-q", "--no-deps", "-w", str(out), str(ROOT)]
    subprocess.run(pip, check=True, cwd=ROOT)
    (wheel,) = out.glob("prefect_modelscope-*.whl")
    return wheel


def ensure_floor_venv(wheel: Path) -> None:
    """`.venv-floor`: the floor Prefect with the pins of constraints/prefect-floor.txt, and the built wheel
    (not editable, without the dev extra), installed again on every run."""
    floor = prefect_floor()
    wanted = hashlib.sha256(FLOOR_CONSTRAINTS.read_bytes() + floor.encode()).hexdigest()
    stamp = FLOOR_VENV / ".installed"
    pip = [str(FLOOR_PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-c", str(FLOOR_CONSTRAINTS)]
    if not (stamp.exists() and stamp.read_text() == wanted and FLOOR_PY.exists()):
        shutil.rmtree(FLOOR_VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(FLOOR_VENV)], check=True)
        # pillow: Prefect's BlockStandardTestSuite imports it.
        tools = ["pytest", "pytest-timeout", "pytest-xdist", "pillow"]
        subprocess.run([*pip, f"prefect=={floor}", *tools], check=True)
        stamp.write_text(wanted)
    subprocess.run(
        [str(FLOOR_PY), "-m", "pip", "uninstall", "--disable-pip-version-check", "-q", "-y", "prefect-modelscope"],
        check=True,
        capture_output=True,
    )
    subprocess.run([*pip, str(wheel)], check=True)


def test_prefect_floor(rest: list[str], env: dict[str, str]) -> int:
    """Run FLOOR_TESTS with the floor Prefect and the installed wheel, from a copy of the tests outside the
    repository, so that `hub_tasks`, `flows` and `local_hub` can only come from the wheel."""
    with tempfile.TemporaryDirectory(prefix="pm-floor-") as tmp:
        wheel = build_wheel(Path(tmp) / "dist")
        ensure_floor_venv(wheel)
        suite = Path(tmp) / "suite"
        for folder in ("tests", "deployments"):
            shutil.copytree(ROOT / folder, suite / folder, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md"):  # pytest's settings; the block's docs link reads the README
            shutil.copy2(ROOT / name, suite / name)
        version = subprocess.run(
            [str(FLOOR_PY), "-c", "import prefect; print(prefect.__version__)"], capture_output=True, text=True
        )
        print(f"test-prefect-floor: Prefect {version.stdout.strip()}, {wheel.name} installed in {FLOOR_VENV}")
        floor_env = {**env, "PM_TESTS_INSTALLED_WHEEL": wheel.name, "PM_PROJECT_ROOT": str(ROOT)}
        command = [str(FLOOR_PY), "-m", "pytest", "-p", "no:cacheprovider", *parallel(rest), *FLOOR_TESTS, *rest]
        return subprocess.run(command, cwd=suite, env=floor_env).returncode


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
    """Dispatch `test`, `test-prefect-floor`, `test-scale`, `test-ui`, `demo`, `lint` or `bench NAME`; extra
    arguments go to the tool."""
    if not argv or argv[0] not in ("test", "test-prefect-floor", "test-scale", "test-ui", "demo", "lint", "bench"):
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
        return subprocess.run([str(PY), "-m", "pytest", *parallel(rest), *rest], cwd=ROOT, env=env).returncode
    if command == "test-prefect-floor":
        return test_prefect_floor(rest, env)
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
