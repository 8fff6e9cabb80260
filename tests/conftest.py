"""Shared fixtures: one local_hub subprocess per session, reset before each test; isolated homes.

The environment is isolated at import time, before Prefect or the official SDK can read it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="pm-tests-"))
os.environ.update(
    PREFECT_HOME=str(_HOME / "prefect"),
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    PREFECT_SERVER_UI_ENABLED="false",
    MODELSCOPE_HOME=str(_HOME / "modelscope-home"),
    MODELSCOPE_CACHE=str(_HOME / "modelscope-cache"),
    MODELSCOPE_UPLOAD_CACHE_ENABLED="false",
    MODELSCOPE_DOWNLOAD_INTRA_CLOUD="false",
)
for _var in ("MODELSCOPE_API_TOKEN", "MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN", "PREFECT_API_URL"):
    os.environ.pop(_var, None)

from local_hub import HubControl  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Distinctive tokens, so that secret scans can search every log and artifact for them.
TOKENS = {
    "alice": "ms-alice-4f1c9e7a2b-SECRET",
    "bob": "ms-bob-8d2e6a1f3c-SECRET",
    "carol": "ms-carol-1a9b7c5d3e-SECRET",
}
GROUPS = {"team": ["alice", "carol"]}
ADMIN_TOKEN = "local-hub-admin-3e7d1b"


@dataclass
class RunningHub:
    """A local_hub subprocess: its URL, control plane, tokens, and where it logs."""

    url: str
    control: HubControl
    data_dir: Path
    log_file: Path
    process: subprocess.Popen = field(repr=False)
    tokens: dict[str, str] = field(default_factory=lambda: dict(TOKENS), repr=False)


def start_hub_process(tmp: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start `python -m local_hub serve` on a free port; returns (process, base URL)."""
    args = [
        sys.executable,
        "-m",
        "local_hub",
        "serve",
        "--port",
        "0",
        "--data",
        str(tmp / "data"),
        "--admin-token",
        ADMIN_TOKEN,
        "--log-file",
        str(tmp / "hub.log"),
        "--no-fsync",
        *extra,
    ]
    for user, token in TOKENS.items():
        args += ["--user", f"{user}:{token}"]
    for group, members in GROUPS.items():
        args += ["--group", f"{group}:{','.join(members)}"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("local_hub did not start; see its log")
    return process, json.loads(line)["url"]


@pytest.fixture(scope="session")
def hub_process() -> Iterator[RunningHub]:
    """One local_hub for the whole session."""
    tmp = Path(tempfile.mkdtemp(prefix="hub-", dir=_HOME))
    process, url = start_hub_process(tmp)
    try:
        yield RunningHub(url, HubControl(url, ADMIN_TOKEN), tmp / "data", tmp / "hub.log", process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def hub(hub_process: RunningHub) -> RunningHub:
    """The session hub with a clean slate: no repos, no faults, zeroed counters."""
    hub_process.control.reset(state=True)
    return hub_process


def sdk_env(hub: RunningHub, tmp_path: Path, token: str | None = None) -> dict[str, str]:
    """Environment for running the official SDK against `hub` in a subprocess."""
    env = dict(
        os.environ,
        MODELSCOPE_ENDPOINT=hub.url,
        MODELSCOPE_HOME=str(tmp_path / "ms-home"),
        MODELSCOPE_CACHE=str(tmp_path / "ms-cache"),
    )
    if token:
        env["MODELSCOPE_API_TOKEN"] = token
    return env


def run_sdk(script: str, env: dict[str, str], timeout: float = 240) -> dict:
    """Run a Python snippet with the official SDK; it must print one JSON object last."""
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    if result.returncode != 0:
        raise AssertionError(f"SDK script failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server (SQLite) for the session; request it in flow and task tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def credentials(hub: RunningHub, prefect_harness: None):
    """A saved ModelScopeCredentials block named "test-hub" for alice, pointing at the session hub."""
    from hub_tasks import HubSettings, ModelScopeCredentials

    fast = HubSettings()
    block = ModelScopeCredentials(
        token=hub.tokens["alice"],
        endpoint=hub.url,
        retry_attempts=fast.retry_attempts,
        retry_max_total_wait_seconds=2.0,
    )
    block.save("test-hub", overwrite=True)
    return block
