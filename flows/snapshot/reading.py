"""Reading every model for a snapshot: batches of models per task, a retrying task per model that
failed transiently, at most `max_concurrency` at a time, in threads or on a Dask cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any, TypeVar

from prefect import flow, task
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner
from pydantic import BaseModel, Field

from flows.snapshot.format import FileState, ModelState, RefState
from hub_tasks import HubClient, HubError, ModelInfo, ModelScopeCredentials, NotExistError
from hub_tasks.prefect.runtime import hub_client, hub_task_options

T = TypeVar("T")


def model_state(client: HubClient, model: ModelInfo, include_files: bool) -> ModelState:
    """One model's refs with commit ids (and each branch head's files when asked)."""
    refs = client.get_model_refs(model.model_id)
    files = None
    if include_files:
        files = {
            ref.name: {
                f.path: FileState(size=f.size, sha256=f.sha256)
                for f in client.get_model_files(model.model_id, ref.name, recursive=True)
                if f.is_file
            }
            for ref in refs
            if ref.kind == "branch"
        }
    return ModelState(
        private=model.private,
        visibility=model.visibility,
        license=model.license,
        last_modified=model.last_modified,
        branches={r.name: RefState(commit_id=r.commit_id, created_at=r.created_at) for r in refs if r.kind == "branch"},
        tags={r.name: RefState(commit_id=r.commit_id, created_at=r.created_at) for r in refs if r.kind == "tag"},
        files=files,
    )


class BatchResult(BaseModel):
    """A batch's model states, and the models whose read failed transiently (to be retried alone)."""

    states: dict[str, ModelState] = Field(default_factory=dict)
    retry: list[str] = Field(default_factory=list)


# These run in worker threads, where Prefect cannot interrupt blocking I/O, so they carry no
# timeout_seconds; the client's own connect/read timeouts and bounded retries keep every call finite.
# They carry no tags either: a tagged task run first asks the API for tag concurrency slots, a write
# that an embedded (SQLite) server answers 503 when the batches start together, and Prefect's client
# then backs off 2 s (measured: 3 of 5 snapshots of 1,000 models took 4-7 s instead of 2). Fan-out is
# bounded by `max_concurrency`; the budget shared across runs is the hub rate limit.
SNAPSHOT_TASK = {
    **hub_task_options("Read a model's refs"),
    "timeout_seconds": None,
    "tags": [],
}


@task(**{**SNAPSHOT_TASK, "name": "Read a batch of models' refs"})
def read_model_batch(
    models: list[ModelInfo], include_files: bool = False, modelscope_credentials: ModelScopeCredentials | None = None
) -> BatchResult:
    """The fast path: read models one after another in one task run (Prefect's per-task cost is
    paid once per batch). One model's failure never fails the batch: a model gone since the listing
    is "not visible", a transient failure (after the client's own retries) is handed back for a
    retrying per-model task, anything else is recorded as an error."""
    result = BatchResult()
    with hub_client(modelscope_credentials) as client:
        for model in models:
            try:
                result.states[model.model_id] = model_state(client, model, include_files)
            except NotExistError as exc:
                result.states[model.model_id] = ModelState(status="not_visible", reason=str(exc))
            except HubError as exc:
                if exc.retryable:
                    result.retry.append(model.model_id)
                else:
                    result.states[model.model_id] = ModelState(status="error", reason=str(exc))
    return result


@task(**SNAPSHOT_TASK)
def read_model_state(
    model: ModelInfo, include_files: bool = False, modelscope_credentials: ModelScopeCredentials | None = None
) -> ModelState:
    """One model, in its own task run with Prefect's retries (the slow path after a transient failure)."""
    with hub_client(modelscope_credentials) as client:
        return model_state(client, model, include_files)


