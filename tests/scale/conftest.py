"""The scale tier: PostgreSQL from the OS packages, a Prefect server on it, and two process workers.

PostgreSQL is installed with apt when missing (as root); when that is impossible the tier is
skipped with the reason. SCALE_MODELS sets the snapshot size (200 here and in CI; 2000 with
`python3 dev.py test-scale`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningHub
from tests.e2e.conftest import PrefectStack, _free_port, running_stack

SCALE_MODELS = int(os.environ.get("SCALE_MODELS", "200"))


def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def _install_postgres() -> str | None:
    """Install PostgreSQL from Debian's packages; returns why it could not, or None."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "PostgreSQL is not installed and this is not a root shell with apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "postgresql"]):
        result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
        if result.returncode:
            return f"{' '.join(args)} failed: {result.stderr[-500:]}"
    return None


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on a free port; yields its SQLAlchemy URL for Prefect."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        reason = _install_postgres()
        bin_dir = _pg_bin()
        if bin_dir is None:
            pytest.skip(f"scale tier needs PostgreSQL: {reason}")
    # Not under pytest's tmp dirs: they are private to root, and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="prefect-modelscope-pg-"))
    data = base / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]), **run
    )
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-o", options, "-w", "start"]
        ),
        **run,
    )
    try:
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "prefect"], **run
        )
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/prefect"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def scale_stack(
    postgres: str, hub_process: RunningHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrefectStack]:
    """A Prefect server on PostgreSQL, the deployments, and two process workers on one pool."""
    home = tmp_path_factory.mktemp("prefect-scale")
    with running_stack(hub_process, home, workers=2, database_url=postgres, health_deadline=180) as stack:
        yield stack
