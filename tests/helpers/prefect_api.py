"""Reading back what the Prefect server recorded about a run, once it has recorded it.

Much of it reaches the server asynchronously: task runs and their states travel as events that a
server service writes to the database in batches, events are stored by another service, and log lines
are sent in batches by a background worker. A run can therefore return before the server holds its
records, so every read here that can lag polls (`wait_for`) until the expected record is there.
Flow runs, flow-run states and artifacts are written by direct API calls and can be read at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
    LogFilterTaskRunId,
)
from prefect.client.schemas.objects import Artifact, State, TaskRun
from prefect.events import Event, emit_event
from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter, EventResourceFilter
from prefect.logging.handlers import APILogHandler
from prefect.settings import PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW, temporary_settings

from tests.helpers.polling import wait_for


class EventsPage(NamedTuple):
    """A page of an event listing, and the link to the next page (None: the last)."""

    events: list[Event]
    next_page: str | None


def paged(read: Callable[..., list[Any]], **kwargs: Any) -> Iterator[Any]:
    """Every item of a paged Prefect API listing (`read` is e.g. `client.read_logs`)."""
    offset = 0
    while True:
        page = read(limit=200, offset=offset, **kwargs)
        yield from page
        if len(page) < 200:
            return
        offset += len(page)


# -- task runs -------------------------------------------------------------------------------------
def task_run_of(state: State[Any], timeout: float = 30.0) -> TaskRun:
    """The task run behind a final state returned by `task(..., return_state=True)`, read back from the
    API once the server has recorded that state (with it, every earlier state of the run: the server
    records a run's state events in order)."""
    task_run_id = state.state_details.task_run_id
    assert task_run_id is not None

    def recorded() -> TaskRun | None:
        with get_client(sync_client=True) as client:
            task_run = client.read_task_run(task_run_id)
        return task_run if task_run.state_id == state.id else None

    return wait_for(recorded, f"the API to record the final state of task run {task_run_id}", timeout, 0.05)


def attempts_of(state: State[Any]) -> int:
    """How many times the task run entered Running, counted from its state history in the API."""
    task_run = task_run_of(state)
    with get_client(sync_client=True) as client:
        return sum(1 for s in client.read_task_run_states(task_run.id) if s.type.value == "RUNNING")


def flow_task_runs(flow_run_id: Any, count: int, timeout: float = 30.0) -> list[TaskRun]:
    """The task runs of a flow run, once the server has recorded at least `count` of them and each in a
    final state (a flow run returns before the server has written its task runs)."""
    only = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    seen: list[TaskRun] = []

    def recorded() -> list[TaskRun] | None:
        with get_client(sync_client=True) as client:
            seen[:] = client.read_task_runs(flow_run_filter=only)
        done = len(seen) >= count and all(run.state is not None and run.state.is_final() for run in seen)
        return list(seen) if done else None

    def what() -> str:
        states = sorted(f"{run.name}: {run.state_type.value if run.state_type else None}" for run in seen)
        return f"{count} task runs of flow run {flow_run_id} in a final state; recorded {len(seen)}: {states}"

    return wait_for(recorded, what, timeout, 0.05)


# -- artifacts -------------------------------------------------------------------------------------
def run_artifact(flow_run_id: Any, key: str) -> Artifact | None:
    """The artifact `key` the flow run created, read back from the Prefect API (created synchronously)."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[key])
            )
        )
    assert len(found) <= 1, found
    return found[0] if found else None


# -- events ----------------------------------------------------------------------------------------
def read_events(client: SyncPrefectClient, event_filter: EventFilter, next_page: str | None = None) -> EventsPage:
    """One page of the events the filter matches (`next_page`: the link a previous page gave), and the link to
    the next page. Through the REST route the server has had since 3.0 (the floor, 3.4.10, has no
    `client.read_events`)."""
    if next_page is None:
        body = {"filter": event_filter.model_dump(mode="json"), "limit": 50}
        response = client.request("POST", "/events/filter", json=body)
    else:
        response = client.request("GET", next_page)
    response.raise_for_status()
    page = response.json()
    return EventsPage([Event.model_validate(event) for event in page["events"]], page.get("next_page"))


def all_events(event_filter: EventFilter) -> list[Event]:
    """Every event the filter matches, across all pages of the listing."""
    with get_client(sync_client=True) as client:
        page = read_events(client, event_filter)
        events = list(page.events)
        while page.next_page:
            page = read_events(client, event_filter, page.next_page)
            events += page.events
    return events


def wait_for_event(name: str, resource_id: str, timeout: float = 30.0) -> None:
    """Poll until the server has stored event `name` of `resource_id`."""

    def stored() -> bool:
        only = EventFilter(resource=EventResourceFilter(id=[resource_id]))  # built per call: `until` is now
        with get_client(sync_client=True) as client:
            return any(e.event == name for e in read_events(client, only).events)

    wait_for(stored, f"event {name} of {resource_id} to reach the server", timeout, 0.1)


def events_settled(timeout: float = 30.0) -> None:
    """Emit a marker event and wait until the server has stored it. Every event this process emitted
    earlier went out before it on the same (ordered) events connection, so after this an event a finished
    run emitted is readable, and one that is still missing was never emitted: call this before asserting
    that an event is absent."""
    marker = f"test.barrier.{uuid.uuid4()}"
    emit_event(event="prefect-modelscope.test.barrier", resource={"prefect.resource.id": marker})
    wait_for_event("prefect-modelscope.test.barrier", marker, timeout)


def run_events(flow_run_id: Any, prefix: str = "modelscope.") -> list[Event]:
    """Every event named `prefix*` that the flow run emitted, oldest first, read back from the Prefect API
    (call `events_settled()` once after the runs: the server stores events asynchronously)."""
    only = EventFilter(
        event=EventNameFilter(prefix=[prefix]), related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"])
    )
    return sorted(all_events(only), key=lambda e: e.occurred)


# -- logs ------------------------------------------------------------------------------------------
def run_logs(until: str, *, task_run_id: Any = None, flow_run_id: Any = None, timeout: float = 30.0) -> list[str]:
    """The log messages of a task run (or a flow run) in the API, once one of them contains `until`:
    log lines are sent in batches by a background worker, so the last line a run logged is awaited."""
    assert (task_run_id is None) != (flow_run_id is None), "give a task run or a flow run"
    APILogHandler().flush()
    if task_run_id is not None:
        only = LogFilter(task_run_id=LogFilterTaskRunId(any_=[task_run_id]))
    else:
        only = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))

    def arrived() -> list[str] | None:
        with get_client(sync_client=True) as client:
            messages = [log.message for log in paged(client.read_logs, log_filter=only)]
        return messages if any(until in m for m in messages) else None

    run = f"task run {task_run_id}" if task_run_id is not None else f"flow run {flow_run_id}"
    return wait_for(arrived, f"a log line of {run} containing {until!r}", timeout, 0.1)


@task(name="log a test barrier", cache_policy=NO_CACHE, persist_result=False)
def _log_marker(marker: str) -> None:
    get_run_logger().info(marker)


def logs_settled(timeout: float = 30.0) -> None:
    """Log a marker line from a task run of its own and wait until the server has stored it. This process
    sends its log lines in order, through one background worker, so after this every line a finished run
    logged is readable: call this before searching the server's logs."""
    marker = f"test.log-barrier.{uuid.uuid4()}"
    # Outside a flow, Prefect warns about the lines it cannot attribute to a flow run; the marker carries
    # its task run's id and is sent all the same.
    with temporary_settings({PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore"}):
        state = _log_marker(marker, return_state=True)
    run_logs(marker, task_run_id=state.state_details.task_run_id, timeout=timeout)
