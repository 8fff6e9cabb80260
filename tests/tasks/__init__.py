"""Tests of the Prefect layer: the `ModelScopeCredentials` block and the tasks, against local_hub and a
Prefect test server. Shared helpers (plain functions; fixtures live in each test module)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import Task

import hub_tasks
from hub_tasks import HubClient, ModelScopeCredentials

# The twelve operations this layer covers (download_model and fetch_meta_files_from_url are someone else's).
TASK_NAMES = (
    "login",
    "create_model",
    "delete_model",
    "get_model",
    "push_model",
    "list_models",
    "list_model_revisions",
    "get_model_branches_and_tags",
    "get_model_files",
    "create_tag",
    "model_exists",
    "list_all_models",
)
NOT_OURS = frozenset({"download_model", "fetch_meta_files_from_url"})


def public_tasks() -> dict[str, Task[..., Any]]:
    """Every task `hub_tasks` exports (the twelve above and any added since), but the ones not ours."""
    return {
        name: obj
        for name in hub_tasks.__all__
        if name not in NOT_OURS and isinstance(obj := getattr(hub_tasks, name), Task)
    }


def fast_block(hub: Any, user: str = "alice", **knobs: Any) -> ModelScopeCredentials:
    """A block for `hub` whose client makes exactly one request per call (retry_attempts=1), so that
    one task attempt == one hub request, with short timeouts."""
    settings = {"retry_attempts": 1, "connect_timeout": 5.0, "read_timeout": 15.0, **knobs}
    return ModelScopeCredentials(token=hub.tokens[user], endpoint=hub.url, **settings)


def git_token(hub: Any, user: str = "alice") -> str:
    """The git token the hub hands out at login, fetched with plain requests (to search for it)."""
    response = requests.post(f"{hub.url}/api/v1/login", json={"AccessToken": hub.tokens[user]}, timeout=30)
    response.raise_for_status()
    return response.json()["Data"]["AccessToken"]


def hub_client(hub: Any, user: str = "alice") -> HubClient:
    """A plain client for test setup (its own behaviour is tested in tests/client)."""
    return fast_block(hub, user, retry_attempts=4).get_client()


def model_dir(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    """A publishable folder: a configuration.json plus `files` (path -> content)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "configuration.json").write_text(json.dumps({"framework": "pytorch", "task": "text-generation"}))
    for path, content in (files or {"README.md": "# demo\n"}).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return root


def seed_model(hub: Any, tmp: Path, model_id: str = "alice/demo", files: dict[str, str | bytes] | None = None) -> str:
    """Create `model_id` with one commit of a small folder; returns the commit id."""
    with hub_client(hub) as client:
        result = client.push_model(model_id, model_dir(tmp, files), hash_cache=None)
    assert result.commit_id
    return result.commit_id


def task_run_of(state: State[Any], timeout: float = 30.0) -> TaskRun:
    """The task run behind a final state returned by `task(..., return_state=True)`, read back from the
    API once the server has recorded that state (task-run states reach it asynchronously, as events)."""
    task_run_id = state.state_details.task_run_id
    assert task_run_id is not None
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            task_run = client.read_task_run(task_run_id)
            if task_run.state_id == state.id or time.monotonic() > deadline:
                assert task_run.state_id == state.id, f"the API never recorded the final state of {task_run_id}"
                return task_run
            time.sleep(0.05)  # polling the API: there is nothing to wait on


def attempts_of(state: State[Any]) -> int:
    """How many times the task run entered Running, counted from its state history in the API."""
    task_run = task_run_of(state)
    with get_client(sync_client=True) as client:
        return sum(1 for s in client.read_task_run_states(task_run.id) if s.type.value == "RUNNING")
