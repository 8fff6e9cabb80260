"""Reading every repo (models and datasets alike) for a snapshot: batches of repos per task, each batch
read by a few threads, a retrying task per repo that failed transiently, in threads or on a Dask cluster.

A dataset is read exactly as a model is (its refs with commit ids, each branch head's files), through the
client's calls with `repo_type`; the one call that differs by type (a non-public repo's exact visibility)
is looked up in `repos.CALLS`. So a model costs the requests it always did, and a dataset the same ones.

The reads wait on the network, not on the CPU (a real hub answers in tens of milliseconds), so up to
`max_concurrency` requests are in flight: few task runs (each costs Prefect 0.1-0.8 s, and dozens
started at once queue on an embedded server), each with up to `THREADS_PER_BATCH` threads. A block's
rate limit still governs the request rate: every request takes its slot in the client, whatever the
number of threads. Results are keyed by `Listed.label`, unique across repo types.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from typing import Any, TypeVar

from prefect import flow, task
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner
from pydantic import BaseModel, Field

from flows.snapshot.format import FileState, RefState, RepoState
from flows.snapshot.repos import CALLS, Listed
from hub_tasks import HubClient, HubError, ModelScopeCredentials, NotExistError
from hub_tasks.prefect.runtime import hub_client, hub_task_options

T = TypeVar("T")


def exact_visibility(client: HubClient, repo: Listed) -> int | None:
    """The repo's visibility code (1 private, 3 internal, 5 public).

    The listing only says `private`, which covers both private and internal; for those repos the
    repo's own page is read (one request more), so a switch between private and internal, which
    widens who may read the repo to the whole organisation, is reported like any other.
    """
    if repo.visibility is not None or not repo.private:
        return repo.visibility
    return CALLS[repo.repo_type].visibility(client, repo.repo_id)


def repo_state(client: HubClient, repo: Listed, include_files: bool) -> RepoState:
    """One repo's refs with commit ids, its exact visibility (and each branch head's files when asked)."""
    refs = client.get_refs(repo.repo_id, repo_type=repo.repo_type)
    visibility = exact_visibility(client, repo)
    files = None
    if include_files:
        files = {
            ref.name: {
                f.path: FileState(size=f.size, sha256=f.sha256)
                for f in client.get_repo_files(repo.repo_id, ref.name, recursive=True, repo_type=repo.repo_type)
                if f.is_file
            }
            for ref in refs
            if ref.kind == "branch"
        }
    return RepoState(
        private=repo.private,
        visibility=visibility,
        license=repo.license,
        last_modified=repo.last_modified,
        branches={r.name: RefState(commit_id=r.commit_id, created_at=r.created_at) for r in refs if r.kind == "branch"},
        tags={r.name: RefState(commit_id=r.commit_id, created_at=r.created_at) for r in refs if r.kind == "tag"},
        files=files,
    )


class BatchResult(BaseModel):
    """A batch's repo states and the repos whose read failed transiently (to be retried alone), by label."""

    states: dict[str, RepoState] = Field(default_factory=dict)
    retry: list[str] = Field(default_factory=list)


# These run in worker threads, where Prefect cannot interrupt blocking I/O, so they carry no
# timeout_seconds; the client's own connect/read timeouts and bounded retries keep every call finite.
# They carry no tags either: a tagged task run first asks the API for tag concurrency slots, a write
# that an embedded (SQLite) server answers 503 when the batches start together, and Prefect's client
# then backs off 2 s (measured: 3 of 5 snapshots of 1,000 models took 4-7 s instead of 2). Fan-out is
# bounded by `max_concurrency`; the budget shared across runs is the hub rate limit.
SNAPSHOT_TASK = {
    **hub_task_options("Read a repo's refs"),
    "timeout_seconds": None,
    "tags": [],
}


def _read_one(client: HubClient, repo: Listed, include_files: bool) -> RepoState | None:
    """A repo's state; None when it failed transiently (after the client's own retries), to be retried
    in its own task. Never raises a hub error: one repo never fails its batch."""
    try:
        return repo_state(client, repo, include_files)
    except NotExistError as exc:  # gone, or made private to us, since the listing
        return RepoState(status="not_visible", reason=str(exc))
    except HubError as exc:
        return None if exc.retryable else RepoState(status="error", reason=str(exc))


