"""The `snapshot_revisions` flow: record every model's branches and tags (with commit ids), diff, alert.

Per run: list every model of every owner (all pages); read each model in its own task (its
refs with the commit each points at, and optionally the file list of each branch head), at most
`max_concurrency` at a time; write a versioned JSON snapshot atomically; diff it against the
previous one; leave a table artifact of the changes (moved tags first), a markdown summary, and
one event per change. A model that cannot be read after retries is recorded with its reason and
the run ends Failed after writing the snapshot; a model gone since the listing is "not visible".
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel, Field

from flows.events import emit_model_event
from flows.snapshot.diff import diff
from flows.snapshot.format import Change, ModelState, Snapshot
from flows.snapshot.reading import Runner, read_models_with
from flows.snapshot.store import SnapshotStore
from hub_tasks import ModelInfo, ModelScopeCredentials, list_all_models
from hub_tasks.prefect.runtime import hub_client, run_logger
from hub_tasks.validation import validate_owner

DEFAULT_SNAPSHOT_DIR = str(Path("~/.prefect-modelscope/snapshots"))
MAX_EVENTS = 500
MAX_TABLE_ROWS = 1000


class SnapshotSummary(BaseModel):
    """What a snapshot run produced."""

    location: str
    models: int
    failed: dict[str, str] = Field(default_factory=dict)
    not_visible: list[str] = Field(default_factory=list)
    changes: int = 0
    tags_moved: int = 0


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
        emit_model_event(change.event, change.model_id, {**change.model_dump(exclude_none=True), "endpoint": endpoint})
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
    states = read_models_with(models, include_files, max_concurrency, Runner(task_runner), modelscope_credentials)
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
