"""The Prefect tasks the product flows call, found by type rather than listed by hand.

A test that swaps the flows' tasks (no retry delay, persisted results) uses these, so a task added to
a flow module cannot escape the swap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from prefect.tasks import Task


def flow_modules() -> tuple[ModuleType, ...]:
    """The modules whose module-level tasks the publish and snapshot flows call."""
    import flows.publish.flow as publish
    import flows.snapshot.flow as snapshot
    import flows.snapshot.reading as reading

    return publish, snapshot, reading


def flow_tasks() -> Iterator[tuple[ModuleType, str, Task[..., Any]]]:
    """(module, name, task) for every task object held by a flow module."""
    for module in flow_modules():
        for name, task in vars(module).items():
            if isinstance(task, Task):
                yield module, name, task


def swap_flow_tasks(monkeypatch: pytest.MonkeyPatch, change: Callable[[Task[..., Any]], Task[..., Any]]) -> list[str]:
    """Replace every flow task by `change(task)` for the test; returns the swapped names."""
    swapped = []
    for module, name, task in list(flow_tasks()):
        monkeypatch.setattr(module, name, change(task))
        swapped.append(f"{module.__name__}.{name}")
    return swapped
