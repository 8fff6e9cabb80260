"""Fixtures and helpers of the reliability suite (faults, crashes, bad input, secrets, authz, timeouts).

Speed knobs used here are configuration, not mocks: the client's back-off comes from the documented
`MODELSCOPE_RETRY_*` environment variables, and the Prefect tasks' waits between retries from
`Task.with_options(retry_delay_seconds=0)`; every retry count keeps its product default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hub_tasks import ModelScopeCredentials as Credentials
from tests.conftest import RunningHub
from tests.helpers.flow_tasks import swap_flow_tasks

# The client's back-off, shortened (attempt counts untouched): HubSettings reads these variables.
FAST_BACKOFF = {
    "MODELSCOPE_RETRY_BACKOFF_SECONDS": "0.01",
    "MODELSCOPE_RETRY_BACKOFF_MAX_SECONDS": "0.05",
    "MODELSCOPE_RETRY_AFTER_MAX_SECONDS": "1",
}
# Routes that change the hub's state; "nothing changed remotely" means none of them answered 2xx.
WRITE_ROUTES = ("create_model", "update_model", "delete_model", "create_tag", "commit", "delete_file", "blob_put")


def make_block(hub: RunningHub, user: str = "alice", *, token: str | None = None, **knobs: Any) -> Credentials:
    """A credentials block for `hub` with `user`'s token (or `token`), and any client knobs."""
    return Credentials(token=token if token is not None else hub.tokens[user], endpoint=hub.url, **knobs)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0, interval: float = 0.02) -> Any:
    """Poll `condition()` every `interval` seconds until it returns something truthy (there is nothing to
    wait on but the hub's or the Prefect server's state)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def settled(hub: RunningHub) -> bool:
    """True when every request the hub has received has also been answered (or abandoned)."""
    stats = hub.control.stats()
    answered: dict[str, int] = {}
    for key, count in stats["statuses"].items():
        route = key.rsplit(" ", 1)[0]
        answered[route] = answered.get(route, 0) + count
    return all(answered.get(route, 0) >= count for route, count in stats["requests"].items())


def remote_writes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Write routes that answered 2xx between two stats snapshots, plus commit and blob counters that moved."""
    moved: dict[str, int] = {}
    for key, count in after["statuses"].items():
        route, status = key.rsplit(" ", 1)
        if route in WRITE_ROUTES and status.startswith("2") and count > before["statuses"].get(key, 0):
            moved[key] = count - before["statuses"].get(key, 0)
    for counter in ("commits_total", "commits", "blob_bytes_stored", "blob_puts"):
        if after[counter] != before[counter]:
            moved[counter] = after[counter] - before[counter]
    return moved


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients built during the test back off for milliseconds instead of seconds (same attempt counts)."""
    for name, value in FAST_BACKOFF.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flows' tasks with their product retry policy, minus the seconds of waiting between attempts."""
    swap_flow_tasks(monkeypatch, lambda task: task.with_options(retry_delay_seconds=0))


@pytest.fixture
def hub_idle(hub: RunningHub) -> Iterator[RunningHub]:
    """The hub, and after the test: no fault left behind and no request still being served."""
    yield hub
    hub.control.clear_faults()
    wait_for(lambda: settled(hub), "the hub to answer every request", timeout=60)
