"""The `publish_model` flow: check, log in, ensure the repo, push, tag, verify; report what changed.

It leaves a markdown artifact (link, commit, tag, counts, changed files), an event
`modelscope.model.published` (none for a no-op), and a Prefect asset `modelscope://owner/name`
whose upstream is the published folder, so the UI shows lineage from the training flow. A repo
this run created is deleted again when the push fails while it is still empty (opt out with
`rollback_new_repo=False`); an existing repo is never deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.assets import Asset, AssetProperties, materialize
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from flows.publish_request import PublishLock, PublishRequest
from hub_tasks import (
    AlreadyExistsError,
    ConcurrentChangeError,
    HubClient,
    ModelScopeCredentials,
    PushResult,
    VerificationError,
    create_tag,
    login,
    push_model,
    verify_model_folder,
)
from hub_tasks.concurrency import model_lock
from hub_tasks.scan import check_folder, normalize_patterns, scan_folder
from hub_tasks.task_runtime import hub_client, hub_task_options, run_logger

MAX_TABLE_ROWS = 200


@contextmanager
def write_lock(model_id: str, lock: PublishLock) -> Iterator[None]:
    """The model's publish lock, or nothing when disabled."""
    if not lock.enabled:
        yield
        return
    with model_lock(model_id, lock.name, lock.timeout_seconds, lock.lease_seconds):
        yield


@task(name="Check the model folder", cache_policy=NO_CACHE)
def check_model_folder(model_dir: str, ignore_patterns: list[str]) -> dict[str, int]:
    """Refuse a bad folder before any remote call: configuration.json, symlinks, secret-looking files."""
    files = scan_folder(check_folder(model_dir), normalize_patterns(ignore_patterns))
    summary = {"files": len(files), "bytes": sum(f.size for f in files)}
    run_logger().info("%s: %d files, %.1f MiB", model_dir, summary["files"], summary["bytes"] / 2**20)
    return summary


# The hub tasks' retry policy: a transient fault on this step must not fail a publish that every other
# step would have retried. A retry that finds the repo (its earlier attempt created it and lost the
# answer) reports False, so a rollback never deletes a repo this run cannot prove it created.
@task(**hub_task_options("Ensure the ModelScope repo exists"))
def ensure_model(request: PublishRequest, modelscope_credentials: ModelScopeCredentials | None = None) -> bool:
    """Create the repo unless it exists; True when this run created it (and may roll it back)."""
    with hub_client(modelscope_credentials) as client:
        if client.model_exists(request.model_id):
            return False
        try:
            client.create_model(
                request.model_id,
                request.visibility.code,
                request.license,
                request.chinese_name,
                request.original_model_id or "",
            )
        except AlreadyExistsError:  # another publish created it since we looked: publish into it, never roll it back
            if not client.model_exists(request.model_id):
                raise
            run_logger().info("%s was created meanwhile by another writer", request.model_id)
            return False
    run_logger().info("created %s (%s)", request.model_id, request.visibility.value)
    return True


# Called when push_model has finally failed, not from a Prefect transaction's on_rollback hook: a
# transaction is rolled back by the first failed attempt of a task in it, so the hook deleted the repo
# while push_model still had retries, and a retry then re-created it and left it behind.
def _delete_created_model(model_id: str, credentials: ModelScopeCredentials | None) -> None:
    """Undo a repo this run created, but only while it is still empty (never delete content)."""
    client = credentials.get_client() if credentials is not None else HubClient()
    with client:
        if client.resolve_ref_or_none(model_id, "master") is not None:
            run_logger().warning("kept %s: the failed run left commits in it", model_id)
            return
        client.delete_model(model_id, confirm=model_id)
    run_logger().warning("rolled back %s: this run created it and the publish failed", model_id)


def _moved_on(
    request: PublishRequest, result: PushResult, creds: ModelScopeCredentials | None, exc: VerificationError
) -> ConcurrentChangeError | None:
    """The error to raise when the branch failed verification because another writer moved it past our
    (verified) commit: the push engine's rule for a commit made after ours. None when it did not move."""
    if request.tag or not result.commit_id or isinstance(exc, ConcurrentChangeError):
        return None  # a tag never moves; a no-op made no commit to compare with
    with hub_client(creds) as client:
        head = client.resolve_ref_or_none(request.model_id, request.revision)
    if head == result.commit_id:
        return None
    return ConcurrentChangeError(
        f"a concurrent change was detected: {request.revision} moved from our commit {result.commit_id} to {head} "
        f"after the publish; {exc.message}",
        operation="publish_model",
        model_id=request.model_id,
    )


