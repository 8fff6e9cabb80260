"""Prefect tasks: one thin, retrying task per ModelScope Hub operation.

Each task takes the operation's `HubApi` parameters plus `modelscope_credentials` (a
`ModelScopeCredentials` block; without one the official SDK's environment variables are used),
calls `HubClient`, and returns a typed, secret-free result.

Retry budget, written down: inside one task attempt the client retries one HTTP call on
transient faults (429, 5xx, dropped connections, timeouts) up to `retry_attempts` = 4 times,
with jittered exponential back-off (0.5 s doubling, capped at 8 s, honouring `Retry-After` up to
30 s, 30 s of waiting in total). The task itself retries 3 times (after about 2, 4 and 8 s, jitter
0.5) and only when `is_retryable` says the failure was transient; a 400, 401, 403 or 404 fails at
once. Worst case: (3 + 1) x 4 = 16 calls of one request. Every task's `timeout_seconds` is longer
than the client's worst case for one attempt (4 x (10 s + 60 s) + 30 s = 310 s). Override any of
this with `.with_options(retries=..., timeout_seconds=...)`.

No task caches by default (mutating tasks must not; reads should show fresh hub state): pass
`cache_policy=INPUTS - "modelscope_credentials"` through `.with_options` to cache reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.context import TaskRunContext
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger
from prefect.tasks import Task, exponential_backoff
from pydantic import SecretStr

from hub_tasks.client import HubClient
from hub_tasks.concurrency import rate_limiter
from hub_tasks.credentials import ModelScopeCredentials
from hub_tasks.errors import AlreadyExistsError, NotExistError, is_retryable
from hub_tasks.settings import HubSettings
from hub_tasks.types import (
    DownloadResult,
    LoginResult,
    ModelInfo,
    ModelPage,
    ProgressEvent,
    PushResult,
    RepoFile,
    Revision,
)
from hub_tasks.validation import validate_model_id

TASK_RETRIES = 3
READ_TIMEOUT_SECONDS = 900
TRANSFER_TIMEOUT_SECONDS = 6 * 3600
PROGRESS_EVERY_SECONDS = 2.0


def retry_if_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """`retry_condition_fn` for hub tasks: retry only failures `is_retryable` calls transient."""
    try:
        state.result()
    except Exception as exc:
        return is_retryable(exc)
    return False


def hub_task_options(name: str, timeout: float = READ_TIMEOUT_SECONDS) -> dict[str, Any]:
    """The options every hub task shares (retry policy, timeout, no caching, the `modelscope` tag)."""
    return {
        "name": name,
        "retries": TASK_RETRIES,
        "retry_delay_seconds": exponential_backoff(backoff_factor=2),
        "retry_jitter_factor": 0.5,
        "retry_condition_fn": retry_if_transient,
        "timeout_seconds": timeout,
        "cache_policy": NO_CACHE,
        "tags": ["modelscope"],
    }


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """The run logger inside a flow or task run, else this module's logger."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("hub_tasks.tasks")


def is_task_retry() -> bool:
    """True in a task attempt after the first. Retries follow only transient failures, whose request
    may have taken effect with its answer lost; the client's own "check, then retry" does not span
    task attempts, so mutating tasks repeat that check here."""
    context = TaskRunContext.get()
    return context is not None and context.task_run.run_count > 1


_SHARED: OrderedDict[str, HubClient] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 16


def _fingerprint(settings: HubSettings) -> str:
    """Identifies a configuration without keeping the token itself as a key."""
    token = settings.token.get_secret_value() if settings.token else ""
    described = settings.model_dump(mode="json", exclude={"token"})
    return hashlib.sha256(json.dumps([described, token], sort_keys=True).encode()).hexdigest()


@contextmanager
def hub_client(modelscope_credentials: ModelScopeCredentials | None, *, shared: bool = True) -> Iterator[HubClient]:
    """A client from the block, or from `HubSettings` (the SDK's env vars) when there is none.

    Tasks of one process share one client per configuration, so fan-outs (a snapshot of
    thousands of models) reuse pooled connections instead of opening new ones per task.
    `shared=False` gives a private client, for operations that change its state (login).
    """
    settings = modelscope_credentials.settings() if modelscope_credentials is not None else HubSettings()
    limit = modelscope_credentials.rate_limit if modelscope_credentials is not None else None
    if not shared:
        with HubClient(settings=settings) as private:
            private.throttle = rate_limiter(limit) if limit else None
            yield private
        return
    key = _fingerprint(settings) + (limit or "")
    with _SHARED_LOCK:
        client = _SHARED.get(key)
        if client is None:
            client = _SHARED[key] = HubClient(settings=settings)
            client.throttle = rate_limiter(limit) if limit else None
            if len(_SHARED) > _SHARED_MAX:
                _SHARED.popitem(last=False)  # not closed: another thread may still be using it
        _SHARED.move_to_end(key)
    yield client


