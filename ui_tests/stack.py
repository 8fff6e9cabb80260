"""local_hub, the e2e tier's Prefect stack (server, block, pool, deployments, worker), and the UI on top.

Everything but the UI comes from tests/helpers: `start_local_hub` and `running_stack`, which deploys
deployments/prefect.yaml with `prefect --no-prompt deploy --all` exactly as the e2e tier does. That
stack runs its server without the UI, so `ui_tests.ui_server` serves Prefect's UI bundles next to it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from local_hub import HubControl
from tests.helpers.hub import ADMIN_TOKEN, ROOT, RunningHub, start_local_hub
from tests.helpers.polling import wait_for
from tests.helpers.stack import DEMO_TOKEN, PrefectStack, free_port, running_stack

# Bounded waits: a stack that is not up by then is broken, not slow.
START_DEADLINE = 90.0


@dataclass
class UiStack:
    """What the browser checks need: the hub, the Prefect stack, and where the UI lives.

    Attributes:
        hub: The local_hub subprocess (user `demo` is the stack's block owner).
        prefect: The Prefect server, worker and their environment.
        ui_url: Origin of the UI server, e.g. `http://127.0.0.1:41234`.
        bases: Base path of each UI on that origin: {"v1": "/", "v2": "/v2"}. v1 is what the links that
            `prefect deploy` and the worker print open; v2 is what a browser without a saved choice gets at "/".
        token: The hub token the credentials block holds; no page may show it.
    """

    hub: RunningHub
    prefect: PrefectStack
    ui_url: str
    bases: dict[str, str]
    token: str

    def page_url(self, ui: str, path: str) -> str:
        """The URL of a route of UI `ui` ("v1" or "v2"), e.g. `page_url("v1", "/blocks/catalog")`."""
        return f"{self.ui_url}{self.bases[ui].rstrip('/')}{path}"


def _stop(process: subprocess.Popen) -> None:
    """Stop a process this module started in its own session, and everything it spawned."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def _ui_settings(url: str, process: subprocess.Popen, log: Path) -> dict | None:
    """The UI server's `/ui-settings`, or None while it is not answering yet (raises if it died)."""
    if process.poll() is not None:
        raise RuntimeError(f"the UI server exited:\n{log.read_text()[-3000:]}")
    try:
        response = requests.get(f"{url}/ui-settings", timeout=2)
    except requests.RequestException:
        return None
    return response.json() if response.ok else None


@contextlib.contextmanager
def ui_server(prefect: PrefectStack, workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Serve Prefect's UIs for `prefect`'s API; yields (origin, {"v1": base path, "v2": base path}) and stops
    the server on exit."""
    port = free_port()
    env = {
        **prefect.env,
        "PREFECT_SERVER_UI_ENABLED": "true",
        "PREFECT_UI_API_URL": prefect.api_url,
        "PREFECT_UI_STATIC_DIRECTORY": str(workdir / "ui-static"),
    }
    log = workdir / "ui-server.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "ui_tests.ui_server", str(port)],
            env=env,
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    origin = f"http://127.0.0.1:{port}"
    try:
        settings = wait_for(
            lambda: _ui_settings(origin, process, log), "the UI server's /ui-settings", START_DEADLINE, 0.25
        )
        bases = {ui: settings.get(f"{ui}_base_url") for ui in ("v1", "v2")}
        if not all(bases.values()):
            raise RuntimeError(f"the UI server did not mount both UIs: {settings}")
        yield origin, bases
    finally:
        _stop(process)


@contextlib.contextmanager
def ui_stack(workdir: Path) -> Iterator[UiStack]:
    """local_hub, the Prefect stack with every deployment of deployments/prefect.yaml, and the UI.

    Args:
        workdir: Scratch folder for the hub's data, Prefect's home, logs and the UI bundles.

    Yields:
        The running stack; every process is stopped on exit, also after a failure.
    """
    hub_dir = workdir / "hub"
    hub_dir.mkdir(parents=True)
    with start_local_hub(hub_dir) as process:
        control = HubControl(process.url, ADMIN_TOKEN)
        hub = RunningHub(process.url, control, hub_dir / "data", hub_dir / "hub.log", process)
        home = workdir / "prefect"
        home.mkdir()
        with running_stack(hub, home, health_deadline=START_DEADLINE) as prefect, ui_server(prefect, workdir) as ui:
            yield UiStack(hub, prefect, ui[0], ui[1], DEMO_TOKEN)
