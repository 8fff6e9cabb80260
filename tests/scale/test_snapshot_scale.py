"""snapshot_revisions over many models on the PostgreSQL-backed server, inside a Prefect rate limit."""

from __future__ import annotations

import base64
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.events.filters import EventFilter, EventNameFilter

from flows.snapshot.format import Snapshot
from hub_tasks import HubClient, HubSettings
from tests.conftest import ROOT, RunningHub
from tests.e2e.conftest import PrefectStack
from tests.e2e.test_deployments import api, final, poll
from tests.scale.conftest import SCALE_MODELS

pytestmark = [pytest.mark.scale, pytest.mark.timeout(900)]
OWNER = "scaleorg"
TOKEN = "ms-scaleorg-5d1e-SECRET"
RATE_LIMIT = "modelscope-api"


def seed(hub: RunningHub, count: int) -> None:
    """`count` models, each with a commit, a `dev` branch and tags v1..v3, through the hub's API."""
    hub.control.add_user(OWNER, TOKEN)
    fast = HubSettings(retry_backoff_seconds=0.01, retry_backoff_max_seconds=0.05)
    client = HubClient(endpoint=hub.url, token=TOKEN, settings=fast)
    session = requests.Session()
    body = {
        "commit_message": "init",
        "actions": [
            {
                "action": "create",
                "path": "configuration.json",
                "type": "normal",
                "size": 2,
                "sha256": "",
                "content": base64.b64encode(b"{}").decode(),
                "encoding": "base64",
            }
        ],
    }

    def one(i: int) -> None:
        model = f"{OWNER}/model-{i:05d}"
        client.create_model(model)
        session.post(
            f"{hub.url}/api/v1/repos/models/{model}/commit/master",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        ).raise_for_status()
        hub.control.create_branch(model, "dev")
        for tag in ("v1", "v2", "v3"):
            client.create_tag(model, tag)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))


def test_snapshot_of_many_models_within_a_rate_limit(scale_stack: PrefectStack, hub: RunningHub, tmp_path) -> None:
    seed(hub, SCALE_MODELS)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from hub_tasks import ModelScopeCredentials; ModelScopeCredentials("
            "token=sys.argv[1], endpoint=sys.argv[2], rate_limit=sys.argv[3]).save('modelscope-scale', overwrite=True)",
            TOKEN,
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
            "owners": [OWNER],
            "snapshot_dir": str(tmp_path / "snapshots"),
            "max_concurrency": 8,
            "modelscope_credentials": {"$ref": {"block_document_slug": "modelscope-credentials/modelscope-scale"}},
        }
        run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
        done = poll(lambda: final(client, run.id), "the snapshot run", deadline=600)
        assert done.state.is_completed(), done.state

        def acquisitions():
            events = client.read_events(
                filter=EventFilter(event=EventNameFilter(name=["prefect.concurrency-limit.acquired"])), limit=50
            )
            return [e for e in events.events if e.resource.get("prefect.resource.name") == RATE_LIMIT]

        acquired = poll(acquisitions, "rate-limit acquisition events", deadline=60)
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
