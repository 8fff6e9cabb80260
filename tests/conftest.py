"""Shared fixtures: one local_hub subprocess per session, reset before each test; isolated homes; one
Prefect test server per session; and the speed knobs used across packages.

The environment is isolated at import time, before Prefect or the official SDK can read it; Prefect
and hub_tasks are imported inside the fixtures that need them. Helpers (plain functions and classes)
live in tests/helpers; only fixtures live in conftest files.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="pm-tests-"))
os.environ.update(
    PREFECT_HOME=str(_HOME / "prefect"),
    # Prefect 3.4 takes its result storage's default from the home folder, not from PREFECT_HOME: without
    # this, cache records of earlier sessions in ~/.prefect/storage answered this session's cached tasks.
    PREFECT_RESULTS_LOCAL_STORAGE_PATH=str(_HOME / "prefect" / "storage"),
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
from tests.helpers.hub import ADMIN_TOKEN, RunningHub, start_local_hub  # noqa: E402
from tests.helpers.topology import TopologyHub, start_topology_hub  # noqa: E402

# The client's back-off, shortened (attempt counts untouched): HubSettings reads these variables.
FAST_BACKOFF = {
    "MODELSCOPE_RETRY_BACKOFF_SECONDS": "0.01",
    "MODELSCOPE_RETRY_BACKOFF_MAX_SECONDS": "0.05",
    "MODELSCOPE_RETRY_AFTER_MAX_SECONDS": "1",
}


@pytest.fixture(scope="session")
def hub_process() -> Iterator[RunningHub]:
    """One local_hub for the whole session."""
    tmp = Path(tempfile.mkdtemp(prefix="hub-", dir=_HOME))
    with start_local_hub(tmp) as process:
        yield RunningHub(process.url, HubControl(process.url, ADMIN_TOKEN), tmp / "data", tmp / "hub.log", process)


@pytest.fixture(scope="session")
def topology_process() -> Iterator[TopologyHub]:
    """One local_hub in the realistic topology (`--tls --hosts hub.test`: TLS, a proxy, www/lfs/cdn) for the
    session, started on first use."""
    hub = start_topology_hub(Path(tempfile.mkdtemp(prefix="topology-", dir=_HOME)))
    yield hub
    hub.stop()


# When the hub writes its own `.gitattributes` is not known (local_hub/hub_files.py), so the publish,
# download, publish-flow and SDK-compatibility tests run once per mode; the others see a hub that writes
# none (their subject is not the hub's own files, and their exact trees and histories stay simple).
HUB_FILE_MODES = ("on-create", "on-first-commit", "off")
EVERY_MODE = ("push", "download", "compat", "test_publish_flow.py")  # folders, and single modules
# Which downloads the real hub redirects to its CDN is not known either, so the SDK-compatibility tests
# also run in the topology, once per `--download-redirect` mode (tests/topology covers our client and flows).
DOWNLOAD_REDIRECT_MODES = ("off", "lfs", "all")
IN_THE_TOPOLOGY = ("test_sdk_against_local_hub.py",)


# Under pytest-xdist (`-n N`) a worker takes whole scopes: a test module, so that its module-scoped fixtures
# start once, or a whole tier whose modules share one stack (e2e: a Prefect server with workers; scale:
# PostgreSQL), so that the stack starts on one worker only. The slowest scopes go out first, so that none of
# them starts last and holds up the end (figures of a 4-worker run here: e2e about 5 min, scale 3 min, the
# installed-wheel tests 3 min). pytest-xdist's own `--dist loadgroup` cannot do this under pytest >= 9.2.
SHARED_STACK_TIERS = ("e2e", "scale")
SLOWEST_FIRST = ("tests/e2e", "tests/scale", "tests/packaging")


def work_scope(nodeid: str) -> str:
    """The unit of work a test belongs to: its tier when the tier shares a stack, else its module."""
    path = nodeid.split("::", 1)[0]
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 and parts[1] in SHARED_STACK_TIERS else path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        scope = work_scope(item.nodeid)
        return next((i for i, first in enumerate(SLOWEST_FIRST) if scope.startswith(first)), len(SLOWEST_FIRST))

    items.sort(key=rank)  # stable: the order within a scope stays the order of its module


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class ScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_scope(nodeid)

    config.option.loadscopereorder = False  # keep the collection's order: slowest first
    return ScopeScheduling(config, log)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    path = Path(metafunc.definition.path)
    if "hub" in metafunc.fixturenames and {path.parent.name, path.name} & set(EVERY_MODE):
        modes = [f"gitattributes-{m}" for m in HUB_FILE_MODES]
        if path.name in IN_THE_TOPOLOGY:
            modes += [f"topology-redirect-{m}" for m in DOWNLOAD_REDIRECT_MODES]
        metafunc.parametrize("hub", modes, indirect=True, ids=modes)


@pytest.fixture
def hub(hub_process: RunningHub, request: pytest.FixtureRequest) -> RunningHub:
    """The session hub with a clean slate: no repos, no faults, zeroed counters, and the hub's own
    `.gitattributes` in the mode the test is parametrized with (`gitattributes-off` when it is not); or,
    for a `topology-redirect-<mode>` parameter, the session's topology hub with a clean slate, redirecting
    downloads in that mode and writing its `.gitattributes` when a repo is created."""
    param = getattr(request, "param", "gitattributes-off")
    if param.startswith("topology-redirect-"):
        topology: TopologyHub = request.getfixturevalue("topology_process")
        topology.control.reset(state=True)
        mode = param.removeprefix("topology-redirect-")
        topology.control.configure(gitattributes="on-create", download_redirect=mode, cdn_url_ttl_seconds=1800)
        return topology
    hub_process.control.reset(state=True)
    hub_process.control.configure(gitattributes=param.removeprefix("gitattributes-"))
    return hub_process


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server (SQLite) for the session; request it in flow and task tests."""
    import prefect.settings
    from prefect.settings import temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # No flow-run heartbeats in this process: they only let a server notice a crashed run, and Prefect's
    # heartbeat thread sleeps in one-second steps that every flow run waits out as it ends (1.1 s per
    # trivial flow with them, 0.12 s without; measured). Worker-run flows (e2e, scale) keep them. Releases
    # before the setting existed (the floor, 3.4.10) have no such thread.
    heartbeat = getattr(prefect.settings, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)
    with (
        temporary_settings(updates={heartbeat: None} if heartbeat is not None else {}),
        prefect_test_harness(server_startup_timeout=90),
    ):
        yield


@pytest.fixture
def credentials(hub: RunningHub, prefect_harness: None):
    """A saved ModelScopeCredentials block named "test-hub" for alice, pointing at the session hub, with
    the product's attempt count and a short total wait."""
    from hub_tasks import HubSettings
    from tests.helpers.clients import make_block

    block = make_block(hub, retry_attempts=HubSettings().retry_attempts, retry_max_total_wait_seconds=2.0)
    block.save("test-hub", overwrite=True)
    return block


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients built during the test back off for milliseconds instead of seconds (same attempt counts),
    through the documented `MODELSCOPE_RETRY_*` variables: configuration, not a mock."""
    for name, value in FAST_BACKOFF.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flows' tasks with their product retry policy, minus the seconds of waiting between attempts
    (`Task.with_options(retry_delay_seconds=0)`)."""
    from tests.helpers.flow_tasks import swap_flow_tasks

    swap_flow_tasks(monkeypatch, lambda task: task.with_options(retry_delay_seconds=0))
