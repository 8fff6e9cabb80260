"""Snapshots of models' refs (and files): the versioned JSON format, where they are kept, and the diff.

A snapshot is one JSON document per run, named `snapshot-<UTC time>.json` so names sort by
time, written atomically (temp file + rename) next to a `latest.json` pointer. It lives in a local
folder, or in any Prefect `WritableFileSystem` block (e.g. `s3-bucket/my-snapshots`).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

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
        return f"modelscope.{self.kind}"


def _refs(kind: str, model_id: str, old: dict[str, RefState], new: dict[str, RefState]) -> list[Change]:
    changes = [
        Change(kind=f"{kind}.added", model_id=model_id, ref=r, new=new[r].commit_id) for r in new if r not in old
    ]
    changes += [
        Change(kind=f"{kind}.removed", model_id=model_id, ref=r, old=old[r].commit_id) for r in old if r not in new
    ]
    changes += [
        Change(kind=f"{kind}.moved", model_id=model_id, ref=r, old=old[r].commit_id, new=new[r].commit_id)
        for r in new
        if r in old and old[r].commit_id != new[r].commit_id
    ]
    return changes


def _files(model_id: str, old: ModelState, new: ModelState) -> list[Change]:
    changes = []
    for branch in sorted(set(old.files or {}) & set(new.files or {})):
        before, after = (old.files or {})[branch], (new.files or {})[branch]
        touched = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
        if touched:
            shown = ", ".join(touched[:5]) + (f" and {len(touched) - 5} more" if len(touched) > 5 else "")
            changes.append(Change(kind="files.changed", model_id=model_id, ref=branch, new=shown))
    return changes


def diff(old: Snapshot | None, new: Snapshot) -> list[Change]:
    """Changes from `old` to `new`, red flags (moved tags) first. No previous snapshot: no changes.

    Example:
        >>> now = datetime.now(timezone.utc)
        >>> a = Snapshot(taken_at=now, endpoint="e", owners=["o"], models={"o/m": ModelState()})
        >>> [c.kind for c in diff(a, Snapshot(taken_at=now, endpoint="e", owners=["o"]))]
        ['model.removed']
    """
    if old is None:
        return []
    changes: list[Change] = []
    for model_id in sorted(set(old.models) | set(new.models)):
        before, after = old.models.get(model_id), new.models.get(model_id)
        if before is None:
            changes.append(Change(kind="model.added", model_id=model_id))
        elif after is None:
            changes.append(Change(kind="model.removed", model_id=model_id))
        elif before.status == "ok" and after.status == "not_visible":
            changes.append(Change(kind="model.hidden", model_id=model_id, new=after.reason))
        elif before.status in ("ok", "error") and after.status == "ok":
            changes += _refs("branch", model_id, before.branches, after.branches)
            changes += _refs("tag", model_id, before.tags, after.tags)
            if (before.private, before.visibility) != (after.private, after.visibility):
                changes.append(
                    Change(
                        kind="visibility.changed", model_id=model_id, old=_visibility(before), new=_visibility(after)
                    )
                )
            if before.license != after.license:
                changes.append(Change(kind="license.changed", model_id=model_id, old=before.license, new=after.license))
            changes += _files(model_id, before, after)
    order = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
    return sorted(changes, key=lambda c: (order.get(c.kind, len(order)), c.model_id, c.ref or ""))


def _visibility(state: ModelState) -> str:
    if state.visibility is not None:
        return {1: "private", 3: "internal", 5: "public"}.get(state.visibility, str(state.visibility))
    return "private" if state.private else "public"


class SnapshotStore:
    """Where snapshots are kept: a local folder, or a folder inside a Prefect filesystem block.

    Args:
        folder: Local folder, or the path inside the block.
        filesystem_block: "slug/name" of a saved `WritableFileSystem` block; None for local.
    """

    def __init__(self, folder: str, filesystem_block: str | None = None) -> None:
        self.folder = folder
        self.block = None
        if filesystem_block:
            from prefect.blocks.core import Block

            self.block = Block.load(filesystem_block)

    def _path(self, name: str) -> str:
        return (
            f"{self.folder.rstrip('/')}/{name}"
            if self.block is not None
            else str(Path(self.folder).expanduser() / name)
        )

    def _write(self, name: str, data: bytes) -> str:
        path = self._path(name)
        if self.block is not None:
            self.block.write_path(path, data)
            return path
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return str(target)

    def _read(self, name: str) -> bytes | None:
        try:
            if self.block is not None:
                return self.block.read_path(self._path(name))
            return Path(self._path(name)).read_bytes()
        except (FileNotFoundError, ValueError, OSError):
            return None

    def latest(self) -> Snapshot | None:
        """The most recent snapshot written here, or None."""
        pointer = self._read(LATEST)
        if pointer is None:
            return None
        data = self._read(json.loads(pointer)["name"])
        return Snapshot.model_validate_json(data) if data else None

    def save(self, snapshot: Snapshot) -> str:
        """Write the snapshot, then move the `latest.json` pointer to it; returns where it went."""
        name = snapshot.file_name()
        location = self._write(name, snapshot.model_dump_json(indent=1).encode())
        self._write(LATEST, json.dumps({"name": name, "taken_at": snapshot.taken_at.isoformat()}).encode())
        return location