@task(**hub_task_options("Log in to ModelScope"))
def login(
    access_token: str | SecretStr | None = None,
    modelscope_credentials: ModelScopeCredentials | None = None,
    git_token_secret_block: str | None = None,
) -> LoginResult:
    """Verify the token with the hub (fails fast with a clear message when it is wrong).

    Args:
        access_token: A token to verify instead of the block's; prefer the block, or pass a `SecretStr`
            (a plain string is an ordinary parameter wherever Prefect shows one).
        modelscope_credentials: Credentials block; env vars when None.
        git_token_secret_block: Save the git token the hub issues into this `Secret` block.

    Returns:
        Username, email and whether a git token was issued; never the token itself.

    Raises:
        NotLoginError: No token, or the hub rejects it.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, login

        @flow
        def whoami():
            return login(modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME")).username
        ```
    """
    with hub_client(modelscope_credentials, shared=False) as client:
        result = client.login(access_token)
        if git_token_secret_block and client.git_token is not None:
            from prefect.blocks.system import Secret

            Secret(value=client.git_token).save(git_token_secret_block, overwrite=True)
    run_logger().info("logged in to %s as %s", client.endpoint, result.username)
    return result


@task(**hub_task_options("Create a ModelScope model"))
def create_model(
    model_id: str,
    visibility: int = 5,
    license: str = "Apache License 2.0",
    chinese_name: str | None = None,
    original_model_id: str = "",
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> str:
    """Create an empty model repo; returns its URL. Safe to retry after a lost answer.

    Args:
        model_id: "owner/name".
        visibility: 1 private, 3 internal, 5 public.
        license: License name.
        chinese_name: Display name.
        original_model_id: The base model it was trained from.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        The model's URL.

    Raises:
        AlreadyExistsError: The name is taken.
        InvalidParameter: Bad id or visibility (before any request).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, create_model

        @flow
        def make_repo():
            return create_model("alice/new-model", visibility=1,
                                modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        try:
            return client.create_model(model_id, visibility, license, chinese_name, original_model_id)
        except AlreadyExistsError:
            if not is_task_retry():
                raise
            run_logger().info("%s exists: the previous attempt created it and lost the answer", model_id)
            return client.model_url(model_id)


@task(**hub_task_options("Delete a ModelScope model"))
def delete_model(
    model_id: str, confirm: str | None = None, modelscope_credentials: ModelScopeCredentials | None = None
) -> None:
    """Delete a model repo. Irreversible: refused unless `confirm` equals `model_id`.

    Args:
        model_id: "owner/name".
        confirm: Must equal `model_id`.
        modelscope_credentials: Credentials block; env vars when None.

    Raises:
        InvalidParameter: Not confirmed (before any request).
        NotExistError: No such model.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, delete_model

        @flow
        def cleanup():
            delete_model("alice/scratch", confirm="alice/scratch",
                         modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        try:
            client.delete_model(model_id, confirm=confirm)
        except NotExistError:
            if not is_task_retry():
                raise
            run_logger().info("%s is gone: the previous attempt deleted it and lost the answer", model_id)
            return
    run_logger().info("deleted %s", model_id)


@task(**hub_task_options("Get a ModelScope model"))
def get_model(
    model_id: str, revision: str | None = None, modelscope_credentials: ModelScopeCredentials | None = None
) -> ModelInfo:
    """Fetch a model's metadata.

    Args:
        model_id: "owner/name".
        revision: A branch, tag or commit the model must have.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        The `ModelInfo`.

    Raises:
        NotExistError: No such model or revision (not retried).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, get_model

        @flow
        def visibility_of(model_id: str):
            return get_model(model_id, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME")).visibility
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.get_model(model_id, revision)


@task(**hub_task_options("Check a ModelScope model exists"))
def model_exists(model_id: str, modelscope_credentials: ModelScopeCredentials | None = None) -> bool:
    """True when the model exists and the token may see it.

    Args:
        model_id: "owner/name".
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        Whether it exists.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, model_exists

        @flow
        def exists(model_id: str) -> bool:
            return model_exists(model_id, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.model_exists(model_id)


@task(**hub_task_options("List ModelScope models"))
def list_models(
    owner_or_group: str,
    page_number: int = 1,
    page_size: int = 10,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> ModelPage:
    """One page of an owner's or group's models.

    Args:
        owner_or_group: User or group.
        page_number: 1-based page.
        page_size: 1..100.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        The page, with the total count.

    Raises:
        InvalidParameter: Bad page number or size (before any request).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, list_models

        @flow
        def count(owner: str) -> int:
            return list_models(owner, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME")).total_count
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.list_models(owner_or_group, page_number, page_size)


@task(**hub_task_options("List all ModelScope models of an owner"))
def list_all_models(
    owner_or_group: str, page_size: int = 100, modelscope_credentials: ModelScopeCredentials | None = None
) -> list[ModelInfo]:
    """Every model of an owner or group, across all pages (never silently truncated).

    Args:
        owner_or_group: User or group.
        page_size: Models per request, 1..100.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        All the owner's models the token may see.

    Raises:
        ListingLimitError: More models than the hub can page through.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, list_all_models

        @flow
        def ids(owner: str) -> list[str]:
            models = list_all_models(owner, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
            return [m.model_id for m in models]
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return list(client.iter_models(owner_or_group, page_size))


@task(**hub_task_options("List ModelScope model revisions"))
def list_model_revisions(
    model_id: str, cutoff_timestamp: int | None = None, modelscope_credentials: ModelScopeCredentials | None = None
) -> list[str]:
    """Tag names created at or before `cutoff_timestamp`, newest first; None means now (not the
    SDK's release date, which hides newer tags).

    Args:
        model_id: "owner/name".
        cutoff_timestamp: Epoch seconds.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        Tag names, newest first.

    Raises:
        NotExistError: No such model.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, list_model_revisions

        @flow
        def tags(model_id: str) -> list[str]:
            return list_model_revisions(model_id, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.list_model_revisions(model_id, cutoff_timestamp)


@task(**hub_task_options("Get ModelScope branches and tags"))
def get_model_branches_and_tags(
    model_id: str, modelscope_credentials: ModelScopeCredentials | None = None
) -> tuple[list[str], list[str]]:
    """Branch names and tag names (tags newest first).

    Args:
        model_id: "owner/name".
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        (branches, tags).

    Raises:
        NotExistError: No such model.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, get_model_branches_and_tags

        @flow
        def refs(model_id: str):
            return get_model_branches_and_tags(model_id,
                                               modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.get_model_branches_and_tags(model_id)


@task(**hub_task_options("Get ModelScope model files"))
def get_model_files(
    model_id: str,
    revision: str | None = None,
    root: str | None = None,
    recursive: bool = False,
    headers: dict[str, str] | None = None,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> list[RepoFile]:
    """List a revision's files (complete even past the hub's 3000-entry listing cut).

    Args:
        model_id: "owner/name".
        revision: Branch, tag or commit; master when None.
        root: Only below this folder.
        recursive: Descend into sub-folders.
        headers: Extra request headers.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        One `RepoFile` per entry.

    Raises:
        NotExistError: No such model, revision or folder.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, get_model_files

        @flow
        def paths(model_id: str) -> list[str]:
            files = get_model_files(model_id, recursive=True,
                                    modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
            return [f.path for f in files if f.is_file]
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.get_model_files(model_id, revision, root, recursive, headers)


@task(**hub_task_options("Tag a ModelScope model"))
def create_tag(
    model_id: str, tag: str, revision: str = "master", modelscope_credentials: ModelScopeCredentials | None = None
) -> str:
    """Tag the commit `revision` points at; returns the commit id. Never moves an existing tag.

    Args:
        model_id: "owner/name".
        tag: The tag, e.g. "v1.0" (not master/main).
        revision: Branch, tag or commit id to tag.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        The tagged commit id.

    Raises:
        AlreadyExistsError: The tag points at another commit.
        InvalidParameter: Bad tag name (before any request).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, create_tag

        @flow
        def release(model_id: str, version: str):
            return create_tag(model_id, version, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.create_tag(model_id, tag, revision)


class _ProgressReporter:
    """Turns push progress into a Prefect progress artifact and throttled run-log lines."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.logger = run_logger()
        self.artifact_id = None
        self.last = 0.0
        self.marker: tuple[str, bool] | None = None
        self.lock = threading.Lock()
        if TaskRunContext.get() is not None:
            key = "upload-progress-" + "".join(c if c.isascii() and c.isalnum() else "-" for c in model_id.lower())
            self.artifact_id = create_progress_artifact(
                0.0, key=key[:64].strip("-"), description=f"Publishing {model_id}"
            )

    def __call__(self, event: ProgressEvent) -> None:
        finished = event.files_done >= event.files_total and event.bytes_done >= event.bytes_total
        now = time.monotonic()
        with self.lock:
            marker = (event.phase, finished)
            if marker == self.marker and now - self.last < PROGRESS_EVERY_SECONDS:
                return
            self.marker, self.last = marker, now
        percent = 100.0 * event.bytes_done / event.bytes_total if event.bytes_total else 100.0
        self.logger.info(
            "%s %s: %.0f%% (%.1f of %.1f MiB, %d of %d files)",
            self.model_id,
            event.phase,
            percent,
            event.bytes_done / 2**20,
            event.bytes_total / 2**20,
            event.files_done,
            event.files_total,
        )
        if self.artifact_id is not None:
            # hashing is the first half of the bar, uploading the second
            overall = percent / 2 if event.phase == "hash" else 50 + percent / 2
            update_progress_artifact(self.artifact_id, overall, description=f"{event.phase} {percent:.0f}%")

    def finish(self, result: PushResult) -> None:
        """Fill the bar: a publish with no blob to upload (small files, reused blobs, a no-op) never
        reports an upload phase, and would otherwise stay at the 50 % where hashing ends."""
        if self.artifact_id is not None:
            what = "no changes" if result.noop else f"commit {result.commit_id}"
            update_progress_artifact(self.artifact_id, 100.0, description=f"published {self.model_id}: {what}")


@task(**hub_task_options("Publish a model folder to ModelScope", TRANSFER_TIMEOUT_SECONDS))
def push_model(
    model_id: str,
    model_dir: str,
    visibility: int = 5,
    license: str = "Apache License 2.0",
    chinese_name: str | None = None,
    commit_message: str = "upload model",
    tag: str | None = None,
    revision: str = "master",
    original_model_id: str | None = None,
    ignore_file_pattern: str | list[str] | None = None,
    modelscope_credentials: ModelScopeCredentials | None = None,
    delete_missing: bool = True,
    max_workers: int | None = None,
    allow_secret_files: bool | list[str] = False,
) -> PushResult:
    """Publish a folder so `revision` holds exactly its files; only changes are sent; verified.

    A retry after a transient failure resumes cheaply: blobs the hub already has are not sent again.
    Progress goes to a Prefect progress artifact and to the run log.

    Args:
        model_id: "owner/name"; created when missing.
        model_dir: The folder (with a configuration.json).
        visibility: 1 private, 3 internal, 5 public (for a new repo).
        license: License (for a new repo).
        chinese_name: Display name (for a new repo).
        commit_message: Commit message.
        tag: Tag the resulting commit.
        revision: Branch to publish to (the hub's HTTP API cannot create branches).
        original_model_id: Base model (for a new repo).
        ignore_file_pattern: Glob or list of globs to leave out.
        modelscope_credentials: Credentials block; env vars when None.
        delete_missing: Remove remote files that are not in the folder.
        max_workers: Parallel blob uploads.
        allow_secret_files: True, or globs of secret-looking files allowed to be published.

    Returns:
        A `PushResult` (commit id None for a no-op).

    Raises:
        InvalidParameter: Bad folder or arguments (before any request).
        AlreadyExistsError: The tag points elsewhere (before any upload).
        ConcurrentChangeError: Someone else changed the revision meanwhile.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, push_model

        @flow
        def publish(folder: str):
            return push_model("alice/demo", folder, tag="v1.0",
                              modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME")).commit_id
        ```
    """
    validate_model_id(model_id, "push_model")  # a typed error, before the progress artifact is named after it
    reporter = _ProgressReporter(model_id)
    with hub_client(modelscope_credentials) as client:
        result = client.push_model(
            model_id,
            model_dir,
            visibility,
            license,
            chinese_name,
            commit_message,
            tag,
            revision,
            original_model_id,
            ignore_file_pattern,
            delete_missing=delete_missing,
            max_workers=max_workers,
            progress=reporter,
            allow_secret_files=allow_secret_files,
        )
    reporter.finish(result)
    what = "no changes, no commit" if result.noop else f"commit {result.commit_id}"
    run_logger().info(
        "published %s: %s, %d bytes sent, %d reused", model_id, what, result.bytes_uploaded, result.bytes_reused
    )
    return result


@task(**hub_task_options("Get ModelScope refs with commit ids"))
def get_model_refs(model_id: str, modelscope_credentials: ModelScopeCredentials | None = None) -> list[Revision]:
    """Every branch and tag of a model with the commit id it points at.

    Args:
        model_id: "owner/name".
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        Branches, then tags (newest first), each with `commit_id`.

    Raises:
        NotExistError: No such model (not retried).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, get_model_refs

        @flow
        def heads(model_id: str) -> dict:
            refs = get_model_refs(model_id, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
            return {r.name: r.commit_id for r in refs}
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.get_model_refs(model_id)


@task(**hub_task_options("Verify a published ModelScope model", TRANSFER_TIMEOUT_SECONDS))
def verify_model_folder(
    model_id: str,
    model_dir: str,
    revision: str = "master",
    ignore_file_pattern: str | list[str] | None = None,
    delete_missing: bool = True,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> int:
    """Check that a revision holds exactly a folder's files (paths, sizes, sha256).

    Args:
        model_id: "owner/name".
        model_dir: The local folder.
        revision: Branch, tag or commit to check.
        ignore_file_pattern: Globs left out of the comparison.
        delete_missing: Also require that the hub has no extra files.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        How many files matched.

    Raises:
        VerificationError: Any difference, listed path by path (not retried).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, verify_model_folder

        @flow
        def check(folder: str):
            verify_model_folder("alice/demo", folder, "v1.0",
                                modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.verify_folder(model_id, model_dir, revision, ignore_file_pattern, delete_missing=delete_missing)


@task(**hub_task_options("Fetch a meta file from a URL", TRANSFER_TIMEOUT_SECONDS))
def fetch_meta_files_from_url(
    url: str,
    out_path: str,
    chunk_size: int = 1024,
    mode: str = "reuse_dataset_if_exists",
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> str:
    """Download a meta file (csv, jsonl, ...) into `out_path` atomically; returns the local path.

    Unlike the SDK: http(s) only, timeouts, typed errors that write nothing, temp-then-rename,
    Range resume, reuse only of a completed download (checked against its sidecar), the token only
    for the hub's own origin, and bytes saved exactly as served (`chunk_size` is a read size in
    bytes; no jsonl-to-csv conversion).

    Args:
        url: http(s) URL.
        out_path: Folder to write into.
        chunk_size: Streaming read size in bytes.
        mode: "reuse_dataset_if_exists" or "force_redownload".
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        The local file path.

    Raises:
        InvalidParameter: Bad URL, mode, chunk size or out_path (before any request).
        NotExistError: The URL answered 404 (not retried).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, fetch_meta_files_from_url

        @flow
        def fetch(url: str) -> str:
            return fetch_meta_files_from_url(url, "./meta",
                                             modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.fetch_meta_files_from_url(url, out_path, chunk_size, mode)


@task(**hub_task_options("Download a ModelScope model", TRANSFER_TIMEOUT_SECONDS))
def download_model(
    model_id: str,
    local_dir: str,
    revision: str = "master",
    allow_patterns: str | list[str] | None = None,
    ignore_patterns: str | list[str] | None = None,
    max_workers: int = 4,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> DownloadResult:
    """Mirror a revision into `local_dir`: fetch what is missing or different, verify every file.

    A retry after a transient failure resumes: files already verified are not fetched again, and
    partial files continue with Range.

    Args:
        model_id: "owner/name".
        local_dir: Target folder.
        revision: Branch, tag or commit.
        allow_patterns: Only paths or names matching these globs.
        ignore_patterns: Leave out paths or names matching these globs.
        max_workers: Parallel downloads.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        A `DownloadResult` (files downloaded and already present, bytes, the revision's commit id).

    Raises:
        DownloadError: Some files could not be fetched or verified (all are listed).
        NotExistError: No such model or revision.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, download_model

        @flow
        def mirror(model_id: str):
            return download_model(model_id, "./mirror",
                                  modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME")).commit_id
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.download_model(model_id, local_dir, revision, allow_patterns, ignore_patterns, max_workers)
