"""The `snapshot_revisions` flow: record every model's and dataset's branches and tags (with commit ids),
diff, alert.

Per run: find the scope's previous snapshot (the scope is the endpoint, the sorted owners and the repo
types; the baseline is kept in the Prefect server, the archive is the fallback; a scope of models and
datasets with none of its own compares its models with the models-only scope's, see `scope.py`); list
every repo of every owner and repo type (pages in parallel); read each repo's refs (and optionally each
branch head's files) in a few batch tasks with up to `max_concurrency` requests in flight, models and
datasets together; keep the last known refs of repos that could not be read or are no longer listed;
write the snapshot to the archive and the baseline to the server; diff; leave a table artifact of the
changes (moved tags first, with each repo's type), a markdown summary, log lines, and one event per
change. A repo that cannot be read after retries is recorded with its reason and the run ends Failed
after writing the snapshot.
"""

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

from flows.snapshot.baseline import baseline_key, load_baseline, save_baseline
from flows.snapshot.diff import diff
from flows.snapshot.form import OptionalText, document_parameters, form_field
from flows.snapshot.format import Snapshot, count_by_kind, repo_label, sections
from flows.snapshot.history import carry_forward
from flows.snapshot.listing import list_owner_repos
from flows.snapshot.reading import Runner, read_repos_with
from flows.snapshot.report import (
    Baseline,
    SnapshotSummary,
    emit_changes,
    log_run,
    no_models_warning,
    repo_counts,
    summary,
    summary_description,
    table,
)
from flows.snapshot.repos import Listed
from flows.snapshot.scope import PLURAL, Scope
from flows.snapshot.store import SnapshotStore
from hub_tasks import ModelScopeCredentials
from hub_tasks.prefect.runtime import hub_client, run_logger
from hub_tasks.repo_types import REPO_TYPES, RepoType
from hub_tasks.validation import validate_owner

__all__ = ["DEFAULT_SNAPSHOT_DIR", "Runner", "SnapshotSummary", "snapshot_revisions"]

DEFAULT_SNAPSHOT_DIR = str(Path("~/.prefect-modelscope/snapshots"))
# Requests in flight by default. The reads wait on the network (a real hub answers in tens of ms) and
# cost little CPU, so this is set for latency: at 30 ms a request, 32 in flight read 1,000 models in
# about a second. A block's `rate_limit` still caps the request rate, whatever this is.
DEFAULT_CONCURRENCY = 32


def find_baseline(scope: Scope, store: SnapshotStore) -> tuple[Snapshot | None, Baseline]:
    """The scope's previous snapshot: the one kept in the Prefect server, else the archive's latest; for a
    scope of models and more with none yet, the same for its models-only scope (`Scope.baseline_scopes`).

    Raises:
        BaselineError: The server's baseline is unreadable.
        SnapshotStoreError: The archive cannot be read (other than holding nothing for the scope yet).
    """
    for candidate in scope.baseline_scopes():
        uncovered = [t for t in scope.repo_types if t not in candidate.repo_types]
        previous = load_baseline(candidate)
        if previous is not None:
            where = f"artifact {baseline_key(candidate)}"
            return previous, Baseline(source="server", taken_at=previous.taken_at, where=where, uncovered=uncovered)
        previous = store.latest(candidate)
        if previous is not None:
            where = store.describe()
            return previous, Baseline(source="archive", taken_at=previous.taken_at, where=where, uncovered=uncovered)
    return None, Baseline()


def list_owners(scope: Scope, concurrency: int, credentials: ModelScopeCredentials | None) -> list[Listed]:
    """Every repo of every owner and repo type of the scope: one listing task per owner and type, all at
    once (a failed one fails the run)."""
    pairs = [(owner, repo_type) for repo_type in scope.repo_types for owner in scope.owners]
    futures = [list_owner_repos.submit(owner, concurrency, credentials, repo_type) for owner, repo_type in pairs]
    listed = [future.result() for future in futures]
    for repo_type in scope.repo_types:
        counts = [(o, len(found)) for (o, t), found in zip(pairs, listed, strict=True) if t == repo_type]
        run_logger().info(
            "Listed %d %s: %s", sum(n for _, n in counts), PLURAL[repo_type], ", ".join(f"{o} {n}" for o, n in counts)
        )
    return [repo for found in listed for repo in found]


def failure_message(snapshot: Snapshot, location: str) -> str:
    """The Failed state's message: per repo type, how many could not be read, naming the first 20.

    Example:
        >>> from datetime import datetime, timezone
        >>> from flows.snapshot.format import RepoState
        >>> broken = RepoState(status="error", reason="HTTP 500")
        >>> s = Snapshot(taken_at=datetime.now(timezone.utc), endpoint="e", owners=["a"], models={"a/m": broken})
        >>> failure_message(s, "/snaps/s.json")
        '1 model(s) could not be read: a/m (HTTP 500); snapshot written to /snaps/s.json'
    """
    parts = []
    for repo_type in REPO_TYPES:
        failed = {r: s.reason for r, s in snapshot.listed(repo_type).items() if s.status == "error"}
        if failed:
            names = ", ".join(f"{repo_label(repo_type, r)} ({why})" for r, why in list(failed.items())[:20])
            parts.append(f"{len(failed)} {repo_type}(s) could not be read: {names}")
    return f"{'; '.join(parts)}; snapshot written to {location}"


@flow(name="snapshot-revisions", task_runner=ThreadPoolTaskRunner(max_workers=64))
@document_parameters
def snapshot_revisions(
    # Constraints go in Annotated: Prefect drops those of a `Field(...)` used as a default when it validates
    # a direct call (only deployments checked them), so owners=[] wrote an empty snapshot. The descriptions
    # reach the run form through the generated docstring, the labels through `form_field` (see form.py).
    # Help texts are plain words: v1 renders them as markdown, v2 as text (tests/unit/test_help_texts.py).
    owners: Annotated[
        list[str],
        form_field(
            "Owners",
            "Users or groups whose models to snapshot (e.g. alice, my-org). With the hub's endpoint they are the "
            "snapshot's scope: it is compared only with the previous snapshot of the same scope.",
            min_length=1,
        ),
    ],
    repo_types: Annotated[
        list[RepoType],
        form_field(
            "Repo types",
            "Which repos of the owners to snapshot: model, dataset or both. Like the owners, they are part of the "
            "scope; a first snapshot with datasets compares its models with the last models-only one.",
            min_length=1,
        ),
    ] = REPO_TYPES,  # a tuple: an immutable default; the form shows it as the list ["model", "dataset"]
    include_files: Annotated[
        bool,
        form_field(
            "Include files", "Also record every branch head's files (path, size, sha256): one request per branch."
        ),
    ] = False,
    snapshot_dir: Annotated[
        str,
        form_field(
            "Snapshot folder",
            "Folder that archives every snapshot, on the worker (a leading ~ is expanded), or the path inside the "
            "file system block (the default then means its snapshots/ folder). Scopes can share it.",
        ),
    ] = DEFAULT_SNAPSHOT_DIR,
    # Plain text, empty for none (None from Python callers still means the local folder).
    filesystem_block: Annotated[
        OptionalText,
        form_field(
            "File system block",
            "A WritableFileSystem block as slug/name (e.g. s3-bucket/snapshots); empty for the local folder.",
            form_default="",
        ),
    ] = None,
    max_concurrency: Annotated[
        int,
        form_field(
            "Requests in flight",
            "Hub requests in flight at once (the reads wait on the network, not the CPU); the credentials block's "
            "rate limit, if set, still caps the request rate.",
            ge=1,
            le=64,
        ),
    ] = DEFAULT_CONCURRENCY,
    task_runner: Annotated[
        Runner,
        form_field("Task runner", "Run the reads in threads of the flow's process, or on a local Dask cluster."),
    ] = Runner.thread,
    modelscope_credentials: Annotated[
        ModelScopeCredentials | None,
        form_field(
            "ModelScope credentials",
            "The ModelScope credentials block; empty for the MODELSCOPE_API_TOKEN and MODELSCOPE_ENDPOINT "
            "environment variables.",
        ),
    ] = None,
) -> SnapshotSummary | State:
    """Snapshot every model and dataset of `owners` with refs and commit ids, then diff against the scope's
    previous one.

    Returns:
        A `SnapshotSummary`, or a Failed state (after the snapshot is written) when repos could not be read.

    Raises:
        InvalidParameter: An owner name is malformed (before any request).
        SnapshotStoreError: The archive cannot be read or written.
        BaselineError: The scope's baseline in the Prefect server is unreadable.

    Example:
        ```python
        from flows.snapshot.flow import snapshot_revisions
        from hub_tasks import ModelScopeCredentials

        summary = snapshot_revisions(["alice"], modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        print(summary.location, summary.changes_by_kind)
        ```
    """
    for owner in owners:
        validate_owner(owner, "snapshot_revisions")
    log = run_logger()
    store = SnapshotStore(snapshot_dir, filesystem_block, DEFAULT_SNAPSHOT_DIR)
    taken_at = datetime.now(timezone.utc)
    with hub_client(modelscope_credentials) as client:
        scope = Scope.of(client.endpoint, owners, repo_types)
    log.info("Snapshot of %s (scope key %s); archive: %s", scope.label, scope.key, store.describe())
    previous, baseline = find_baseline(scope, store)
    log.info("Comparing with %s", baseline.describe())
    repos = list_owners(scope, max_concurrency, modelscope_credentials)
    states = read_repos_with(repos, include_files, max_concurrency, Runner(task_runner), modelscope_credentials)
    fields = {}
    for repo_type in scope.repo_types:
        read = {r.repo_id: states[r.label] for r in repos if r.repo_type == repo_type}
        fields |= sections(repo_type, *carry_forward(read, previous, taken_at, include_files, repo_type))
    snapshot = Snapshot(
        taken_at=taken_at,
        endpoint=scope.endpoint,
        owners=list(scope.owners),
        repo_types=list(scope.repo_types),
        include_files=include_files,
        **fields,
    )
    location = store.save(snapshot)
    save_baseline(snapshot, location, flow_run.id)
    changes = diff(previous, snapshot)
    log_run(log, snapshot, location, changes)
    create_table_artifact(table(changes), key="modelscope-snapshot-diff", description="Changes since the last snapshot")
    create_markdown_artifact(
        summary(snapshot, location, changes, baseline),
        key="modelscope-snapshot",
        description=summary_description(snapshot, changes, baseline),
    )
    emit_changes(changes, scope.endpoint, log)
    counts = count_by_kind(changes)
    result = SnapshotSummary(
        location=location,
        models=len(snapshot.models),
        datasets=len(snapshot.datasets),
        repo_types=list(scope.repo_types),
        failed=snapshot.failed,
        changes=len(changes),
        not_visible=snapshot.not_visible,
        tags_moved=counts.get("tag.moved", 0),
        first_snapshot=baseline.first,
        scope=scope.label,
        changes_by_kind=counts,
        compared_with=baseline.describe(),
    )
    if snapshot.failed:
        return Failed(message=failure_message(snapshot, location), data=result)
    if not any(snapshot.entries()):
        log.warning(no_models_warning(snapshot))
        return Completed(message=no_models_warning(snapshot), data=result)
    return Completed(message=f"{repo_counts(snapshot)}, {len(changes)} changes", data=result)
