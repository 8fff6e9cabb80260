"""Reading every model for a snapshot: batches of models per task, each batch read by a few threads,
a retrying task per model that failed transiently, in threads or on a Dask cluster.

The reads wait on the network, not on the CPU (a real hub answers in tens of milliseconds), so up to
`max_concurrency` requests are in flight: few task runs (each costs Prefect 0.1-0.8 s, and dozens
started at once queue on an embedded server), each with up to `THREADS_PER_BATCH` threads. A block's
rate limit still governs the request rate: every request takes its slot in the client, whatever the
number of threads.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


def exact_visibility(client: HubClient, model: ModelInfo) -> int | None:
    """The model's visibility code (1 private, 3 internal, 5 public).

    The listing only says `private`, which covers both private and internal; for those models the
    model's own page is read (one request more), so a switch between private and internal, which
    widens who may read the model to the whole organisation, is reported like any other.
    """
    if model.visibility is not None or not model.private:
        return model.visibility
    return client.get_model(model.model_id).visibility


def model_state(client: HubClient, model: ModelInfo, include_files: bool) -> ModelState:
    """One model's refs with commit ids, its exact visibility (and each branch head's files when asked)."""
    refs = client.get_model_refs(model.model_id)
    visibility = exact_visibility(client, model)
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
        visibility=visibility,
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


def _read_one(client: HubClient, model: ModelInfo, include_files: bool) -> ModelState | None:
    """A model's state; None when it failed transiently (after the client's own retries), to be retried
    in its own task. Never raises a hub error: one model never fails its batch."""
    try:
        return model_state(client, model, include_files)
    except NotExistError as exc:  # gone, or made private to us, since the listing
        return ModelState(status="not_visible", reason=str(exc))
    except HubError as exc:
        return None if exc.retryable else ModelState(status="error", reason=str(exc))


@task(**{**SNAPSHOT_TASK, "name": "Read a batch of models' refs"})
def read_model_batch(
    models: list[ModelInfo],
    include_files: bool = False,
    modelscope_credentials: ModelScopeCredentials | None = None,
    threads: int = 1,
) -> BatchResult:
    """The fast path: read a batch of models in one task run (Prefect's per-task cost is paid once per
    batch), `threads` requests at a time over the process's shared client. A model gone since the
    listing is "not visible", a transient failure is handed back for a retrying per-model task, anything
    else is recorded as an error."""
    result = BatchResult()
    with hub_client(modelscope_credentials) as client, ThreadPoolExecutor(threads, "read-models") as pool:
        states = pool.map(lambda model: _read_one(client, model, include_files), models)
        for model, state in zip(models, states, strict=True):
            if state is None:
                result.retry.append(model.model_id)
            else:
                result.states[model.model_id] = state
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


THREADS_PER_BATCH = 16
MAX_BATCH = 500


def batch_plan(models: int, limit: int) -> tuple[int, int, int]:
    """(models per batch, threads per batch, batches in flight) for `limit` requests in flight.

    Few batches, each read by up to `THREADS_PER_BATCH` threads: Prefect's cost per task run (measured
    0.1-0.8 s on an embedded server, more when dozens start at once) is paid per batch, not per
    request. At least `limit / THREADS_PER_BATCH` batches run side by side, so one batch's start-up
    overlaps another's reads; a batch holds at most `MAX_BATCH` models, so a crashed one costs little.

    Example:
        >>> batch_plan(1000, 32), batch_plan(10_000, 32), batch_plan(3, 8)
        ((500, 16, 2), (500, 16, 2), (3, 8, 1))
    """
    threads = max(1, min(limit, THREADS_PER_BATCH))
    in_flight = -(-limit // threads)
    return max(1, min(MAX_BATCH, -(-models // in_flight))), threads, in_flight


def read_all(
    models: list[ModelInfo], include_files: bool, limit: int, credentials: ModelScopeCredentials | None
) -> dict[str, ModelState]:
    """Read every model: batches first, then a retrying task per model that failed transiently."""
    size, threads, in_flight = batch_plan(len(models), limit)
    batches = [models[i : i + size] for i in range(0, len(models), size)]
    by_id = {m.model_id: m for m in models}
    results: dict[str, ModelState] = {}
    retry: list[ModelInfo] = []

    def submit(batch: list[ModelInfo]) -> PrefectFuture[BatchResult]:
        return read_model_batch.submit(batch, include_files, credentials, threads)

    for batch, future in _windowed(submit, batches, in_flight):
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