def _outcome(future: PrefectFuture[ModelState]) -> ModelState:
    """The model's state, or why it could not be read (never raises)."""
    outcome = future.result(raise_on_failure=False)
    if isinstance(outcome, ModelState):
        return outcome
    if isinstance(outcome, NotExistError):
        return ModelState(status="not_visible", reason=str(outcome))
    return ModelState(status="error", reason=str(outcome) or type(outcome).__name__)


def _windowed(submit: Callable[[T], PrefectFuture[Any]], items: list[T], limit: int) -> Iterator[tuple[T, Any]]:
    """Submit `items` keeping at most `limit` task runs in flight; yield (item, finished future)."""
    queue = list(reversed(items))
    running: dict[PrefectFuture[Any], T] = {}
    while queue or running:
        while queue and len(running) < limit:
            item = queue.pop()
            running[submit(item)] = item
        done = next(iter(as_completed(list(running))))
        yield running.pop(done), done


MAX_BATCH = 250


def batch_size(models: int, limit: int) -> int:
    """Models per task: one batch per worker, at most `MAX_BATCH` (so a crashed batch costs little).

    Prefect's cost per task run (measured 0.1-0.8 s on an embedded server, most on a worker's first
    run) outweighs the balance more batches would buy, since every model costs about the same; a
    model that fails transiently is retried in its own task anyway.
    """
    return max(1, min(MAX_BATCH, -(-models // limit)))


def read_all(
    models: list[ModelInfo], include_files: bool, limit: int, credentials: ModelScopeCredentials | None
) -> dict[str, ModelState]:
    """Read every model: batches first, then a retrying task per model that failed transiently."""
    size = batch_size(len(models), limit)
    batches = [models[i : i + size] for i in range(0, len(models), size)]
    by_id = {m.model_id: m for m in models}
    results: dict[str, ModelState] = {}
    retry: list[ModelInfo] = []
    for batch, future in _windowed(lambda b: read_model_batch.submit(b, include_files, credentials), batches, limit):
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, BatchResult):
            results.update(outcome.states)
            retry += [by_id[m] for m in outcome.retry]
        else:  # the batch task itself failed: give each model its own retrying task
            retry += batch
    for model, future in _windowed(lambda m: read_model_state.submit(m, include_files, credentials), retry, limit):
        results[model.model_id] = _outcome(future)
    return {m.model_id: results[m.model_id] for m in models}


class Runner(str, Enum):
    """Where the per-model reads run."""

    thread = "thread"  # a thread pool in the flow's process (the default)
    dask = "dask"  # a local Dask cluster (needs the `dask` extra: prefect-dask)


def dask_runner(max_concurrency: int) -> TaskRunner:
    """A local `DaskTaskRunner` whose workers are threads of this process.

    Worker processes would each need their own route to the Prefect API, which an ephemeral
    (embedded) server does not give them; threads share this process's. For a multi-machine
    cluster, pass your own runner: `snapshot_revisions.with_options(task_runner=DaskTaskRunner(address=...))`.
    """
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise ValueError("task_runner='dask' needs prefect-dask: pip install 'prefect-modelscope[dask]'") from exc
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": 1,
            "threads_per_worker": max_concurrency,
            "processes": False,
            "dashboard_address": None,
        }
    )


@flow(name="snapshot-read-models")
def read_models(
    models: list[ModelInfo],
    include_files: bool,
    max_concurrency: int,
    modelscope_credentials: ModelScopeCredentials | None,
) -> dict[str, ModelState]:
    """The fan-out as its own flow run, so it can use a task runner chosen per run (Dask)."""
    return read_all(models, include_files, max_concurrency, modelscope_credentials)


def read_models_with(
    models: list[ModelInfo],
    include_files: bool,
    limit: int,
    runner: Runner,
    credentials: ModelScopeCredentials | None,
) -> dict[str, ModelState]:
    """Every model's state, read in this flow's threads or, for `Runner.dask`, in a subflow on Dask."""
    if runner is Runner.dask:
        return read_models.with_options(task_runner=dask_runner(limit))(models, include_files, limit, credentials)
    return read_all(models, include_files, limit, credentials)
