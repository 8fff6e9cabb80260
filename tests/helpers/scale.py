"""Many models of one owner on the session hub, for the scale tier (snapshot size and runner tests)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

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


def hub_request_times(log_file: Path, offset: int = 0) -> list[float]:
    """When each hub API request (not the control plane) finished, in seconds, from local_hub's access log.

    Args:
        log_file: The hub's `--log-file`.
        offset: Byte offset to read from, e.g. the log's size before the run being measured.

    Returns:
        The timestamps in log order (the hub logs each request as it completes, to the millisecond).
    """
    times = []
    with log_file.open("rb") as log:
        log.seek(offset)
        for line in log.read().decode().splitlines():
            # "2026-12-02 18:44:05,123 local_hub.access GET /api/v1/... 200 1.2ms"
            date, clock, logger, _method, path, *_ = [*line.split(" "), "", "", "", ""][:6]
            if logger != "local_hub.access" or path.startswith("/_local_hub"):
                continue
            stamp = datetime.strptime(f"{date} {clock}", "%Y-%m-%d %H:%M:%S,%f")
            times.append(stamp.timestamp())
    return times


def busiest_second(times: list[float]) -> int:
    """The most requests in any one-second window (sliding: each window starts at a request)."""
    ordered = sorted(times)
    busiest, start = 0, 0
    for end, stamp in enumerate(ordered):
        while stamp - ordered[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest
