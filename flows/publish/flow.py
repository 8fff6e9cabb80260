"""The publish flows, `publish_model` and `publish_dataset`: what Prefect adds to a publish, and nothing the push
engine already does, in one body for both repo types.

The engine (through the `push_folder` task, with the request's `repo_type`) owns every publish step: folder
check, scan, ensure repo, plan, upload, commit, tag, verify and the concurrent-change rule. This module adds
the per-repo lock, the rollback of a repo this run created, a markdown artifact (link, commit, tag, counts,
changed files), an event `modelscope.<type>.published` (none for a no-op), and a Prefect asset
(`modelscope://owner/name` for a model, `modelscope://datasets/owner/name` for a dataset) whose upstream is the
published folder, so the UI shows lineage from the training flow (and from a dataset to the model trained on
it). A repo this run created is deleted again when the publish fails while it is still empty (opt out with
`rollback_new_repo=False`); an existing repo is never deleted. What differs between the two types lives in
the request (`flows/publish/request.py`), `flows/events.py` and `KINDS` below.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from prefect import Task, flow
from prefect.artifacts import create_markdown_artifact
from prefect.assets import Asset, AssetProperties, materialize
from prefect.cache_policies import NO_CACHE

from flows.events import asset_key, emit_repo_event, published_event
from flows.publish.request import (
    DatasetPublishLock,
    DatasetPublishRequest,
    PublishLock,
    PublishRequest,
    RepoPublishRequest,
)
from flows.snapshot.form import form_field
from hub_tasks import HubClient, ModelScopeCredentials, PushResult, dataset_exists, login, model_exists, push_folder
from hub_tasks.prefect.concurrency import model_lock
from hub_tasks.prefect.runtime import artifact_key, hub_client, run_logger
from hub_tasks.push.plan import managed
from hub_tasks.repo_types import RepoType

MAX_TABLE_ROWS = 200
# What the event carries (a subset of PushResult), with the repo named for its type: model_id and model_url
# for a model, dataset_id and dataset_url for a dataset (`_event_payload`).
EVENT_FIELDS = {
    "model_id",
    "model_url",
    "commit_id",
    "revision",
    "tag",
    "files_added",
    "files_changed",
    "files_deleted",
    "bytes_uploaded",
    "bytes_reused",
    "created_repo",
    "created_branch",
}


@dataclass(frozen=True)
class PublishKind:
    """How a publish of one repo type names what it leaves behind (beyond the event and asset: flows/events.py)."""

    artifact_prefix: str  # the markdown artifact's key is "<prefix>-<owner>-<name>"
    artifact_description: str  # "{}" is the repo id


KINDS: dict[RepoType, PublishKind] = {
    "model": PublishKind("publish", "Publish of {}"),
    "dataset": PublishKind("publish-dataset", "Publish of dataset {}"),
}


@contextmanager
def write_lock(repo_id: str, lock: PublishLock) -> Iterator[None]:
    """The repo's publish lock, or nothing when disabled."""
    if not lock.enabled:
        yield
        return
    with model_lock(repo_id, lock.limit_name(repo_id), lock.timeout_seconds, lock.lease_seconds):
        yield


# Called when the publish has finally failed, not from a Prefect transaction's on_rollback hook: a
# transaction is rolled back by the first failed attempt of a task in it, so the hook deleted the repo
# while the push still had retries, and a retry then re-created it and left it behind.
def _holds_content(client: HubClient, repo_id: str, repo_type: RepoType) -> bool:
    """Whether a repo holds anything but what the hub put there by itself.

    Empty means: no tag, no branch but master, and master (when there) is one commit of only the
    hub's own top-level dot files: some hubs start a repo with a `.gitattributes` commit
    (local_hub/hub_files.py), so "has commits" would make emptiness depend on the hub.
    """
    branches, tags = client.get_branches_and_tags_details(repo_id, repo_type=repo_type)
    if tags or {b.name for b in branches} - {"master"}:
        return True
    if not branches:
        return False
    if len(client.list_commits(repo_id, "master", 1, 2, repo_type=repo_type)) > 1:
        return True
    files = client.get_repo_files(repo_id, "master", recursive=True, repo_type=repo_type)
    return any(managed(f.path) for f in files if f.is_file)


def _delete_created_repo(repo_id: str, repo_type: RepoType, credentials: ModelScopeCredentials | None) -> None:
    """Undo a repo this run created, but only while it is still empty (never delete content)."""
    with hub_client(credentials) as client:
        if not client.repo_exists(repo_id, repo_type=repo_type):  # the push failed before it created the repo
            return
        if _holds_content(client, repo_id, repo_type):
            run_logger().warning("kept %s: the failed run left commits in it", repo_id)
            return
        client.delete_repo(repo_id, repo_type=repo_type, confirm=repo_id)
    run_logger().warning("rolled back %s: this run created it and the publish failed", repo_id)


def _report(result: PushResult) -> str:
    """The markdown artifact: link, commit, tag, counts, bytes, and the changed files."""
    lines = [f"# Published [{result.repo_id}]({result.repo_url})", ""]
    if result.noop:
        lines += ["**No changes**: the revision already matched the folder, so no commit was made.", ""]
    lines += [
        "| publish | value |",
        "|---|---|",
        f"| revision | `{result.revision}` |",
        f"| commit | `{result.commit_id or 'none (no-op)'}` |",
        f"| tag | `{result.tag or '-'}` |",
        f"| files | {result.files_added} added, {result.files_changed} changed, {result.files_deleted} deleted, "
        f"{result.files_unchanged} unchanged |",
        f"| bytes | {result.bytes_uploaded:,} sent, {result.bytes_reused:,} already on the hub, "
        f"{result.bytes_inline:,} inline |",
        f"| new repo | {'yes' if result.created_repo else 'no'} |",
        f"| new branch | {'yes' if result.created_branch else 'no'} |",
        "",
    ]
    if result.changes:
        lines += ["| change | path | size | kind |", "|---|---|---:|---|"]
        lines += [
            f"| {c.change} | `{c.path}` | {c.size:,} | {'lfs' if c.lfs else 'inline'} |"
            for c in result.changes[:MAX_TABLE_ROWS]
        ]
        if len(result.changes) > MAX_TABLE_ROWS:
            lines.append(f"| ... | {len(result.changes) - MAX_TABLE_ROWS} more | | |")
    return "\n".join(lines)


def _record_asset(folder: str, result: PushResult) -> None:
    """Materialize the repo's asset (`flows.events.asset_key`) with the published folder as its upstream asset."""
    repo = Asset(
        key=asset_key(result.repo_type, result.repo_id),
        properties=AssetProperties(name=result.repo_id, url=result.repo_url),
    )
    local = Asset(key=Path(folder).expanduser().resolve().as_uri())

    @materialize(
        repo,
        by="prefect-modelscope",
        asset_deps=[local],
        cache_policy=NO_CACHE,
        name=f"Record the {result.repo_type} asset",
        tags=["modelscope"],  # as every hub task carries
    )
    def record() -> None:
        repo.add_metadata(
            {"url": result.repo_url, "commit_id": result.commit_id, "revision": result.revision, "tag": result.tag}
        )

    record()


def _event_payload(result: PushResult) -> dict[str, Any]:
    """The published event's payload: `EVENT_FIELDS`, the repo's id and URL under its type's names."""
    payload = json.loads(result.model_dump_json(include=EVENT_FIELDS))
    for field in ("id", "url"):
        payload[f"{result.repo_type}_{field}"] = payload.pop(f"model_{field}")
    return payload


