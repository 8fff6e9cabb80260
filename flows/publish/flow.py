"""The `publish_model` flow: what Prefect adds to a publish, and nothing the push engine already does.

The engine (through the `push_folder` task) owns every publish step: folder check, scan, ensure repo,
plan, upload, commit, tag, verify and the concurrent-change rule. This flow adds the per-model lock,
the rollback of a repo this run created, a markdown artifact (link, commit, tag, counts, changed files),
an event `modelscope.model.published` (none for a no-op), and a Prefect asset `modelscope://owner/name`
whose upstream is the published folder, so the UI shows lineage from the training flow. A repo this run
created is deleted again when the publish fails while it is still empty (opt out with
`rollback_new_repo=False`); an existing repo is never deleted.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.assets import Asset, AssetProperties, materialize
from prefect.cache_policies import NO_CACHE

from flows.events import MODEL_PUBLISHED, emit_model_event, model_asset_key
from flows.publish.request import PublishLock, PublishRequest
from flows.snapshot.form import form_field
from hub_tasks import HubClient, ModelScopeCredentials, PushResult, login, model_exists, push_folder
from hub_tasks.prefect.concurrency import model_lock
from hub_tasks.prefect.runtime import artifact_key, hub_client, run_logger
from hub_tasks.push.plan import managed
from hub_tasks.push.scan import check_folder

MAX_TABLE_ROWS = 200
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


@contextmanager
def write_lock(model_id: str, lock: PublishLock) -> Iterator[None]:
    """The model's publish lock, or nothing when disabled."""
    if not lock.enabled:
        yield
        return
    with model_lock(model_id, lock.name, lock.timeout_seconds, lock.lease_seconds):
        yield


# Called when the publish has finally failed, not from a Prefect transaction's on_rollback hook: a
# transaction is rolled back by the first failed attempt of a task in it, so the hook deleted the repo
# while the push still had retries, and a retry then re-created it and left it behind.
def _holds_content(client: HubClient, model_id: str) -> bool:
    """Whether a repo holds anything but what the hub put there by itself.

    Empty means: no tag, no branch but master, and master (when there) is one commit of only the
    hub's own top-level dot files: some hubs start a repo with a `.gitattributes` commit
    (local_hub/hub_files.py), so "has commits" would make emptiness depend on the hub.
    """
    branches, tags = client.get_model_branches_and_tags(model_id)
    if tags or set(branches) - {"master"}:
        return True
    if not branches:
        return False
    if len(client.list_commits(model_id, "master", 1, 2)) > 1:
        return True
    return any(managed(f.path) for f in client.get_model_files(model_id, "master", recursive=True) if f.is_file)


def _delete_created_model(model_id: str, credentials: ModelScopeCredentials | None) -> None:
    """Undo a repo this run created, but only while it is still empty (never delete content)."""
    with hub_client(credentials) as client:
        if not client.model_exists(model_id):  # the push failed before it created the repo
            return
        if _holds_content(client, model_id):
            run_logger().warning("kept %s: the failed run left commits in it", model_id)
            return
        client.delete_model(model_id, confirm=model_id)
    run_logger().warning("rolled back %s: this run created it and the publish failed", model_id)


def _report(request: PublishRequest, result: PushResult) -> str:
    """The markdown artifact: link, commit, tag, counts, bytes, and the changed files."""
    lines = [f"# Published [{request.model_id}]({result.model_url})", ""]
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


def _record_asset(request: PublishRequest, result: PushResult) -> None:
    """Materialize `modelscope://owner/name` with the published folder as its upstream asset."""
    model = Asset(
        key=model_asset_key(request.model_id), properties=AssetProperties(name=request.model_id, url=result.model_url)
    )
    folder = Asset(key=Path(request.model_dir).expanduser().resolve().as_uri())

    @materialize(
        model,
        by="prefect-modelscope",
        asset_deps=[folder],
        cache_policy=NO_CACHE,
        name="Record the model asset",
        tags=["modelscope"],  # as every hub task carries
    )
    def record() -> None:
        model.add_metadata(
            {"url": result.model_url, "commit_id": result.commit_id, "revision": result.revision, "tag": result.tag}
        )

    record()


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
    creds = modelscope_credentials
    # The engine's own checks of the options and the folder, run before this flow's first remote call
    # (login); the engine repeats the cheap folder check, never the scan.
    options = request.push_options()
    check_folder(request.model_dir)
    login(modelscope_credentials=creds)
    with write_lock(request.model_id, lock):
        # Under the lock no other publish of this model runs, so a repo missing now and present after a
        # failed push is this run's: every attempt of the push task may have created it, not only the last.
        existed = model_exists(request.model_id, modelscope_credentials=creds)
        try:
            result = push_folder(request.model_id, request.model_dir, options, creds)
        except Exception:
            if not existed and request.rollback_new_repo:
                try:
                    _delete_created_model(request.model_id, creds)
                except Exception as exc:  # the push's error is the one to report
                    run_logger().warning("could not roll back %s: %s", request.model_id, exc)
            raise
    if not existed and not result.created_repo:  # an earlier attempt of the push task created it
        result = result.model_copy(update={"created_repo": True})
    create_markdown_artifact(
        _report(request, result),
        key=artifact_key("publish", request.model_id),
        description=f"Publish of {request.model_id}",
    )
    if not result.noop:
        _record_asset(request, result)
        emit_model_event(
            MODEL_PUBLISHED,
            request.model_id,
            json.loads(result.model_dump_json(include=EVENT_FIELDS)),
            **{"modelscope.revision": result.revision},
        )
    return result
