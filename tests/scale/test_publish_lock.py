"""Publishes of one model at once on two workers: the per-model lock keeps them apart, and without it they
interleave.

Six runs (three models, two each) hold the lock; two more of a fourth model run with `lock.enabled=False`
as the control. Every model's commits are held two seconds by a latency fault, so a publish's write phase
is long: the control's two runs must overlap there (proving the test could see an interleaving), and each
locked model's two runs must have been in flight together (their flow runs overlap in time) while their
write phases did not.
"""

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
CONTROL = "demo/scale-unlocked"  # its two runs publish without the lock: they must interleave
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


def overlap(one: tuple[datetime, datetime], two: tuple[datetime, datetime]) -> bool:
    """Whether two time windows share a moment."""
    return one[0] < two[1] and two[0] < one[1]


def test_six_publishes_of_three_models_never_interleave(scale_stack: PrefectStack, hub: RunningHub, tmp_path) -> None:
    folders = {}
    for model in [*MODELS, CONTROL]:
        for round_ in (1, 2):
            folder = tmp_path / f"{model.replace('/', '--')}-{round_}"
            folders[(model, round_)] = (folder, make_folder(folder, f"{model} round {round_}"))
    hub.control.set_faults([{"route": "commit", "effect": "latency", "seconds": 2}])
    try:
        with api(scale_stack) as client:
            deployment = client.read_deployment_by_name("publish-model/manual")
            runs = {}
            for (model, round_), (folder, _) in folders.items():
                request = {"model_id": model, "model_dir": str(folder), "commit_message": f"round {round_}"}
                parameters: dict = {"request": request}
                if model == CONTROL:
                    parameters["lock"] = {"enabled": False}
                run = client.create_flow_run_from_deployment(deployment.id, parameters=parameters)
                runs[run.id] = (model, round_)

            def all_final() -> list[FlowRun] | None:
                done = [final(client, run_id) for run_id in runs]
                return done if all(done) else None

            finished = wait_for(all_final, "eight publishes to finish", timeout=420, interval=0.5)
            windows = {run.id: write_window(client, run) for run in finished}
            spans = {run.id: (run.start_time, run.end_time) for run in finished}
    finally:
        hub.control.clear_faults()
    by_model: dict[str, list] = {}
    for run in finished:
        by_model.setdefault(runs[run.id][0], []).append(run)
    control = [windows[run.id] for run in by_model[CONTROL]]
    assert overlap(*control), f"without the lock the two writes did not interleave: {control}: the test sees nothing"
    locked = [run for model in MODELS for run in by_model[model]]
    assert all(run.state.is_completed() for run in locked), [(r.name, r.state) for r in locked]

    for model in MODELS:
        first, second = by_model[model]
        assert overlap(spans[first.id], spans[second.id]), f"{model}: the two runs were never in flight together"
        mine = sorted((windows[run_id], round_) for run_id, (m, round_) in runs.items() if m == model)
        (first_window, _), (second_window, last_round) = mine
        assert first_window[1] <= second_window[0], f"{model}: publishes overlapped {first_window} and {second_window}"
        with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as hub_client:
            remote = {f.path: f.sha256 for f in hub_client.get_model_files(model, recursive=True) if f.is_file}
        assert remote == folders[(model, last_round)][1], f"{model} is not byte-identical to its last publish"