def _report(request: PublishRequest, result: PushResult) -> str:
    """The markdown artifact: link, commit, tag, counts, bytes, and the changed files."""
    lines = [f"# Published [{request.model_id}]({result.model_url})", ""]
    if result.noop:
        lines += ["**No changes**: the revision already matched the folder, so no commit was made.", ""]
    lines += [
        "| | |",
        "|---|---|",
        f"| revision | `{result.revision}` |",
        f"| commit | `{result.commit_id or 'none (no-op)'}` |",
        f"| tag | `{result.tag or '-'}` |",
        f"| files | {result.files_added} added, {result.files_changed} changed, {result.files_deleted} deleted, "
        f"{result.files_unchanged} unchanged |",
        f"| bytes | {result.bytes_uploaded:,} sent, {result.bytes_reused:,} already on the hub, "
        f"{result.bytes_inline:,} inline |",
        f"| new repo | {'yes' if result.created_repo else 'no'} |",
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


def _artifact_key(model_id: str) -> str:
    return ("publish-" + "".join(c if c.isalnum() else "-" for c in model_id.lower()))[:64].strip("-")


def _record_asset(request: PublishRequest, result: PushResult) -> None:
    """Materialize `modelscope://owner/name` with the published folder as its upstream asset."""
    owner, name = request.model_id.split("/")
    model = Asset(
        key=f"modelscope://{owner}/{name}", properties=AssetProperties(name=request.model_id, url=result.model_url)
    )
    folder = Asset(key=Path(request.model_dir).resolve().as_uri())

    @materialize(
        model, by="prefect-modelscope", asset_deps=[folder], cache_policy=NO_CACHE, name="Record the model asset"
    )
    def record() -> None:
        model.add_metadata(
            {"url": result.model_url, "commit_id": result.commit_id, "revision": result.revision, "tag": result.tag}
        )

    record()


@flow(name="publish-model", log_prints=False)
def publish_model(
    request: PublishRequest,
    modelscope_credentials: ModelScopeCredentials | None = None,
    lock: PublishLock = PublishLock(),
) -> PushResult:
    """Publish a model folder to the ModelScope Hub and verify it.

    Args:
        request: What to publish and how.
        modelscope_credentials: A saved credentials block (picked in the UI); env vars when None.
        lock: The per-model publish lock taken around the write phase (ensure repo, push, tag,
            verify), so that two runs for one model never interleave, even on different workers.

    Returns:
        The `PushResult` (commit id None when nothing changed).

    Example:
        ```python
        from flows.publish_model import PublishRequest, publish_model
        from hub_tasks import ModelScopeCredentials

        publish_model(PublishRequest(model_id="alice/demo", model_dir="./out", tag="v1.0"),
                      ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    creds = modelscope_credentials
    check_model_folder(request.model_dir, request.ignore_patterns)
    login(modelscope_credentials=creds)
    with write_lock(request.model_id, lock):
        created = ensure_model(request, creds)
        try:
            result = push_model(
                request.model_id,
                request.model_dir,
                request.visibility.code,
                request.license,
                request.chinese_name,
                request.commit_message,
                request.tag,
                request.revision,
                request.original_model_id,
                request.ignore_patterns,
                modelscope_credentials=creds,
                delete_missing=request.delete_missing,
            )
        except Exception:
            if created and request.rollback_new_repo:
                try:
                    _delete_created_model(request.model_id, creds)
                except Exception as exc:  # the push's error is the one to report
                    run_logger().warning("could not roll back %s: %s", request.model_id, exc)
            raise
        if created and not result.created_repo:  # ensure_model made it, so the engine found it there
            result = result.model_copy(update={"created_repo": True})
        if request.tag:  # confirms the engine's tag: idempotent at the same commit, an error anywhere else
            create_tag(
                request.model_id, request.tag, result.commit_id or request.revision, modelscope_credentials=creds
            )
        try:
            verify_model_folder(
                request.model_id,
                request.model_dir,
                request.tag or request.revision,
                request.ignore_patterns,
                request.delete_missing,
                modelscope_credentials=creds,
            )
        except VerificationError as exc:
            moved = _moved_on(request, result, creds, exc)
            if moved is None:
                raise
            raise moved from exc
    create_markdown_artifact(
        _report(request, result), key=_artifact_key(request.model_id), description=f"Publish of {request.model_id}"
    )
    if not result.noop:
        _record_asset(request, result)
        owner, name = request.model_id.split("/")
        emit_event(
            event="modelscope.model.published",
            resource={
                "prefect.resource.id": f"modelscope.model.{owner}/{name}",
                "prefect.resource.name": request.model_id,
                "modelscope.revision": result.revision,
            },
            payload=json.loads(
                result.model_dump_json(
                    include={
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
                    }
                )
            ),
        )
    return result