def publish_repo(
    request: RepoPublishRequest,
    credentials: ModelScopeCredentials | None,
    lock: PublishLock,
    exists: Task[..., bool],
) -> PushResult:
    """The body of both publish flows: check, log in, lock, push (rolling back a repo this run created), then
    the artifact, and for a publish that changed the hub the asset and the event.

    Args:
        request: A model's or a dataset's request; its class says which.
        credentials: The credentials block; env vars when None.
        lock: The per-repo lock.
        exists: The task that tells whether the repo exists (`model_exists` or `dataset_exists`), looked up
            by the flow when it runs, so a test's swapped tasks are the ones called.
    """
    repo_id, repo_type, folder = request.repo_id, request.repo_type, request.folder
    # The engine's own checks of the options and the folder, run before this flow's first remote call
    # (login); the engine repeats the cheap folder check, never the scan.
    options = request.push_options()
    request.checked_folder()
    login(modelscope_credentials=credentials)
    with write_lock(repo_id, lock):
        # Under the lock no other publish of this repo runs, so a repo missing now and present after a
        # failed push is this run's: every attempt of the push task may have created it, not only the last.
        existed = exists(repo_id, modelscope_credentials=credentials)
        try:
            result = push_folder(repo_id, folder, options, credentials, repo_type=repo_type)
        except Exception:
            if not existed and request.rollback_new_repo:
                try:
                    _delete_created_repo(repo_id, repo_type, credentials)
                except Exception as exc:  # the push's error is the one to report
                    run_logger().warning("could not roll back %s: %s", repo_id, exc)
            raise
    if not existed and not result.created_repo:  # an earlier attempt of the push task created it
        result = result.model_copy(update={"created_repo": True})
    kind = KINDS[repo_type]
    create_markdown_artifact(
        _report(result),
        key=artifact_key(kind.artifact_prefix, repo_id),
        description=kind.artifact_description.format(repo_id),
    )
    if not result.noop:
        _record_asset(folder, result)
        emit_repo_event(
            published_event(repo_type),
            repo_type,
            repo_id,
            _event_payload(result),
            **{"modelscope.revision": result.revision},
        )
    return result


@flow(name="publish-model", log_prints=False)
def publish_model(
    # Labels for the run form (Prefect labels a parameter with its raw name otherwise; see flows/snapshot/form.py).
    request: Annotated[PublishRequest, form_field("Publish request")],
    modelscope_credentials: Annotated[ModelScopeCredentials | None, form_field("ModelScope credentials")] = None,
    lock: Annotated[PublishLock, form_field("Publish lock")] = PublishLock(),
) -> PushResult:
    """Publish a model folder to the ModelScope Hub and verify it.

    Args:
        request: What to publish and how.
        modelscope_credentials: A saved credentials block (picked in the UI); env vars when None.
        lock: The per-model publish lock taken around the write phase (the whole push: ensure repo,
            upload, commit, tag, verify), so that two runs for one model never interleave, even on different workers.

    Returns:
        The `PushResult` (commit id None when nothing changed).

    Example:
        ```python
        from flows.publish.flow import PublishRequest, publish_model
        from hub_tasks import ModelScopeCredentials

        publish_model(PublishRequest(model_id="alice/demo", model_dir="./out", tag="v1.0"),
                      ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    return publish_repo(request, modelscope_credentials, lock, model_exists)


@flow(name="publish-dataset", log_prints=False)
def publish_dataset(
    request: Annotated[DatasetPublishRequest, form_field("Publish request")],
    modelscope_credentials: Annotated[ModelScopeCredentials | None, form_field("ModelScope credentials")] = None,
    lock: Annotated[DatasetPublishLock, form_field("Publish lock")] = DatasetPublishLock(),
) -> PushResult:
    """Publish a dataset folder to the ModelScope Hub and verify it: `publish_model`'s body for a dataset.

    Args:
        request: What dataset to publish and how.
        modelscope_credentials: A saved credentials block (picked in the UI); env vars when None.
        lock: The per-dataset publish lock taken around the write phase (the whole push: ensure repo,
            upload, commit, tag, verify), so that two runs for one dataset never interleave, even on different
            workers.

    Returns:
        The `PushResult` (`repo_type` "dataset"; commit id None when nothing changed).

    Example:
        ```python
        from flows.publish.flow import DatasetPublishRequest, publish_dataset
        from hub_tasks import ModelScopeCredentials

        publish_dataset(DatasetPublishRequest(dataset_id="alice/corpus", dataset_dir="./data", tag="v1"),
                        ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    return publish_repo(request, modelscope_credentials, lock, dataset_exists)
