"""Prefect tasks: one thin, retrying task per ModelScope Hub account, model and revision operation.

Each task takes the operation's `HubApi` parameters plus `modelscope_credentials` (a
`ModelScopeCredentials` block; without one the official SDK's environment variables are used),
calls `HubClient`, and returns a typed, secret-free result. The tasks that move folders (push,
verify, download, fetch a meta file) are in `transfer_tasks.py`; the retry budget they all share is
written down in `runtime.py`.
"""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Literal

from prefect import task
from pydantic import SecretStr

from hub_tasks.errors import AlreadyExistsError, NotExistError
from hub_tasks.prefect.credentials import ModelScopeCredentials
from hub_tasks.prefect.runtime import (
    hub_client,
    hub_task_options,
    is_task_retry,
    run_logger,
)
from hub_tasks.types import (
    LoginResult,
    ModelInfo,
    ModelPage,
    RepoFile,
    Revision,
)


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
    model_id: str,
    cutoff_timestamp: int | None = None,
    use_cookies: bool | CookieJar = False,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> list[str]:
    """Tag names created at or before `cutoff_timestamp`, newest first; None means every tag up to the
    hub's own "now" (not the SDK's release date, which hides newer tags).

    Args:
        model_id: "owner/name".
        cutoff_timestamp: Whole epoch seconds, or None.
        use_cookies: Accepted for the SDK's signature and ignored: the token authenticates.
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
        return client.list_model_revisions(model_id, cutoff_timestamp, use_cookies)


@task(**hub_task_options("Get ModelScope branches and tags"))
def get_model_branches_and_tags(
    model_id: str, use_cookies: bool | CookieJar = False, modelscope_credentials: ModelScopeCredentials | None = None
) -> tuple[list[str], list[str]]:
    """Branch names and tag names (tags newest first).

    Args:
        model_id: "owner/name".
        use_cookies: Accepted for the SDK's signature and ignored: the token authenticates.
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
        return client.get_model_branches_and_tags(model_id, use_cookies)


@task(**hub_task_options("Get ModelScope model files"))
def get_model_files(
    model_id: str,
    revision: str | None = None,
    root: str | None = None,
    recursive: bool = False,
    use_cookies: bool | CookieJar = False,
    headers: dict[str, str] | None = None,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> list[RepoFile]:
    """List a revision's files (complete even past the hub's 3000-entry listing cut).

    Args:
        model_id: "owner/name".
        revision: Branch, tag or commit; master when None.
        root: Only below this folder.
        recursive: Descend into sub-folders.
        use_cookies: Accepted for the SDK's signature and ignored: the token authenticates.
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
        return client.get_model_files(model_id, revision, root, recursive, use_cookies, headers)


@task(**hub_task_options("Tag a ModelScope model"))
def create_tag(
    model_id: str,
    tag: str,
    revision: str = "master",
    modelscope_credentials: ModelScopeCredentials | None = None,
    repo_type: Literal["model", "dataset"] = "model",
) -> str:
    """Tag the commit `revision` points at; returns the commit id. Never moves an existing tag.

    Args:
        model_id: "owner/name" of the model (or dataset).
        tag: The tag, e.g. "v1.0" (not master/main).
        revision: Branch, tag or commit id to tag.
        modelscope_credentials: Credentials block; env vars when None.
        repo_type: "model", or "dataset" to tag a dataset.

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
        return client.create_tag(model_id, tag, revision, repo_type=repo_type)


@task(**hub_task_options("Create a ModelScope branch"))
def create_branch(
    model_id: str,
    branch: str,
    from_revision: str = "master",
    modelscope_credentials: ModelScopeCredentials | None = None,
    *,
    exist_ok: bool = False,
    repo_type: Literal["model", "dataset"] = "model",
) -> str:
    """Create a branch at the commit `from_revision` points at; returns that commit id.

    The hub's HTTP API has no branch call, so this is one ref update over its git endpoint with the
    git token login issues (the task logs in first); no objects are sent, and the git token never
    appears in logs, errors or results. A retry after a lost answer finds the branch and returns it.

    Args:
        model_id: "owner/name".
        branch: The new branch (git check-ref-format rules; not `HEAD`, not an existing tag's name).
        from_revision: A branch or tag, or the commit id at the head of one.
        modelscope_credentials: Credentials block; env vars when None.
        exist_ok: Return an existing branch's commit instead of failing.
        repo_type: "model", or "dataset" for a dataset's branch.

    Returns:
        The commit id the branch points at.

    Raises:
        InvalidParameter: A bad name, a name equal to a tag, or a missing `from_revision` (before any write).
        AlreadyExistsError: The branch exists (unless `exist_ok`).

    Example:
        ```python
        from prefect import flow
        from hub_tasks import ModelScopeCredentials, create_branch

        @flow
        def open_dev(model_id: str):
            return create_branch(model_id, "dev", modelscope_credentials=ModelScopeCredentials.load("BLOCK_NAME"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return client.create_branch(model_id, branch, from_revision, exist_ok=exist_ok, repo_type=repo_type)


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
