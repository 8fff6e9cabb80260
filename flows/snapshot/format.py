"""The snapshot's versioned JSON format: models' refs (and files) at one time, and the changes between two.

A snapshot is one JSON document per run, named `snapshot-<UTC time>-<scope key>.json` so that names sort
by time and several scopes can share a folder (`store.py` keeps them; `diff.py` compares them).

Version 2 (version 1 documents still load): owners are sorted (they are the scope), and models that are
no longer listed stay in `gone` with the refs last read, so that a model deleted and re-created with a
tag elsewhere is reported as a moved tag.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from flows.events import change_event
from flows.snapshot.scope import Scope

SCHEMA_VERSION = 2

# Change kinds in report order: the audit red flags first.
CHANGE_KINDS = (
    "tag.moved",
    "model.removed",
    "model.hidden",
    "tag.removed",
    "branch.moved",
    "branch.removed",
    "visibility.changed",
    "license.changed",
    "files.changed",
    "model.reappeared",
    "model.added",
    "branch.added",
    "tag.added",
)


class RefState(BaseModel):
    """Where a branch or tag points."""

    commit_id: str | None = None
    created_at: datetime | None = None


class FileState(BaseModel):
    """A file's size and sha256 at a branch head."""

    size: int
    sha256: str


class ModelState(BaseModel):
    """One model in a snapshot.

    `status` is `ok` (read), `not_visible` (listed, then gone or private to us when read; in `gone`: no
    longer listed) or `error` (could not be read). A model that is not `ok` keeps the refs, files and
    visibility last read, if any, so that its next good read is compared with them.
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


class Snapshot(BaseModel):
    """Every model of some owners at one moment, plus the ones known before that are no longer listed."""

    schema_version: int = SCHEMA_VERSION
    taken_at: datetime
    endpoint: str
    owners: list[str]
    include_files: bool = False
    models: dict[str, ModelState] = Field(default_factory=dict)
    gone: dict[str, ModelState] = Field(default_factory=dict)

    @property
    def scope(self) -> Scope:
        """The endpoint and owners this snapshot covers."""
        return Scope.of(self.endpoint, self.owners)

    @property
    def failed(self) -> dict[str, str]:
        """Models that could not be read, with the reason."""
        return {m: s.reason for m, s in self.models.items() if s.status == "error"}

    @property
    def not_visible(self) -> list[str]:
        """Models that were listed but could not be seen when read (deleted or made private meanwhile)."""
        return [m for m, s in self.models.items() if s.status == "not_visible"]

    def file_name(self) -> str:
        """`snapshot-YYYYMMDDTHHMMSS.ffffffZ-<scope key>.json`: names sort by time, scopes never clash."""
        stamp = self.taken_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        return f"snapshot-{stamp}-{self.scope.key}.json"


class Change(BaseModel):
    """One difference between two snapshots."""

    kind: str
    model_id: str
    ref: str | None = None
    old: str | None = None
    new: str | None = None

    @property
    def event(self) -> str:
        """The Prefect event name, e.g. `modelscope.tag.moved`."""
        return change_event(self.kind)


def count_by_kind(changes: list[Change]) -> dict[str, int]:
    """How many changes of each kind, in report order.

    Example:
        >>> count_by_kind([Change(kind="tag.added", model_id="o/m"), Change(kind="tag.moved", model_id="o/m")])
        {'tag.moved': 1, 'tag.added': 1}
    """
    counts = {kind: 0 for kind in CHANGE_KINDS}
    for change in changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    return {kind: n for kind, n in counts.items() if n}