@task(**{**SNAPSHOT_TASK, "name": "Read a batch of repos' refs"})
def read_repo_batch(
    repos: list[Listed],
    include_files: bool = False,
    modelscope_credentials: ModelScopeCredentials | None = None,
    threads: int = 1,
) -> BatchResult:
    """The fast path: read a batch of repos in one task run (Prefect's per-task cost is paid once per
    batch), `threads` requests at a time over the process's shared client. A repo gone since the
    listing is "not visible", a transient failure is handed back for a retrying per-repo task, anything
    else is recorded as an error."""
    result = BatchResult()
    with hub_client(modelscope_credentials) as client, ThreadPoolExecutor(threads, "read-repos") as pool:
        states = pool.map(lambda repo: _read_one(client, repo, include_files), repos)
        for repo, state in zip(repos, states, strict=True):
            if state is None:
                result.retry.append(repo.label)
            else:
                result.states[repo.label] = state
    return result


@task(**SNAPSHOT_TASK)
def read_repo_state(
    repo: Listed, include_files: bool = False, modelscope_credentials: ModelScopeCredentials | None = None
) -> RepoState:
    """One repo, in its own task run with Prefect's retries (the slow path after a transient failure)."""
    with hub_client(modelscope_credentials) as client:
        return repo_state(client, repo, include_files)


def _outcome(future: PrefectFuture[RepoState]) -> RepoState:
    """The repo's state, or why it could not be read (never raises)."""
    outcome = future.result(raise_on_failure=False)
    if isinstance(outcome, RepoState):
        return outcome
    if isinstance(outcome, NotExistError):
        return RepoState(status="not_visible", reason=str(outcome))
    return RepoState(status="error", reason=str(outcome) or type(outcome).__name__)


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


def batch_plan(repos: int, limit: int) -> tuple[int, int, int]:
    """(repos per batch, threads per batch, batches in flight) for `limit` requests in flight.

    Few batches, each read by up to `THREADS_PER_BATCH` threads: Prefect's cost per task run (measured
    0.1-0.8 s on an embedded server, more when dozens start at once) is paid per batch, not per
    request. At least `limit / THREADS_PER_BATCH` batches run side by side, so one batch's start-up
    overlaps another's reads; a batch holds at most `MAX_BATCH` repos, so a crashed one costs little.

    Example:
        >>> batch_plan(1000, 32), batch_plan(10_000, 32), batch_plan(3, 8)
        ((500, 16, 2), (500, 16, 2), (3, 8, 1))
    """
    threads = max(1, min(limit, THREADS_PER_BATCH))
    in_flight = -(-limit // threads)
    return max(1, min(MAX_BATCH, -(-repos // in_flight))), threads, in_flight


def read_all(
    repos: list[Listed], include_files: bool, limit: int, credentials: ModelScopeCredentials | None
) -> dict[str, RepoState]:
    """Read every repo, by label: batches first, then a retrying task per repo that failed transiently."""
    size, threads, in_flight = batch_plan(len(repos), limit)
    batches = [repos[i : i + size] for i in range(0, len(repos), size)]
    by_label = {r.label: r for r in repos}
    results: dict[str, RepoState] = {}
    retry: list[Listed] = []

    def submit(batch: list[Listed]) -> PrefectFuture[BatchResult]:
        return read_repo_batch.submit(batch, include_files, credentials, threads)

    for batch, future in _windowed(submit, batches, in_flight):
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, BatchResult):
            results.update(outcome.states)
            retry += [by_label[label] for label in outcome.retry]
        else:  # the batch task itself failed: give each repo its own retrying task
            retry += batch
    for repo, future in _windowed(lambda r: read_repo_state.submit(r, include_files, credentials), retry, limit):
        results[repo.label] = _outcome(future)
    return {r.label: results[r.label] for r in repos}


class Runner(str, Enum):
    """Where the per-repo reads run."""

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


@flow(name="snapshot-read-repos")
def read_repos(
    repos: list[Listed],
    include_files: bool,
    max_concurrency: int,
    modelscope_credentials: ModelScopeCredentials | None,
) -> dict[str, RepoState]:
    """The fan-out as its own flow run, so it can use a task runner chosen per run (Dask)."""
    return read_all(repos, include_files, max_concurrency, modelscope_credentials)


def read_repos_with(
    repos: list[Listed],
    include_files: bool,
    limit: int,
    runner: Runner,
    credentials: ModelScopeCredentials | None,
) -> dict[str, RepoState]:
    """Every repo's state by label, read in this flow's threads or, for `Runner.dask`, in a subflow on Dask."""
    if runner is Runner.dask:
        return read_repos.with_options(task_runner=dask_runner(limit))(repos, include_files, limit, credentials)
    return read_all(repos, include_files, limit, credentials)
