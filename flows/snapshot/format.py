"""The snapshot's versioned JSON format: repos' refs (and files) at one time, and the changes between two.

A snapshot is one JSON document per run, named `snapshot-<UTC time>-<scope key>.json` so that names sort
by time and several scopes can share a folder (`store.py` keeps them; `diff.py` compares them).

Version 3 (versions 1 and 2 still load): the repo types listed are part of the scope, and each type has
its own two sections (`SECTIONS`): models stay in `models` and `gone`, keyed by model id as before;
datasets are in `datasets` and `gone_datasets`, keyed by dataset id. A document without `repo_types` (any
written before version 3) is a models-only snapshot.
Version 2: owners are sorted (they are the scope), and repos that are no longer listed stay in their
`gone` section with the refs last read, so that a repo deleted and re-created with a tag elsewhere is
reported as a moved tag.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

from flows.events import change_event
from flows.snapshot.scope import MODELS_ONLY, Scope
from hub_tasks.repo_types import REPO_TYPES, RepoType

SCHEMA_VERSION = 3

# Where each repo type's entries are kept: (listed now, no longer listed). Models keep the sections of
# versions 1 and 2, so those documents load unchanged as models-only snapshots.
SECTIONS: dict[RepoType, tuple[str, str]] = {"model": ("models", "gone"), "dataset": ("datasets", "gone_datasets")}

# Change kinds in report order: the audit red flags first. A change of a whole repo is named after its
# type (`model.removed`, `dataset.removed`); a change of a ref or a property is the same kind for both.
CHANGE_KINDS = (
    "tag.moved",
    "model.removed",
    "dataset.removed",
    "model.hidden",
    "dataset.hidden",
    "tag.removed",
    "branch.moved",
    "branch.removed",
    "visibility.changed",
    "license.changed",
    "files.changed",
    "model.reappeared",
    "dataset.reappeared",
    "model.added",
    "dataset.added",
    "branch.added",
    "tag.added",
)


def repo_label(repo_type: RepoType, repo_id: str) -> str:
    """How logs, messages and `failed` name a repo: a model by its id (as before datasets), a dataset as
    `datasets/<owner>/<name>`, its path on the hub's website (two slashes: never a model id).

    Example:
        >>> repo_label("model", "alice/demo"), repo_label("dataset", "alice/corpus")
        ('alice/demo', 'datasets/alice/corpus')
    """
    return repo_id if repo_type == "model" else f"datasets/{repo_id}"


class RefState(BaseModel):
    """Where a branch or tag points."""

    commit_id: str | None = None
    created_at: datetime | None = None


class FileState(BaseModel):
    """A file's size and sha256 at a branch head."""

    size: int
    sha256: str


class RepoState(BaseModel):
    """One repo (a model or a dataset: its section in the snapshot says which) in a snapshot.

    `status` is `ok` (read), `not_visible` (listed, then gone or private to us when read; in a `gone`
    section: no longer listed) or `error` (could not be read). A repo that is not `ok` keeps the refs,
    files and visibility last read, if any, so that its next good read is compared with them.
    """

    status: Literal["ok", "not_visible", "error"] = "ok"
    reason: str = ""
    private: bool | None = None
    visibility: int | None = None
    license: str | None = None
    last_modified: datetime | None = None
    branches: dict[str, RefState] = Field(default_factory=dict)
    tags: dict[str, RefState] = Field(default_factory=dict)
    files: dict[str, dict[str, FileState]] | None = None


ModelState = RepoState  # the name of versions 1 and 2, kept for callers that import it


