"""A real Prefect server, a process work pool and workers, as subprocesses (the e2e and scale tiers).

Everything runs in process groups of its own, and is torn down by group, even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.helpers.hub import ROOT, RunningHub
from tests.helpers.polling import wait_for

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


def free_port() -> int:
    """A loopback TCP port nothing listens on right now (for servers that cannot pick their own)."""
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
    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited:\n{log.read_text()[-3000:]}")
        try:
            return requests.get(f"{url}/health", timeout=2).ok
        except requests.RequestException:
            return False

    wait_for(healthy, lambda: f"the prefect server to be healthy:\n{log.read_text()[-3000:]}", deadline, 0.25)


@contextlib.contextmanager
def running_server(
    hub_process: RunningHub, home: Path, *, database_url: str | None = None, health_deadline: float = 90
) -> Iterator[PrefectStack]:
    """A `prefect server start` subprocess with the block type registered and the credentials block
    "modelscope" saved for user `demo`; stopped on exit with every process added to the stack."""
    api_url = f"http://127.0.0.1:{free_port()}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "2",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
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
        yield stack
    finally:
        for process in reversed(stack.processes):
            _stop(process)


@contextlib.contextmanager
def running_stack(
    hub_process: RunningHub,
    home: Path,
    *,
    workers: int = 1,
    database_url: str | None = None,
    health_deadline: float = 90,
) -> Iterator[PrefectStack]:
    """`running_server`, plus the work pool, every deployment of deployments/prefect.yaml, and `workers`
    process workers; all stopped on exit."""
    with running_server(hub_process, home, database_url=database_url, health_deadline=health_deadline) as stack:
        stack.cli("work-pool", "create", POOL, "--type", "process", "--overwrite")
        stack.cli("--no-prompt", "deploy", "--all", "--prefect-file", "deployments/prefect.yaml")
        for number in range(1, workers + 1):
            name = ["--name", f"worker-{number}"] if workers > 1 else []
            worker = _start(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, *name],
                env=stack.env,
                log=home / f"worker-{number}.log",
            )
            stack.processes.append(worker)
        yield stack


@contextlib.contextmanager
def served_deployments(stack: PrefectStack, *args: str) -> Iterator[subprocess.Popen]:
    """`python deployments/serve.py ARGS` against the stack's server, until its four deployments exist
    (the process is stopped with the stack, or on exit)."""
    log = stack.home / "serve.log"
    process = _start([sys.executable, str(ROOT / "deployments" / "serve.py"), *args], stack.env, log)
    stack.processes.append(process)
    names = ("snapshot-revisions/nightly", "publish-model/after-training", "publish-model/manual",
             "train-and-publish/example")  # fmt: skip

    def all_deployed() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"deployments/serve.py exited:\n{log.read_text()[-3000:]}")
        with api(stack) as client:
            found = {f"{client.read_flow(d.flow_id).name}/{d.name}" for d in client.read_deployments()}
        return found >= set(names)

    wait_for(all_deployed, lambda: f"serve.py's deployments:\n{log.read_text()[-3000:]}", timeout=120, interval=0.5)
    try:
        yield process
    finally:
        _stop(process)


@contextlib.contextmanager
def api(stack: PrefectStack) -> Iterator[SyncPrefectClient]:
    """A client of the stack's server (and the settings that make run_deployment use it).

    Prefect keeps one events worker per process, bound to the API URL it saw when it started, whatever the
    settings say later: an event sent in here would bind it to the stack's server, and once that server
    stopped, every later event of this test process (the session's harness included) would be lost. So the
    worker is drained and dropped on the way in and on the way out, and the next one starts on the URL then
    in force.
    """
    EventsWorker.drain_all()
    try:
        with temporary_settings({PREFECT_API_URL: stack.api_url}), get_client(sync_client=True) as client:
            yield client
    finally:
        EventsWorker.drain_all()


def final(client: SyncPrefectClient, run_id: Any) -> FlowRun | None:
    """The flow run if it is in a final state, else None (a `wait_for` condition)."""
    run = client.read_flow_run(run_id)
    return run if run.state and run.state.is_final() else None


def deployment_runs(client: SyncPrefectClient, deployment: str) -> list[FlowRun]:
    """The flow runs (the newest 50) of `deployment`, named `flow-name/deployment-name`."""
    found = client.read_deployment_by_name(deployment)
    only = DeploymentFilter(id=DeploymentFilterId(any_=[found.id]))
    return client.read_flow_runs(deployment_filter=only, limit=50)


def finished_publish(
    client: SyncPrefectClient, deployment: str, folder: Path, folder_field: str = "model_dir"
) -> FlowRun | None:
    """The run of a publish deployment that publishes `folder` (the request's `folder_field`: `dataset_dir` for a
    dataset), once final; None before (a `wait_for` condition: a triggered run appears some time after its event)."""
    for run in deployment_runs(client, deployment):
        if run.parameters.get("request", {}).get(folder_field) == str(folder):
            return final(client, run.id)
    return None
