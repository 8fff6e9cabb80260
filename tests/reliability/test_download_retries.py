"""`download_model` at the task's default retries: a transfer that keeps failing transiently (dropped
bodies, 503s) past the client's own attempts fails the attempt as retryable, and the task's next attempt
resumes the partial files; a file whose bytes the hub serves wrong is not retried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prefect import flow

from hub_tasks import DownloadError, HubSettings, download_model, is_retryable
from hub_tasks.prefect.runtime import TASK_RETRIES
from tests.helpers.clients import make_block, make_client
from tests.helpers.folders import MIB, blob, make_folder, tree_of
from tests.helpers.hub import RunningHub

pytestmark = pytest.mark.reliability


@pytest.fixture
def published(hub_idle: RunningHub, tmp_path: Path) -> Path:
    folder = make_folder(tmp_path / "model", {"big.safetensors": blob(4 * MIB), "small.txt": "small\n"})
    with make_client(hub_idle) as client:
        client.push_model("alice/resume", folder, hash_cache=None)
    hub_idle.control.reset()
    return folder


def run_download(hub: RunningHub, out: Path) -> Any:
    """The task at its default retries (no delay between them), one file at a time, in a flow; its state."""
    task = download_model.with_options(retry_delay_seconds=0)

    @flow(name="download-retries")
    def mirror() -> Any:
        return task("alice/resume", str(out), max_workers=1, modelscope_credentials=make_block(hub), return_state=True)

    return mirror()


@pytest.mark.usefixtures("fast_backoff")
def test_drops_and_503s_beyond_the_clients_attempts_are_resumed_by_the_tasks_retries(
    hub_idle: RunningHub, prefect_harness: None, published: Path, tmp_path: Path
) -> None:
    attempts = HubSettings().retry_attempts
    # One file at a time, in path order: the big file comes first and gets as many dropped bodies as one
    # call has attempts, so the first task attempt gives up on it; then two 503s for the next requests.
    hub_idle.control.set_faults(
        [
            {"route": "download", "effect": "drop_mid_body", "times": attempts},
            {"route": "download", "effect": "status", "status": 503, "times": 2},
        ]
    )
    state = run_download(hub_idle, tmp_path / "out")
    assert state.is_completed(), state.message
    result = state.result()
    assert tree_of(tmp_path / "out") == tree_of(published)
    # The retry fetched only what was missing: the other files were complete and verified in place, and the
    # big file went on from the bytes its dropped bodies had delivered (Range).
    big = (published / "big.safetensors").stat().st_size
    assert result.files_present == 2 and [f.path for f in result.files if f.action == "downloaded"] == [
        "big.safetensors"
    ]
    assert result.bytes_resumed > 0 and result.bytes_downloaded == big - result.bytes_resumed
    assert hub_idle.control.stats()["statuses"].get("download 206", 0) >= 1
    assert TASK_RETRIES >= 1  # the product's default, which this test runs with


def test_the_error_says_whether_a_retry_can_help(hub_idle: RunningHub, published: Path, tmp_path: Path) -> None:
    with make_client(hub_idle, retry_attempts=1) as client:
        hub_idle.control.set_faults([{"route": "download", "effect": "drop_mid_body", "times": 1}])
        with pytest.raises(DownloadError, match="transient: a retry resumes them") as dropped:
            client.download_model("alice/resume", tmp_path / "a", max_workers=1)
        assert is_retryable(dropped.value) and [p for p, _ in dropped.value.failures] == ["big.safetensors"]
        assert list((tmp_path / "a").glob(".big.safetensors.incomplete"))  # kept for the retry to resume
        hub_idle.control.set_faults([{"route": "download", "effect": "corrupt_body", "times": 1}])
        with pytest.raises(DownloadError) as corrupt:
            client.download_model("alice/resume", tmp_path / "b", max_workers=1)
        assert not is_retryable(corrupt.value) and "transient" not in str(corrupt.value)
