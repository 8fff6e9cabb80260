"""The `snapshot_revisions` flow: record every model's branches and tags (with commit ids), diff, alert.

Per run: list every model of every owner (all pages); read each model in its own task (its
refs with the commit each points at, and optionally the file list of each branch head), at most
`max_concurrency` at a time; write a versioned JSON snapshot atomically; diff it against the
previous one; leave a table artifact of the changes (moved tags first), a markdown summary, and
one event per change. A model that cannot be read after retries is recorded with its reason and
the run ends Failed after writing the snapshot; a model gone since the listing is "not visible".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.events import emit_event
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Completed, Failed, State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from flows.snapshots import Change, FileState, ModelState, RefState, Snapshot, SnapshotStore, diff
from hub_tasks import HubClient, HubError, ModelInfo, ModelScopeCredentials, NotExistError, list_all_models
from hub_tasks.task_runtime import hub_client, hub_task_options, run_logger
from hub_tasks.validation import validate_owner

DEFAULT_SNAPSHOT_DIR = str(Path("~/.prefect-modelscope/snapshots"))
MAX_EVENTS = 500
T = TypeVar("T")
MAX_TABLE_ROWS = 1000


class SnapshotSummary(BaseModel):
    """What a snapshot run produced."""

    location: str
    models: int
    failed: dict[str, str] = Field(default_factory=dict)
    not_visible: list[str] = Field(default_factory=list)
    changes: int = 0
    tags_moved: int = 0


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
# then backs off 2 s (measured: 2 of 5 snapshots of 1,000 models took 4-7 s instead of 2). Fan-out is
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


def _table(changes: list[Change]) -> list[dict[str, str]]:
    rows = [
        {"change": c.kind, "model": c.model_id, "ref": c.ref or "", "old": c.old or "", "new": c.new or ""}
        for c in changes[:MAX_TABLE_ROWS]
    ]
    if len(changes) > MAX_TABLE_ROWS:
        rows.append(
            {"change": "...", "model": f"{len(changes) - MAX_TABLE_ROWS} more", "ref": "", "old": "", "new": ""}
        )
    return rows


def _summary(snapshot: Snapshot, location: str, changes: list[Change], previous: Snapshot | None) -> str:
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    states = [s.status for s in snapshot.models.values()]
    lines = [
        f"# Snapshot of {', '.join(snapshot.owners)}",
        "",
        f"- taken at {snapshot.taken_at.isoformat()} from {snapshot.endpoint}",
        f"- stored at `{location}`",
        f"- {len(states)} models: {states.count('ok')} read, {states.count('not_visible')} not visible, "
        f"{states.count('error')} failed",
        f"- compared with {previous.taken_at.isoformat() if previous else 'nothing (first snapshot)'}",
        "",
    ]
    if counts.get("tag.moved"):
        lines += [f"**{counts['tag.moved']} tag(s) moved** — a tag should never move; check who did it.", ""]
    lines += [f"- {kind}: {n}" for kind, n in counts.items()] or ["No changes."]
    if snapshot.failed:
        lines += ["", "## Could not read", *[f"- `{m}`: {r}" for m, r in snapshot.failed.items()]]
    return "\n".join(lines)


def _emit(changes: list[Change], endpoint: str) -> None:
    for change in changes[:MAX_EVENTS]:
        emit_event(
            event=change.event,
            resource={
                "prefect.resource.id": f"modelscope.model.{change.model_id}",
                "prefect.resource.name": change.model_id,
            },
            payload={**change.model_dump(exclude_none=True), "endpoint": endpoint},
        )
    if len(changes) > MAX_EVENTS:
        run_logger().warning("%d changes; emitted events for the first %d", len(changes), MAX_EVENTS)


def _last_read(states: dict[str, ModelState], previous: Snapshot | None, include_files: bool) -> dict[str, ModelState]:
    """A model that could not be read keeps the refs (and files) of the previous snapshot, so that its next
    good read is diffed against them: otherwise a tag moved meanwhile would never be reported."""
    if previous is None:
        return states
    kept = {}
    for model_id, state in states.items():
        last = previous.models.get(model_id)
        if state.status == "error" and last is not None and last.status in ("ok", "error"):
            update = {"status": "error", "reason": state.reason, "files": last.files if include_files else None}
            state = last.model_copy(update=update)
        kept[model_id] = state
    return kept


def _read(
    models: list[ModelInfo],
    include_files: bool,
    limit: int,
    runner: Runner,
    credentials: ModelScopeCredentials | None,
) -> dict[str, ModelState]:
    if runner is Runner.dask:
        return read_models.with_options(task_runner=dask_runner(limit))(models, include_files, limit, credentials)
    return read_all(models, include_files, limit, credentials)


@flow(name="snapshot-revisions", task_runner=ThreadPoolTaskRunner(max_workers=64))
def snapshot_revisions(
    # Constraints go in Annotated: Prefect drops those of a `Field(...)` used as a default when it validates
    # a direct call (only deployments checked them), so owners=[] wrote an empty snapshot.
    owners: Annotated[list[str], Field(min_length=1, description="Users or groups whose models to snapshot.")],
    include_files: Annotated[bool, Field(description="Also record every branch head's files.")] = False,
    snapshot_dir: Annotated[
        str, Field(description="Folder for snapshots (or path in the block).")
    ] = DEFAULT_SNAPSHOT_DIR,
    filesystem_block: Annotated[
        str | None,
        Field(description="A WritableFileSystem block as slug/name (e.g. s3-bucket/snapshots); local if empty."),
    ] = None,
    max_concurrency: Annotated[int, Field(ge=1, le=64, description="Models read at the same time.")] = 8,
    task_runner: Annotated[
        Runner, Field(description="Run the reads in threads or on a local Dask cluster.")
    ] = Runner.thread,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> SnapshotSummary | State:
    """Snapshot every model of `owners` with refs and commit ids, then diff against the previous one.

    Args:
        owners: Users or groups.
        include_files: Record each branch head's files (path, size, sha256).
        snapshot_dir: Where snapshots go.
        filesystem_block: Store them in this Prefect filesystem block instead of locally.
        max_concurrency: Models read at the same time.
        task_runner: `thread` (in this process) or `dask` (a local Dask cluster, in a subflow).
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        A `SnapshotSummary`, or a Failed state (after the snapshot is written) when models could not be read.
    """
    for owner in owners:
        validate_owner(owner, "snapshot_revisions")
    store = SnapshotStore(snapshot_dir, filesystem_block)
    taken_at = datetime.now(timezone.utc)
    with hub_client(modelscope_credentials) as client:
        endpoint = client.endpoint
    models: list[ModelInfo] = []
    for owner in owners:
        models += list_all_models(owner, modelscope_credentials=modelscope_credentials)
    states = _read(models, include_files, max_concurrency, Runner(task_runner), modelscope_credentials)
    previous = store.latest()
    snapshot = Snapshot(
        taken_at=taken_at,
        endpoint=endpoint,
        owners=list(owners),
        include_files=include_files,
        models=_last_read(states, previous, include_files),
    )
    location = store.save(snapshot)
    changes = diff(previous, snapshot)
    create_table_artifact(
        _table(changes), key="modelscope-snapshot-diff", description="Changes since the last snapshot"
    )
    create_markdown_artifact(_summary(snapshot, location, changes, previous), key="modelscope-snapshot")
    _emit(changes, endpoint)
    summary = SnapshotSummary(
        location=location,
        models=len(snapshot.models),
        failed=snapshot.failed,
        changes=len(changes),
        not_visible=[m for m, s in snapshot.models.items() if s.status == "not_visible"],
        tags_moved=sum(1 for c in changes if c.kind == "tag.moved"),
    )
    if snapshot.failed:
        names = ", ".join(f"{m} ({r})" for m, r in list(snapshot.failed.items())[:20])
        return Failed(
            message=f"{len(snapshot.failed)} model(s) could not be read: {names}; snapshot written to {location}",
            data=summary,
        )
    return Completed(message=f"{len(snapshot.models)} models, {len(changes)} changes", data=summary)
