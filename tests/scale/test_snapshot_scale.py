"""snapshot_revisions over many models on the PostgreSQL-backed server, inside a Prefect rate limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.events.filters import EventFilter, EventNameFilter

from flows.snapshot.format import Snapshot
from tests.helpers.hub import ROOT, RunningHub
from tests.helpers.polling import wait_for
from tests.helpers.prefect_api import read_events
from tests.helpers.scale import (
    SCALE_MODELS,
    SCALE_OWNER,
    SCALE_TOKEN,
    busiest_second,
    hub_request_times,
    seed_scale_models,
)
from tests.helpers.stack import PrefectStack, api, final

pytestmark = [pytest.mark.scale, pytest.mark.timeout(900)]
RATE_LIMIT = "modelscope-api"
# The budget: 40 requests a second, bursts of 10. Low enough that the snapshot is held back by it: the test
# first measures the same snapshot without it, which must exceed it (the hub answers a few hundred a second).
RATE_PER_SECOND, BURST = 40, 10
MAX_CONCURRENCY = 8
# The client takes slots 10 at a time (hub_tasks.prefect.concurrency.rate_limiter), and the flow's tasks
# share one client per process (hub_tasks.prefect.runtime.hub_client): a window can also hold the up to
# 10 requests of a batch taken just before it.
CARRIED_OVER = 10


def save_block(stack: PrefectStack, hub: RunningHub, name: str, rate_limit: str | None) -> None:
    """A credentials block for the scale owner, with or without the rate limit, saved on the stack's server."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from hub_tasks import ModelScopeCredentials; ModelScopeCredentials(token=sys.argv[1], "
            "endpoint=sys.argv[2], rate_limit=sys.argv[3] or None).save(sys.argv[4], overwrite=True)",
            SCALE_TOKEN,
            hub.url,
            rate_limit or "",
            name,
        ],
        env=stack.env,
        check=True,
        cwd=ROOT,
        timeout=120,
    )


def snapshot_through(client, block: str, folder: Path) -> None:
    """One run of the nightly deployment for the scale owner with the block `block`, completed."""
    deployment = client.read_deployment_by_name("snapshot-revisions/nightly")
    parameters = {
        "owners": [SCALE_OWNER],
        "snapshot_dir": str(folder),
        "max_concurrency": MAX_CONCURRENCY,
        "modelscope_credentials": {"$ref": {"block_document_slug": f"modelscope-credentials/{block}"}},
    }
    run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
    done = wait_for(lambda: final(client, run.id), "the snapshot run", timeout=600, interval=0.5)
    assert done.state.is_completed(), done.state


def test_snapshot_of_many_models_within_a_rate_limit(scale_stack: PrefectStack, hub: RunningHub, tmp_path) -> None:
    """The same snapshot without the limit first: its busiest second must exceed the budget (else the limit
    is not what holds the limited run back, and the check below would pass with the limiter switched off)."""
    seed_scale_models(hub, SCALE_MODELS)
    save_block(scale_stack, hub, "modelscope-unlimited", None)
    save_block(scale_stack, hub, "modelscope-scale", RATE_LIMIT)
    with api(scale_stack) as client:
        offset = hub.log_file.stat().st_size
        snapshot_through(client, "modelscope-unlimited", tmp_path / "unlimited")
        unlimited = busiest_second(hub_request_times(hub.log_file, offset))
        budget = RATE_PER_SECOND + BURST + CARRIED_OVER
        print(f"without the limit the busiest second held {unlimited} hub requests (the budget: {budget})")
        assert unlimited > budget, f"without the limit the snapshot stays within the budget ({unlimited}): no proof"
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=RATE_LIMIT, limit=BURST, slot_decay_per_second=float(RATE_PER_SECOND))
        )
        log_offset = hub.log_file.stat().st_size  # the hub's access log from here on is this run's
        snapshot_through(client, "modelscope-scale", tmp_path / "snapshots")

        def acquisitions():
            acquired = EventFilter(event=EventNameFilter(name=["prefect.concurrency-limit.acquired"]))
            events = read_events(client, acquired).events
            return [e for e in events if e.resource.get("prefect.resource.name") == RATE_LIMIT]

        acquired = wait_for(acquisitions, "rate-limit acquisition events", timeout=60, interval=0.5)
    assert acquired, "the snapshot never took a slot of the rate limit"
    # The observed rate, from the hub's side: no one-second window above the budget plus one burst (plus
    # what the batched slots can carry over), and the run as a whole within the budget.
    times = hub_request_times(hub.log_file, log_offset)
    assert len(times) > SCALE_MODELS, len(times)
    busiest = busiest_second(times)
    print(f"{len(times)} hub requests in {max(times) - min(times):.1f} s; busiest second: {busiest}")
    assert busiest <= budget, busiest
    assert len(times) <= RATE_PER_SECOND * (max(times) - min(times)) + BURST + CARRIED_OVER
    snapshots = sorted((tmp_path / "snapshots").glob("snapshot-*.json"))
    assert len(snapshots) == 1
    snapshot = Snapshot.model_validate_json(snapshots[0].read_bytes())
    assert len(snapshot.models) == SCALE_MODELS
    assert all(state.status == "ok" for state in snapshot.models.values())
    for state in snapshot.models.values():
        assert set(state.branches) == {"master", "dev"} and set(state.tags) == {"v1", "v2", "v3"}
        commits = {ref.commit_id for ref in [*state.branches.values(), *state.tags.values()]}
        assert len(commits) == 1 and all(len(c) == 40 for c in commits)
