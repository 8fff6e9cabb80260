"""Issue 17, item 2, end to end: one baseline for every worker. Two process workers on one Prefect
server take turns running `snapshot-revisions/nightly` (the idle one is paused with SIGSTOP so the other
takes the run), each into a folder of its own, as two machines would; a tag moved between their runs is
reported by the second, which found the first one's snapshot in the Prefect server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
from prefect.client.schemas.objects import FlowRun

from tests.helpers.hub import RunningHub
from tests.helpers.hub_http import HubWriter
from tests.helpers.polling import wait_for
from tests.helpers.stack import DEMO_TOKEN, PrefectStack, api, final

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
DIFF = "modelscope-snapshot-diff"


@contextmanager
def only(stack: PrefectStack, worker: int) -> Iterator[None]:
    """Pause every worker but `worker` (1 or 2) for the duration: only it can take a new run."""
    others: list[subprocess.Popen] = [p for i, p in enumerate(stack.processes[1:], start=1) if i != worker]
    for process in others:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for process in others:
            os.kill(process.pid, signal.SIGCONT)


def snapshot(client: SyncPrefectClient, folder: Path) -> FlowRun:
    """One run of the nightly deployment for `demo` into `folder`, once it is final."""
    deployment = client.read_deployment_by_name("snapshot-revisions/nightly")
    run = client.create_flow_run_from_deployment(
        deployment.id, parameters={"owners": ["demo"], "snapshot_dir": str(folder)}
    )
    return wait_for(lambda: final(client, run.id), "the snapshot run to finish", timeout=180, interval=0.5)


def diff_rows(client: SyncPrefectClient, run: FlowRun) -> list[dict[str, Any]]:
    """The rows of the run's changes table."""
    only = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]), key=ArtifactFilterKey(any_=[DIFF]))
    artifacts = client.read_artifacts(artifact_filter=only)
    assert len(artifacts) == 1, artifacts
    return json.loads(str(artifacts[0].data))


def test_two_workers_take_turns_and_the_second_reports_a_tag_moved_after_the_first(
    stack: PrefectStack, hub: RunningHub, tmp_path: Path
) -> None:
    demo = HubWriter(SimpleNamespace(url=hub.url, tokens={"demo": DEMO_TOKEN}, control=hub.control), "demo")
    demo.create("demo/audited")
    before = demo.commit("demo/audited", {"configuration.json": b"{}"})
    demo.tag("demo/audited", "v1")
    with api(stack) as client:
        with only(stack, 1):
            first = snapshot(client, tmp_path / "worker-1")
        assert first.state is not None and first.state.is_completed(), first.state

        demo.delete("demo/audited")
        demo.create("demo/audited")
        after = demo.commit("demo/audited", {"configuration.json": b'{"v": 2}'})
        demo.tag("demo/audited", "v1")
        with only(stack, 2):
            second = snapshot(client, tmp_path / "worker-2")
        assert second.state is not None and second.state.is_completed(), second.state
        rows = diff_rows(client, second)
    # Each run was taken by the worker left running, and wrote only to its own folder.
    assert str(first.id) in (stack.home / "worker-1.log").read_text()
    assert str(second.id) in (stack.home / "worker-2.log").read_text()
    assert str(second.id) not in (stack.home / "worker-1.log").read_text()
    assert [p.name.startswith("snapshot-") for p in (tmp_path / "worker-2").iterdir()].count(True) == 1
    moved = {"change": "tag.moved", "type": "model", "repo": "demo/audited", "ref": "v1", "old": before[:12],
             "new": after[:12]}  # fmt: skip
    assert moved in rows  # the table shows a commit id's first 12 digits
