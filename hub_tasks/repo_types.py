"""The hub's two repo types as data: where each one's routes live and what differs between them.

Models and datasets share every engine (publish, verify, download, revisions, tags, branches); they
differ in a handful of places (protocol.md §21.11), and this table is the one place the wire layer
looks them up. A new difference is a new field here, never an `if repo_type == ...` in an engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hub_tasks.errors import InvalidParameter

RepoType = Literal["model", "dataset"]
REPO_TYPES: tuple[RepoType, ...] = ("model", "dataset")


@dataclass(frozen=True)
class RepoKind:
    """The routes and habits of one repo type.

    Example:
        >>> DATASET.api("alice/corpus"), DATASET.repos("alice/corpus"), DATASET.git("alice/corpus")
        ('/api/v1/datasets/alice/corpus', '/api/v1/repos/datasets/alice/corpus', '/datasets/alice/corpus.git')
    """

    name: RepoType
    segment: str  # the plural path segment: "models" or "datasets"
    git_prefix: str  # models keep the old `Repository` clone URL without a segment (§14); datasets have one
    paged_tree: bool  # datasets list files through `/repo/tree` with real paging (§21.5); models `/repo/files`

    def api(self, repo_id: str) -> str:
        """The legacy API path of one repo."""
        return f"/api/v1/{self.segment}/{repo_id}"

    def repos(self, repo_id: str) -> str:
        """The path the LFS batch and commit routes hang under."""
        return f"/api/v1/repos/{self.segment}/{repo_id}"

    def web(self, repo_id: str) -> str:
        """The repo's page on the hub's website."""
        return f"/{self.segment}/{repo_id}"

    def git(self, repo_id: str) -> str:
        """The git smart-HTTP path."""
        return f"{self.git_prefix}/{repo_id}.git"


MODEL = RepoKind(name="model", segment="models", git_prefix="", paged_tree=False)
DATASET = RepoKind(name="dataset", segment="datasets", git_prefix="/datasets", paged_tree=True)
_KINDS = {kind.name: kind for kind in (MODEL, DATASET)}


def repo_kind(repo_type: object, operation: str | None = None) -> RepoKind:
    """The `RepoKind` of a repo type name; a typed error names the accepted ones.

    Example:
        >>> repo_kind("dataset").segment
        'datasets'
        >>> repo_kind("space", "push_model")
        Traceback (most recent call last):
        hub_tasks.errors.InvalidParameter: push_model: repo_type must be 'model' or 'dataset', got 'space'
    """
    kind = _KINDS.get(repo_type) if isinstance(repo_type, str) else None
    if kind is None:
        raise InvalidParameter(f"repo_type must be 'model' or 'dataset', got {repo_type!r}", operation=operation)
    return kind
