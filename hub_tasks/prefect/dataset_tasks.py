"""Prefect tasks for datasets: the model tasks' shape and retry policy, for the hub's other repo type.

Each calls the `HubClient` dataset operation, which shares its engine with the model one (`repo_type`).
`create_tag` and `create_branch` in `tasks.py` take `repo_type="dataset"`; the publish and download
tasks here report progress as `push_model` does.
"""

from __future__ import annotations

from prefect import task

from hub_tasks.errors import AlreadyExistsError
from hub_tasks.prefect.credentials import ModelScopeCredentials
from hub_tasks.prefect.runtime import TRANSFER_TIMEOUT_SECONDS, hub_client, hub_task_options, is_task_retry, run_logger
from hub_tasks.prefect.transfer_tasks import push_folder
from hub_tasks.types import DatasetInfo, DatasetPage, DownloadResult, PushOptions, PushResult, RepoFile, Revision


@task(**hub_task_options("Create a ModelScope dataset"))
def create_dataset(
    dataset_id: str,
    visibility: int = 5,
    license: str = "Apache License 2.0",
    chinese_name: str | None = None,
    description: str | None = None,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> str:
    """Create an empty dataset repo; returns its URL. Safe to retry after a lost answer.

    Args:
        dataset_id: "owner/name".
        visibility: 1 private, 3 internal, 5 public.
        license: License name.
        chinese_name: Display name.
        description: What the data is.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        The dataset's URL.

    Raises:
        AlreadyExistsError: The name is taken.
        InvalidParameter: Bad id or visibility (before any request).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, create_dataset

        @flow
        def make_dataset():
            return create_dataset("alice/new-corpus", visibility=1,
                                  modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        try:
            return client.create_dataset(dataset_id, visibility, license, chinese_name, description)
        except AlreadyExistsError:
            if not is_task_retry():
                raise
            run_logger().info("%s exists: the previous attempt created it and lost the answer", dataset_id)
            return client.repo_url(dataset_id, "dataset")


@task(**hub_task_options("Delete a ModelScope dataset"))
def delete_dataset(
    dataset_id: str, confirm: str | None = None, modelscope_credentials: ModelScopeCredentials | None = None
) -> None:
    """Delete a dataset repo. Irreversible: refused unless `confirm` equals `dataset_id`.

    Args:
        dataset_id: "owner/name".
        confirm: Must equal `dataset_id`.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        None; the dataset is gone.

    Raises:
        InvalidParameter: Not confirmed (before any request).
        NotExistError: No such dataset.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, delete_dataset

        @flow
        def clean_up():
            delete_dataset("alice/old-corpus", confirm="alice/old-corpus",
                           modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        client.delete_dataset(dataset_id, confirm=confirm)


@task(**hub_task_options("Get a ModelScope dataset"))
def get_dataset(dataset_id: str, modelscope_credentials: ModelScopeCredentials | None = None) -> DatasetInfo:
    """Fetch a dataset's metadata (with the hub's numeric id).

    Args:
        dataset_id: "owner/name".
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        The `DatasetInfo` (visibility, license, the hub's numeric id and type, ...).

    Raises:
        NotExistError: No such dataset (not retried).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, get_dataset

        @flow
        def visibility_of(dataset_id: str):
            return get_dataset(dataset_id, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME")).visibility
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.get_dataset(dataset_id)


@task(**hub_task_options("Check a ModelScope dataset exists"))
def dataset_exists(dataset_id: str, modelscope_credentials: ModelScopeCredentials | None = None) -> bool:
    """True when the dataset exists and the token may see it.

    Args:
        dataset_id: "owner/name".
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        Whether it exists.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, dataset_exists

        @flow
        def exists(dataset_id: str) -> bool:
            return dataset_exists(dataset_id, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.dataset_exists(dataset_id)


@task(**hub_task_options("List ModelScope datasets"))
def list_datasets(
    owner_or_group: str,
    page_number: int = 1,
    page_size: int = 10,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> DatasetPage:
    """One page of an owner's or group's datasets, with the total count.

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
        from hub_tasks import ModelScopeCredentials, list_datasets

        @flow
        def count(owner: str) -> int:
            return list_datasets(owner, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME")).total_count
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.list_datasets(owner_or_group, page_number, page_size)


@task(**hub_task_options("List all ModelScope datasets of an owner"))
def list_all_datasets(
    owner_or_group: str, page_size: int = 100, modelscope_credentials: ModelScopeCredentials | None = None
) -> list[DatasetInfo]:
    """Every dataset of an owner or group, across all pages (never silently truncated).

    Args:
        owner_or_group: User or group.
        page_size: Datasets per request, 1..100.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        All the owner's datasets the token may see.

    Raises:
        ListingLimitError: More datasets than the hub can page through.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, list_all_datasets

        @flow
        def ids(owner: str) -> list[str]:
            found = list_all_datasets(owner, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
            return [d.dataset_id for d in found]
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return list(client.iter_datasets(owner_or_group, page_size))


@task(**hub_task_options("Get ModelScope dataset files"))
def get_dataset_files(
    dataset_id: str,
    revision: str | None = None,
    root: str | None = None,
    recursive: bool = False,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> list[RepoFile]:
    """List a dataset revision's files (a recursive listing is complete: every page is read).

    Args:
        dataset_id: "owner/name".
        revision: Branch, tag or commit id; master when None.
        root: Only below this folder.
        recursive: Descend into sub-folders.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        One `RepoFile` per entry, sorted by path.

    Raises:
        NotExistError: No such dataset, revision or folder (not retried).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, get_dataset_files

        @flow
        def paths(dataset_id: str) -> list[str]:
            files = get_dataset_files(dataset_id, recursive=True,
                                      modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
            return [f.path for f in files]
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.get_dataset_files(dataset_id, revision, root, recursive)


@task(**hub_task_options("Get ModelScope dataset branches and tags"))
def get_dataset_branches_and_tags(
    dataset_id: str, modelscope_credentials: ModelScopeCredentials | None = None
) -> tuple[list[str], list[str]]:
    """Branch names and tag names (tags newest first) of a dataset.

    Args:
        dataset_id: "owner/name".
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        (branch names, tag names).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, get_dataset_branches_and_tags

        @flow
        def tags_of(dataset_id: str) -> list[str]:
            block = ModelScopeCredentials.load("BLOCK_NAME")
            return get_dataset_branches_and_tags(dataset_id, modelscope_credentials=block)[1]
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.get_dataset_branches_and_tags(dataset_id)


@task(**hub_task_options("List ModelScope dataset revisions"))
def list_dataset_revisions(
    dataset_id: str, cutoff_timestamp: int | None = None, modelscope_credentials: ModelScopeCredentials | None = None
) -> list[Revision]:
    """A dataset's tags created at or before `cutoff_timestamp` (None: all), newest first.

    Args:
        dataset_id: "owner/name".
        cutoff_timestamp: Whole epoch seconds, or None for every tag up to the hub's own now.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        The tags as `Revision` objects, newest first.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, list_dataset_revisions

        @flow
        def versions(dataset_id: str) -> list[str]:
            tags = list_dataset_revisions(dataset_id, modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
            return [t.name for t in tags]
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.list_dataset_revisions(dataset_id, cutoff_timestamp)


@task(**hub_task_options("Publish a dataset folder to ModelScope", TRANSFER_TIMEOUT_SECONDS))
def push_dataset(
    dataset_id: str,
    dataset_dir: str,
    visibility: int = 5,
    license: str | None = "Apache License 2.0",
    chinese_name: str | None = None,
    commit_message: str | None = "upload dataset",
    tag: str | None = None,
    revision: str = "master",
    description: str | None = None,
    ignore_file_pattern: str | list[str] | None = None,
    modelscope_credentials: ModelScopeCredentials | None = None,
    delete_missing: bool = True,
    max_workers: int | None = None,
    allow_secret_files: bool | list[str] = False,
    ignore_patterns: str | list[str] | None = None,
) -> PushResult:
    """Publish a dataset folder so `revision` holds exactly its files: `push_model`'s engine and promises
    (incremental, resumable, verified, tags never moved), no configuration.json needed.

    Args:
        dataset_id: "owner/name"; created when missing.
        dataset_dir: The folder.
        visibility: 1 private, 3 internal, 5 public (for a new dataset).
        license: License (for a new dataset); None only when it exists.
        chinese_name: Display name (for a new dataset).
        commit_message: Commit message; None or "" for the default, "upload dataset".
        tag: Tag the resulting commit.
        revision: Branch to publish to; a missing one is created from master's head.
        description: What the data is (for a new dataset).
        ignore_file_pattern: Regular expressions of files to leave out (kept on the hub).
        modelscope_credentials: Credentials block; env vars when None.
        delete_missing: Remove remote files that are not in the folder.
        max_workers: Parallel blob uploads.
        allow_secret_files: True, or globs of secret-looking files allowed to be published.
        ignore_patterns: Globs of files to leave out (kept on the hub).

    Returns:
        A `PushResult` (`repo_type` "dataset"; commit id None for a no-op).

    Raises:
        InvalidParameter: Bad folder or arguments (before any request).
        AlreadyExistsError: The tag points elsewhere (before any upload).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, push_dataset

        @flow
        def publish_data(data_folder: str):
            return push_dataset("alice/corpus", data_folder, tag="v1",
                                modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME")).commit_id
        ```
    """
    options = PushOptions(
        visibility=visibility,
        license=license,
        chinese_name=chinese_name,
        commit_message=commit_message or "upload dataset",
        tag=tag,
        revision=revision,
        description=description,
        ignore_file_pattern=ignore_file_pattern,
        ignore_patterns=ignore_patterns,
        delete_missing=delete_missing,
        max_workers=max_workers,
        allow_secret_files=allow_secret_files,
    )
    return push_folder.fn(dataset_id, dataset_dir, options, modelscope_credentials, repo_type="dataset")


@task(**hub_task_options("Verify a published ModelScope dataset", TRANSFER_TIMEOUT_SECONDS))
def verify_dataset_folder(
    dataset_id: str,
    dataset_dir: str,
    revision: str = "master",
    delete_missing: bool = True,
    modelscope_credentials: ModelScopeCredentials | None = None,
    ignore_patterns: str | list[str] | None = None,
    allow_secret_files: bool | list[str] = False,
) -> int:
    """Check that a dataset revision holds exactly a folder's files (paths, sizes, sha256); returns how many.

    Args:
        dataset_id: "owner/name".
        dataset_dir: The local folder.
        revision: Branch, tag or commit to check.
        delete_missing: Also require that the hub has no extra files (top-level dot entries and ignored
            paths excepted).
        ignore_patterns: Globs left out of the comparison.
        allow_secret_files: True, or globs of secret-looking files the folder may hold.
        modelscope_credentials: Credentials block; env vars when None.

    Returns:
        How many files matched.

    Raises:
        VerificationError: Any difference, listed path by path (not retried).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, verify_dataset_folder

        @flow
        def check(data_folder: str):
            verify_dataset_folder("alice/corpus", data_folder, "v1",
                                  modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.verify_dataset_folder(
            dataset_id,
            dataset_dir,
            revision,
            ignore_patterns=ignore_patterns,
            delete_missing=delete_missing,
            allow_secret_files=allow_secret_files,
        )


@task(**hub_task_options("Download a ModelScope dataset", TRANSFER_TIMEOUT_SECONDS))
def download_dataset(
    dataset_id: str,
    local_dir: str,
    revision: str = "master",
    allow_patterns: str | list[str] | None = None,
    ignore_patterns: str | list[str] | None = None,
    max_workers: int = 4,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> DownloadResult:
    """Mirror a dataset revision into `local_dir`, every file verified; a retry resumes.

    Args:
        dataset_id: "owner/name".
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
        NotExistError: No such dataset or revision.

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, download_dataset

        @flow
        def fetch_data(dataset_id: str):
            return download_dataset(dataset_id, "./corpus",
                                    modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME")).commit_id
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.download_dataset(dataset_id, local_dir, revision, allow_patterns, ignore_patterns, max_workers)
