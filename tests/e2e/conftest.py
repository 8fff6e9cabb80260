"""A real Prefect server, a process work pool and a worker, as subprocesses, for deployment tests.

Everything is started once per module and torn down by process group, even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, RunningHub

POOL = "modelscope-process"
DEMO_TOKEN = "ms-demo-e2e-9c4b2a-SECRET"


@dataclass
class PrefectStack:
    """The server's API URL, the environment that reaches it, and the processes to stop."""

    api_url: str
    env: dict[str, str]
    home: Path
    processes: list[subprocess.Popen]
    logs: Path

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run `prefect ...` against this server; fails the test with its output on error."""
        result = subprocess.run(
            [sys.executable, "-m", "prefect", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(f"prefect {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = open(log, "wb")  # noqa: SIM115 - kept open for the process's lifetime
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, deadline: float = 90) -> None:
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"prefect server not healthy after {deadline}s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def running_stack(
    hub_process: RunningHub,
    home: Path,
    *,
    workers: int = 1,
    database_url: str | None = None,
    health_deadline: float = 90,
) -> Iterator[PrefectStack]:
    """A `prefect server start` subprocess, the credentials block for user `demo`, the work pool, every
    deployment of deployments/prefect.yaml, and `workers` process workers; all stopped on exit."""
    api_url = f"http://127.0.0.1:{_free_port()}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "2",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    port = api_url.rsplit(":", 1)[1].split("/")[0]
    stack = PrefectStack(api_url, env, home, [], home)
    server_log = home / "server.log"
    server = _start(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", port], env, server_log
    )
    stack.processes.append(server)
    try:
        _wait_healthy(api_url, server, server_log, deadline=health_deadline)
        hub_process.control.add_user("demo", DEMO_TOKEN)
        stack.cli("block", "register", "-m", "hub_tasks")
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from hub_tasks import ModelScopeCredentials; "
                "ModelScopeCredentials(token=sys.argv[1], endpoint=sys.argv[2]).save('modelscope', overwrite=True)",
                DEMO_TOKEN,
                hub_process.url,
            ],
            env=env,
            check=True,
            cwd=ROOT,
            timeout=120,
        )
        stack.cli("work-pool", "create", POOL, "--type", "process", "--overwrite")
        stack.cli("--no-prompt", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml")
        for number in range(1, workers + 1):
            name = ["--name", f"worker-{number}"] if workers > 1 else []
            worker = _start(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, *name],
                env,
                home / f"worker-{number}.log",
            )
            stack.processes.append(worker)
        yield stack
    finally:
        for process in reversed(stack.processes):
            _stop(process)


@pytest.fixture(scope="module")
def stack(hub_process: RunningHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    """Server + credentials block + work pool + deployments + worker."""
    with running_stack(hub_process, tmp_path_factory.mktemp("prefect-e2e")) as stack:
        yield stack
