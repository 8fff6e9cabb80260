"""Prefect tasks that move a folder: publish it (with progress; datasets too), verify it, download it, fetch a file.

Same shape and retry policy as the tasks in `tasks.py` (see `runtime.py`), with the long
transfer timeout.
"""

from __future__ import annotations

import threading
import time
from typing import Literal

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import TaskRunContext

from hub_tasks.prefect.credentials import ModelScopeCredentials
from hub_tasks.prefect.runtime import (
    PROGRESS_EVERY_SECONDS,
    TRANSFER_TIMEOUT_SECONDS,
    artifact_key,
    hub_client,
    hub_task_options,
    run_logger,
)
from hub_tasks.push.progress import describe, format_size, percent
from hub_tasks.types import (
    DownloadResult,
    ProgressEvent,
    PushOptions,
    PushResult,
)
from hub_tasks.validation import validate_model_id


class _ProgressReporter:
    """Turns push progress into a Prefect progress artifact and throttled run-log lines."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.logger = run_logger()
        self.artifact_id = None
        # Per phase: when it was last reported, whether it had finished then, and its percentage. Hashing
        # and uploading run side by side, so one shared "last report" would be reset by every alternation
        # and each chunk of either phase would become a log line and an API call (202 of them in a 2 GiB
        # push, with the Prefect server busy on the artifact updates).
        self.reported: dict[str, tuple[float, bool]] = {}
        self.percent: dict[str, float] = {"hash": 0.0, "upload": 0.0}
        self.lock = threading.Lock()
        if TaskRunContext.get() is not None:
            self.artifact_id = create_progress_artifact(
                0.0, key=artifact_key("upload-progress", model_id), description=f"Publishing {model_id}"
            )

    def __call__(self, event: ProgressEvent) -> None:
        finished = event.files_done >= event.files_total and event.bytes_done >= event.bytes_total
        now = time.monotonic()
        # Below 100 until the last file is counted done ("100 %, 0 of 1 files" would contradict itself).
        done = percent(event)
        with self.lock:
            last = self.reported.get(event.phase)
            if last is not None and last[1] == finished and now - last[0] < PROGRESS_EVERY_SECONDS:
                return
            self.reported[event.phase] = (now, finished)
            self.percent[event.phase] = done
            # hashing is the first half of the bar, uploading the second; they overlap, so the bar is the mean
            overall = (self.percent["hash"] + self.percent["upload"]) / 2
        self.logger.info("%s %s", self.model_id, describe(event))
        if self.artifact_id is not None:
            update_progress_artifact(self.artifact_id, overall, description=f"{event.phase} {done:.0f}%")

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
    license: str | None = "Apache License 2.0",
    chinese_name: str | None = None,
    commit_message: str | None = "upload model",
    tag: str | None = None,
    revision: str = "master",
    original_model_id: str | None = None,
    ignore_file_pattern: str | list[str] | None = None,
    modelscope_credentials: ModelScopeCredentials | None = None,
    delete_missing: bool = True,
    max_workers: int | None = None,
    allow_secret_files: bool | list[str] = False,
    ignore_patterns: str | list[str] | None = None,
) -> PushResult:
    r"""Publish a folder so `revision` holds exactly its files; only changes are sent; verified.

    A retry after a transient failure resumes cheaply: blobs the hub already has are not sent again.
    Progress goes to a Prefect progress artifact and to the run log.

    Args:
        model_id: "owner/name"; created when missing.
        model_dir: The folder (with a configuration.json).
        visibility: 1 private, 3 internal, 5 public (for a new repo).
        license: License (for a new repo); None only when the repo exists.
        chinese_name: Display name (for a new repo).
        commit_message: Commit message; None or "" for the default, "upload model".
        tag: Tag the resulting commit.
        revision: Branch to publish to; a missing one is created from master's head (over git).
        original_model_id: Base model (for a new repo).
        ignore_file_pattern: Regular expression or list of them (the seed's meaning), searched in each
            relative path, e.g. `r"checkpoint-\d+"`; matching files are left out and kept on the hub.
        modelscope_credentials: Credentials block; env vars when None.
        delete_missing: Remove remote files that are not in the folder.
        max_workers: Parallel blob uploads.
        allow_secret_files: True, or globs of secret-looking files allowed to be published.
        ignore_patterns: Globs (e.g. `"*.log"`), as SDK 1.40's `upload_folder` takes them; matching files
            are left out and kept on the hub.

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
    options = PushOptions(
        visibility=visibility,
        license=license,
        chinese_name=chinese_name,
        commit_message=commit_message,
        tag=tag,
        revision=revision,
        original_model_id=original_model_id,
        ignore_file_pattern=ignore_file_pattern,
        ignore_patterns=ignore_patterns,
        delete_missing=delete_missing,
        max_workers=max_workers,
        allow_secret_files=allow_secret_files,
    )
    return push_folder.fn(model_id, model_dir, options, modelscope_credentials)


@task(**hub_task_options("Publish a model folder to ModelScope with PushOptions", TRANSFER_TIMEOUT_SECONDS))
def push_folder(
    model_id: str,
    model_dir: str,
    options: PushOptions | None = None,
    modelscope_credentials: ModelScopeCredentials | None = None,
    repo_type: Literal["model", "dataset"] = "model",
) -> PushResult:
    """`push_model` with its options as one typed `PushOptions`: what the publish flows call.

    Args:
        model_id: "owner/name" of the model (or dataset); created when missing.
        model_dir: The folder (a model's with a configuration.json).
        options: What the publish is asked to do (revision, tag, ignore patterns, ...); defaults when None.
        modelscope_credentials: Credentials block; env vars when None.
        repo_type: "model" or "dataset".

    Returns:
        A `PushResult` (commit id None for a no-op).

    Raises:
        InvalidParameter: Bad folder or arguments (before any request).
        AlreadyExistsError: The tag points elsewhere (before any upload).
        ConcurrentChangeError: Someone else changed the revision meanwhile.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, PushOptions, push_folder

        @flow
        def publish(folder: str):
            return push_folder("alice/demo", folder, PushOptions(tag="v1.0"),
                               ModelScopeCredentials.load("BLOCK_NAME")).commit_id
        ```
    """
    # a typed error, before the progress artifact is named after it
    validate_model_id(model_id, f"push_{repo_type}", repo_type)
    reporter = _ProgressReporter(model_id)
    with hub_client(modelscope_credentials) as client:
        result = client.push_folder(model_id, model_dir, options, progress=reporter, repo_type=repo_type)
    reporter.finish(result)
    run_logger().info("published %s", published_line(result))
    return result


def published_line(result: PushResult) -> str:
    """What a publish did, in one line: the model, the revision, the commit and tag, the counts and bytes.

    Example:
        >>> from hub_tasks import PushResult
        >>> print(published_line(PushResult(model_id="alice/demo", revision="master", model_url="u", commit_id="c0ffee",
        ...       tag="v1", files_added=2, files_changed=1, bytes_uploaded=3 * 2**20, bytes_reused=512)))
        alice/demo@master: commit c0ffee, tag v1; 2 added, 1 changed, 0 deleted, 0 unchanged; 3.0 MiB sent, 512 B reused
    """
    what = "no changes, no commit" if result.noop else f"commit {result.commit_id}"
    if result.tag:
        what += f", tag {result.tag}"
    return (
        f"{result.model_id}@{result.revision}: {what}; {result.files_added} added, {result.files_changed} changed,"
        f" {result.files_deleted} deleted, {result.files_unchanged} unchanged; {format_size(result.bytes_uploaded)}"
        f" sent, {format_size(result.bytes_reused)} reused"
    )


@task(**hub_task_options("Verify a published ModelScope model", TRANSFER_TIMEOUT_SECONDS))
def verify_model_folder(
    model_id: str,
    model_dir: str,
    revision: str = "master",
    ignore_file_pattern: str | list[str] | None = None,
    delete_missing: bool = True,
    modelscope_credentials: ModelScopeCredentials | None = None,
    ignore_patterns: str | list[str] | None = None,
    allow_secret_files: bool | list[str] = False,
) -> int:
    """Check that a revision holds exactly a folder's files (paths, sizes, sha256).

    Args:
        model_id: "owner/name".
        model_dir: The local folder.
        revision: Branch, tag or commit to check.
        ignore_file_pattern: Regular expressions (searched in relative paths) left out of the comparison.
        delete_missing: Also require that the hub has no extra files (top-level dot entries and ignored
            paths excepted).
        modelscope_credentials: Credentials block; env vars when None.
        ignore_patterns: Globs left out of the comparison.
        allow_secret_files: True, or globs of secret-looking files the folder may hold (off by default,
            as for `push_model`).

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
        return client.verify_folder(
            model_id,
            model_dir,
            revision,
            ignore_file_pattern,
            delete_missing=delete_missing,
            ignore_patterns=ignore_patterns,
            allow_secret_files=allow_secret_files,
        )


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