class Snapshot(BaseModel):
    """Every repo of some owners and repo types at one moment, plus the ones known before that are no
    longer listed. Built in Python without `repo_types`, or read from a document without it, it covers
    models only (what every snapshot covered before datasets)."""

    schema_version: int = SCHEMA_VERSION
    taken_at: datetime
    endpoint: str
    owners: list[str]
    repo_types: list[RepoType] = Field(default_factory=lambda: list(MODELS_ONLY))
    include_files: bool = False
    models: dict[str, RepoState] = Field(default_factory=dict)
    gone: dict[str, RepoState] = Field(default_factory=dict)
    datasets: dict[str, RepoState] = Field(default_factory=dict)
    gone_datasets: dict[str, RepoState] = Field(default_factory=dict)

    @property
    def scope(self) -> Scope:
        """The endpoint, owners and repo types this snapshot covers."""
        return Scope.of(self.endpoint, self.owners, self.repo_types)

    def listed(self, repo_type: RepoType) -> dict[str, RepoState]:
        """The repos of `repo_type` listed by this snapshot, by id."""
        return getattr(self, SECTIONS[repo_type][0])

    def gone_of(self, repo_type: RepoType) -> dict[str, RepoState]:
        """The repos of `repo_type` known before and no longer listed, by id, with their last refs."""
        return getattr(self, SECTIONS[repo_type][1])

    def entries(self) -> Iterator[tuple[RepoType, str, RepoState]]:
        """(repo type, id, state) of every listed repo, models first."""
        for repo_type in REPO_TYPES:
            for repo_id, state in self.listed(repo_type).items():
                yield repo_type, repo_id, state

    @property
    def failed(self) -> dict[str, str]:
        """Repos that could not be read (by `repo_label`), with the reason."""
        return {repo_label(t, r): s.reason for t, r, s in self.entries() if s.status == "error"}

    @property
    def not_visible(self) -> list[str]:
        """Repos (by `repo_label`) that were listed but could not be seen when read (deleted or made private
        meanwhile)."""
        return [repo_label(t, r) for t, r, s in self.entries() if s.status == "not_visible"]

    def file_name(self) -> str:
        """`snapshot-YYYYMMDDTHHMMSS.ffffffZ-<scope key>.json`: names sort by time, scopes never clash."""
        stamp = self.taken_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        return f"snapshot-{stamp}-{self.scope.key}.json"


def sections(repo_type: RepoType, listed: dict[str, RepoState], gone: dict[str, RepoState]) -> dict[str, Any]:
    """A repo type's two sections as `Snapshot` fields.

    Example:
        >>> sections("dataset", {"o/d": RepoState()}, {}).keys()
        dict_keys(['datasets', 'gone_datasets'])
    """
    listed_name, gone_name = SECTIONS[repo_type]
    return {listed_name: listed, gone_name: gone}


class Change(BaseModel):
    """One difference between two snapshots, about one repo."""

    kind: str
    repo_type: RepoType = "model"
    repo_id: str
    ref: str | None = None
    old: str | None = None
    new: str | None = None

    @property
    def event(self) -> str:
        """The Prefect event name, e.g. `modelscope.tag.moved` or `modelscope.dataset.removed`."""
        return change_event(self.kind)

    @property
    def label(self) -> str:
        """The repo as logs name it (`repo_label`)."""
        return repo_label(self.repo_type, self.repo_id)

    def payload(self, endpoint: str) -> dict[str, str]:
        """The event's payload: the kind, the repo's id as `model_id` or `dataset_id`, the ref and the old
        and new values when there are any, and the hub.

        Example:
            >>> Change(kind="tag.moved", repo_type="dataset", repo_id="o/d", ref="v1", new="b").payload("https://hub")
            {'kind': 'tag.moved', 'dataset_id': 'o/d', 'ref': 'v1', 'new': 'b', 'endpoint': 'https://hub'}
        """
        facts = {"ref": self.ref, "old": self.old, "new": self.new}
        return {
            "kind": self.kind,
            f"{self.repo_type}_id": self.repo_id,
            **{name: value for name, value in facts.items() if value is not None},
            "endpoint": endpoint,
        }


def count_by_kind(changes: list[Change]) -> dict[str, int]:
    """How many changes of each kind, in report order.

    Example:
        >>> count_by_kind([Change(kind="tag.added", repo_id="o/m"), Change(kind="tag.moved", repo_id="o/m")])
        {'tag.moved': 1, 'tag.added': 1}
    """
    counts = {kind: 0 for kind in CHANGE_KINDS}
    for change in changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    return {kind: n for kind, n in counts.items() if n}
