"""Where snapshots are kept: written atomically (temp file + rename) next to a `latest.json` pointer, in a
local folder or in any Prefect `WritableFileSystem` block (e.g. `s3-bucket/my-snapshots`)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from flows.snapshot.format import LATEST, Snapshot


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
