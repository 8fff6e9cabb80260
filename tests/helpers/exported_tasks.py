"""The Prefect tasks `hub_tasks` exports, found by type rather than listed by hand, so that a task added
to `hub_tasks.__all__` is checked by every test that walks them."""

from __future__ import annotations

from typing import Any

from prefect.tasks import Task

import hub_tasks

# Exported tasks that belong to another part of the project (the downloads), tested in tests/download.
NOT_OURS = frozenset({"download_model", "fetch_meta_files_from_url"})


def exported_tasks() -> dict[str, Task[..., Any]]:
    """Name -> task, for every `prefect.tasks.Task` in `hub_tasks.__all__`."""
    return {name: obj for name in hub_tasks.__all__ if isinstance(obj := getattr(hub_tasks, name), Task)}


def public_tasks() -> dict[str, Task[..., Any]]:
    """Every exported task of the Prefect layer (tests/tasks): all of them but NOT_OURS."""
    return {name: task for name, task in exported_tasks().items() if name not in NOT_OURS}


# The operations the Prefect layer covers, as the code exports them (twelve when this was written).
TASK_NAMES = tuple(sorted(public_tasks()))
