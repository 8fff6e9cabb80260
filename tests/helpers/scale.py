"""Many models of one owner on the session hub, for the scale tier (snapshot size and runner tests)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import requests

from hub_tasks import HubClient, HubSettings
from tests.helpers.hub import RunningHub
from tests.helpers.hub_http import normal

# The snapshot size: 200 here and in CI; 2000 with `python3 dev.py test-scale`.
SCALE_MODELS = int(os.environ.get("SCALE_MODELS", "200"))
SCALE_OWNER = "scaleorg"
SCALE_TOKEN = "ms-scaleorg-5d1e-SECRET"


def seed_scale_models(hub: RunningHub, count: int) -> None:
    """`count` models of SCALE_OWNER, each with a commit, a `dev` branch and tags v1..v3, through the hub's
    API (the owner is added as a user first)."""
    hub.control.add_user(SCALE_OWNER, SCALE_TOKEN)
    fast = HubSettings(retry_backoff_seconds=0.01, retry_backoff_max_seconds=0.05)
    client = HubClient(endpoint=hub.url, token=SCALE_TOKEN, settings=fast)
    session = requests.Session()
    body = {"commit_message": "init", "actions": [normal("configuration.json", b"{}")]}

    def one(i: int) -> None:
        model = f"{SCALE_OWNER}/model-{i:05d}"
        client.create_model(model)
        session.post(
            f"{hub.url}/api/v1/repos/models/{model}/commit/master",
            json=body,
            headers={"Authorization": f"Bearer {SCALE_TOKEN}"},
            timeout=30,
        ).raise_for_status()
        hub.control.create_branch(model, "dev")
        for tag in ("v1", "v2", "v3"):
            client.create_tag(model, tag)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))
