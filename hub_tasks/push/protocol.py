"""`PushHub`: the hub operations the push engine uses, as a protocol (the engine never imports the client)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from hub_tasks.repo_types import RepoType
from hub_tasks.settings import HubSettings
from hub_tasks.types import CommitOperation, RepoFile, Revision
from hub_tasks.wire.session import T


class PushHub(Protocol):
    """The hub operations the engine uses; `HubClient` provides them (the engine never imports it).

    Every repo operation takes the repo type: the engine publishes models and datasets alike.
    """

    settings: HubSettings

    def require_token(self, operation: str, model_id: str | None = None) -> None: ...
    def repo_url(self, repo_id: str, repo_type: RepoType = "model") -> str: ...
    def repo_exists(self, repo_id: str, *, repo_type: RepoType = "model") -> bool: ...
    def delete_repo(self, repo_id: str, *, repo_type: RepoType = "model", confirm: str | None = None) -> None: ...
    def create_repo(
        self,
        repo_id: str,
        *,
        repo_type: RepoType = "model",
        visibility: int = 5,
        license: str = "Apache License 2.0",
        chinese_name: str | None = None,
        description: str | None = None,
        original_model_id: str | None = None,
    ) -> str: ...
    def get_branches_and_tags_details(
        self, repo_id: str, *, repo_type: RepoType = "model"
    ) -> tuple[list[Revision], list[Revision]]: ...
    def get_repo_files(
        self, repo_id: str, revision: str | None = None, root: str | None = None, recursive: bool = False, *,
        repo_type: RepoType = "model", headers: dict[str, str] | None = None,
    ) -> list[RepoFile]: ...  # fmt: skip
    def resolve_ref(self, model_id: str, ref: str = "master", *, repo_type: RepoType = "model") -> str: ...
    def resolve_ref_or_none(self, model_id: str, ref: str, *, repo_type: RepoType = "model") -> str | None: ...
    def create_tag(
        self, model_id: str, tag: str, revision: str = "master", *, repo_type: RepoType = "model"
    ) -> str: ...
    def create_branch(
        self, model_id: str, branch: str, from_revision: str = "master", *, exist_ok: bool = False,
        repo_type: RepoType = "model",
    ) -> str: ...  # fmt: skip
    def lfs_batch(
        self, model_id: str, objects: list[tuple[str, int]], *, repo_type: RepoType = "model"
    ) -> dict[str, str | None]: ...
    def upload_blob(
        self, model_id: str, href: str, path: str, size: int, on_bytes: Callable[[int], None] | None = None
    ) -> int: ...
    def create_commit(
        self, model_id: str, revision: str, message: str, operations: list[CommitOperation], *,
        repo_type: RepoType = "model",
    ) -> str: ...  # fmt: skip
    def call_checked(
        self, send: Callable[[], T], landed: Callable[[], T | None], *, operation: str, model_id: str | None
    ) -> T: ...
