"""snapshot_revisions over many models on the PostgreSQL-backed server, inside a Prefect rate limit."""

from __future__ import annotations

import subprocess
import sys

import pytest
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.events.filters import EventFilter, EventNameFilter

from flows.snapshot.format import Snapshot
from tests.helpers.hub import ROOT, RunningHub
from tests.helpers.polling import wait_for
from tests.helpers.scale import SCALE_MODELS, SCALE_OWNER, SCALE_TOKEN, seed_scale_models
from tests.helpers.stack import PrefectStack, api, final

pytestmark = [pytest.mark.scale, pytest.mark.timeout(900)]
RATE_LIMIT = "modelscope-api"


def test_snapshot_of_many_models_within_a_rate_limit(scale_stack: PrefectStack, hub: RunningHub, tmp_path) -> None:
    seed_scale_models(hub, SCALE_MODELS)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from hub_tasks import ModelScopeCredentials; ModelScopeCredentials("
            "token=sys.argv[1], endpoint=sys.argv[2], rate_limit=sys.argv[3]).save('modelscope-scale', overwrite=True)",
            SCALE_TOKEN,
            hub.url,
            RATE_LIMIT,
        ],
        env=scale_stack.env,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    with api(scale_stack) as client:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=RATE_LIMIT, limit=200, slot_decay_per_second=400.0)
        )
        deployment = client.read_deployment_by_name("snapshot-revisions/nightly")
        parameters = {
            "owners": [SCALE_OWNER],
            "snapshot_dir": str(tmp_path / "snapshots"),
            "max_concurrency": 8,
            "modelscope_credentials": {"$ref": {"block_document_slug": "modelscope-credentials/modelscope-scale"}},
        }
        run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
        done = wait_for(lambda: final(client, run.id), "the snapshot run", timeout=600, interval=0.5)
        assert done.state.is_completed(), done.state

        def acquisitions():
            events = client.read_events(
                filter=EventFilter(event=EventNameFilter(name=["prefect.concurrency-limit.acquired"])), limit=50
            )
            return [e for e in events.events if e.resource.get("prefect.resource.name") == RATE_LIMIT]

        acquired = wait_for(acquisitions, "rate-limit acquisition events", timeout=60, interval=0.5)
    assert acquired, "the snapshot never took a slot of the rate limit"
    snapshots = sorted((tmp_path / "snapshots").glob("snapshot-*.json"))
    assert len(snapshots) == 1
    snapshot = Snapshot.model_validate_json(snapshots[0].read_bytes())
    assert len(snapshot.models) == SCALE_MODELS
    assert all(state.status == "ok" for state in snapshot.models.values())
    for state in snapshot.models.values():
        assert set(state.branches) == {"master", "dev"} and set(state.tags) == {"v1", "v2", "v3"}
        commits = {ref.commit_id for ref in [*state.branches.values(), *state.tags.values()]}
        assert len(commits) == 1 and all(len(c) == 40 for c in commits)
