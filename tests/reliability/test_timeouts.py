"""Item 9, timeouts: a hub that accepts the connection and never answers makes a task fail within its
configured bounds (read_timeout=1 s, one attempt per call, no task retries) instead of hanging the flow.

The hub hangs for 30 s (local_hub's `hang` fault), so every bound asserted here is far below what waiting
for it would take; a bare TCP socket that is never accepted (the kernel completes the handshake, nobody
ever reads) covers a server that is not local_hub at all.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow

from flows.publish.flow import PublishRequest, publish_model
from hub_tasks import DownloadError, HubConnectionError, ModelScopeCredentials, download_model, get_model, push_model
from hub_tasks.prefect.runtime import TASK_RETRIES
from tests.helpers.clients import make_block, make_client
from tests.helpers.folders import blob, make_folder
from tests.helpers.hub import RunningHub

pytestmark = pytest.mark.reliability

HANG = 30.0  # how long the hub stays silent
BOUND = 10.0  # one attempt of 1 s, plus Prefect's own overhead, with a wide margin
KNOBS = {"read_timeout": 1.0, "connect_timeout": 2.0, "retry_attempts": 1}


def run_in_flow(call: Callable[[], Any]) -> tuple[Any, float]:
    """Run `call` (a task call) inside a flow; returns the flow's final state and the wall time it took."""

    @flow(name="reliability-timeout")
    def timed() -> Any:
        return call()

    started = time.monotonic()
    state = timed(return_state=True)
    return state, time.monotonic() - started


def hang(hub: RunningHub, route: str) -> None:
    hub.control.set_faults([{"route": route, "effect": "hang", "seconds": HANG}])


@pytest.fixture
def silent_socket() -> Iterator[str]:
    """A URL whose TCP connections the kernel accepts but no server ever reads or answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)  # never accept(): the handshake completes in the backlog, then silence
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def assert_fails_in_time(state: Any, elapsed: float, error: type[BaseException], says: str) -> BaseException:
    assert state.is_failed(), f"the flow should fail, it ended {state.type}"
    assert elapsed < BOUND, f"took {elapsed:.1f}s against a hub silent for {HANG:.0f}s: the bound was not kept"
    exc = state.result(raise_on_failure=False)
    assert isinstance(exc, error) and says in str(exc), repr(exc)
    return exc


def test_get_model_against_a_silent_hub_fails_within_its_timeout(hub_idle: RunningHub, prefect_harness: None) -> None:
    hang(hub_idle, "get_model")
    task = get_model.with_options(retries=0)
    state, elapsed = run_in_flow(lambda: task("alice/anything", modelscope_credentials=make_block(hub_idle, **KNOBS)))
    assert_fails_in_time(state, elapsed, HubConnectionError, "timed out")


def test_a_silent_tcp_server_fails_a_task_within_its_timeout(prefect_harness: None, silent_socket: str) -> None:
    block = ModelScopeCredentials(token="ms-anything", endpoint=silent_socket, **KNOBS)
    task = get_model.with_options(retries=0)
    state, elapsed = run_in_flow(lambda: task("alice/anything", modelscope_credentials=block))
    assert_fails_in_time(state, elapsed, HubConnectionError, "timed out")


@pytest.mark.parametrize("route", ["blob_put", "commit"])
def test_push_model_against_a_silent_hub_fails_within_its_timeout(
    hub_idle: RunningHub, prefect_harness: None, tmp_path: Path, route: str
) -> None:
    hub = hub_idle
    folder = make_folder(tmp_path / "model", {"README.md": "# t\n", "weights/w.safetensors": blob(200_000)})
    before = hub.control.stats()["commits_total"]
    hang(hub, route)
    task = push_model.with_options(retries=0)
    state, elapsed = run_in_flow(
        lambda: task("alice/silent", str(folder), modelscope_credentials=make_block(hub, **KNOBS))
    )
    assert_fails_in_time(state, elapsed, HubConnectionError, "timed out")
    assert hub.control.stats()["commits_total"] == before, "a hung commit must not have landed"


def test_download_model_against_a_silent_hub_fails_within_its_timeout(
    hub_idle: RunningHub, prefect_harness: None, tmp_path: Path
) -> None:
    hub = hub_idle
    with make_client(hub) as client:
        client.push_model("alice/mirror", make_folder(tmp_path / "model", {"a.bin": blob(1000)}), hash_cache=None)
    hang(hub, "download")
    task = download_model.with_options(retries=0)
    state, elapsed = run_in_flow(
        lambda: task("alice/mirror", str(tmp_path / "out"), modelscope_credentials=make_block(hub, **KNOBS))
    )
    error = assert_fails_in_time(state, elapsed, DownloadError, "timed out")
    assert {path for path, _ in error.failures} == {"a.bin", "configuration.json"}
    assert isinstance(error, DownloadError) and error.retryable  # timeouts: the task's retries would resume


def test_the_publish_flow_against_a_silent_hub_fails_instead_of_hanging(
    hub_idle: RunningHub, prefect_harness: None, no_retry_delay: None, tmp_path: Path
) -> None:
    """Every route silent, the product's task retries kept: the flow ends within (retries + 1) attempts of one
    request's timeout each, plus overhead."""
    folder = make_folder(tmp_path / "model", {"README.md": "# t\n"})
    hang(hub_idle, "*")
    started = time.monotonic()
    state = publish_model(
        PublishRequest(model_id="alice/silent-flow", model_dir=str(folder)),
        make_block(hub_idle, **KNOBS),
        return_state=True,
    )
    elapsed = time.monotonic() - started
    assert state.is_failed()
    assert "timed out" in str(state.result(raise_on_failure=False))
    assert elapsed < (TASK_RETRIES + 1) * KNOBS["read_timeout"] + BOUND < HANG, f"took {elapsed:.1f}s"
