"""Six publishes of three models at once on two workers: the per-model lock keeps them apart."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

import pytest
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, TaskRun

from hub_tasks import HubClient
from tests.helpers.hub import RunningHub
from tests.helpers.polling import wait_for
from tests.helpers.stack import DEMO_TOKEN, PrefectStack, api, final

pytestmark = [pytest.mark.scale, pytest.mark.timeout(600)]
MODELS = ["demo/scale-a", "demo/scale-b", "demo/scale-c"]
WRITE_TASKS = (
    "Ensure the ModelScope repo exists",
    "Publish a model folder to ModelScope",
    "Tag a ModelScope model",
    "Verify a published ModelScope model",
)


def make_folder(root: Path, label: str) -> dict[str, str]:
    """A folder with a config, two 2 MiB weight files and a README; returns path -> sha256."""
    root.mkdir(parents=True)
    files = {
        "configuration.json": f'{{"framework": "pytorch", "label": "{label}"}}'.encode(),
        "README.md": f"# {label}\n".encode(),
        "a.safetensors": os.urandom(2 << 20),
        "b.safetensors": os.urandom(2 << 20),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def write_window(client, run: FlowRun) -> tuple[datetime, datetime]:
    """When a run held the model: from its first write task starting to its last one ending. The worker's
    flow run reports its task runs as events, recorded after the flow run is final: the window is read
    once every task run of the run is recorded in a final state, and a write task among them."""
    only = FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))

    def recorded() -> list[TaskRun] | None:
        runs = client.read_task_runs(flow_run_filter=only)
        writes = [t for t in runs if any(t.name.startswith(name) for name in WRITE_TASKS)]
        done = writes and all(t.state is not None and t.state.is_final() and t.end_time for t in runs)
        return writes if done else None

    tasks = wait_for(recorded, f"the write tasks of run {run.name} to be recorded", timeout=60, interval=0.5)
    return min(t.start_time for t in tasks), max(t.end_time for t in tasks)


def test_six_publishes_of_three_models_never_interleave(scale_stack: PrefectStack, hub: RunningHub, tmp_path) -> None:
    folders = {}
    for model in MODELS:
        for round_ in (1, 2):
            folder = tmp_path / f"{model.replace('/', '--')}-{round_}"
            folders[(model, round_)] = (folder, make_folder(folder, f"{model} round {round_}"))
    with api(scale_stack) as client:
        deployment = client.read_deployment_by_name("publish-model/manual")
        runs = {}
        for (model, round_), (folder, _) in folders.items():
            request = {"model_id": model, "model_dir": str(folder), "commit_message": f"round {round_}"}
            run = client.create_flow_run_from_deployment(deployment.id, parameters={"request": request})
            runs[run.id] = (model, round_)

        def all_final() -> list[FlowRun] | None:
            done = [final(client, run_id) for run_id in runs]
            return done if all(done) else None

        finished = wait_for(all_final, "six publishes to finish", timeout=420, interval=0.5)
        assert all(run.state.is_completed() for run in finished), [(r.name, r.state) for r in finished]
        windows = {run.id: write_window(client, run) for run in finished}

    for model in MODELS:
        mine = sorted((windows[run_id], round_) for run_id, (m, round_) in runs.items() if m == model)
        (first, _), (second, last_round) = mine
        assert first[1] <= second[0], f"{model}: publishes overlapped {first} and {second}"
        with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as hub_client:
            remote = {f.path: f.sha256 for f in hub_client.get_model_files(model, recursive=True) if f.is_file}
        assert remote == folders[(model, last_round)][1], f"{model} is not byte-identical to its last publish"
