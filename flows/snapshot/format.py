"""The snapshot's versioned JSON format: models' refs (and files) at one time, and the changes between two.

A snapshot is one JSON document per run, named `snapshot-<UTC time>.json` so names sort by time
(`store.py` keeps them; `diff.py` compares them).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from flows.events import change_event

SCHEMA_VERSION = 1
LATEST = "latest.json"

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
    """One model in a snapshot. `status` is ok, not_visible (gone or private since listing) or error; an
    error keeps the refs (and files) last read, if any, so that the next good read is compared with them."""

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
    """Every model of some owners at one moment."""

    schema_version: int = SCHEMA_VERSION
    taken_at: datetime
    endpoint: str
    owners: list[str]
    include_files: bool = False
    models: dict[str, ModelState] = Field(default_factory=dict)

    @property
    def failed(self) -> dict[str, str]:
        """Models that could not be read, with the reason."""
        return {m: s.reason for m, s in self.models.items() if s.status == "error"}

    def file_name(self) -> str:
        """`snapshot-YYYYMMDDTHHMMSS.ffffffZ.json`: names sort by time."""
        return f"snapshot-{self.taken_at.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%S.%fZ')}.json"


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
