"""The snapshot archive: every snapshot, next to a pointer per scope to its latest, in a local folder
(written atomically: temp file + rename) or in any Prefect `WritableFileSystem` block (e.g.
`s3-bucket/my-snapshots`).

Several scopes (deployments for other owners or hubs) can share one folder: each has its own pointer,
`latest-<scope key>.json`. Reading tells "not there yet" (the scope's first snapshot) from every other
failure, which raises: an archive that cannot be read must never turn into a silent "no changes".
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flows.snapshot.format import Snapshot
from flows.snapshot.scope import Scope

LEGACY_LATEST = "latest.json"  # version 1 kept one pointer per folder, whatever the scope
BLOCK_DEFAULT_FOLDER = "snapshots"


class SnapshotStoreError(RuntimeError):
    """The archive could not be read or written, for another reason than a snapshot not being there yet."""


def pointer_name(scope: Scope) -> str:
    """The file that names a scope's latest snapshot.

    Example:
        >>> pointer_name(Scope.of("https://hub", ["alice"]))
        'latest-a5387a273dc8b666.json'
    """
    return f"latest-{scope.key}.json"


def is_missing(exc: BaseException) -> bool:
    """True when `exc` only says that a path does not exist yet.

    Each kind of storage says so differently, and Prefect's blocks pass their own errors through:
    `FileNotFoundError` (local folders, `RemoteFileSystem`/fsspec); a `ValueError` whose words are the only
    sign (`LocalFileSystem.read_path`: "Path ... does not exist."); a botocore `ClientError` with code 404 or
    NoSuchKey (`S3Bucket`); a `code` or `status_code` of 404 (google-cloud's `NotFound` for `GcsBucket`,
    azure's `ResourceNotFoundError`). An S3 read cannot tell a missing key from a missing bucket (a HEAD
    has no body), so a mistyped bucket reads as a first snapshot, and its write then fails the run.

    Example:
        >>> is_missing(FileNotFoundError("x")), is_missing(PermissionError("x")), is_missing(ValueError("bad"))
        (True, False, False)
    """
    if isinstance(exc, FileNotFoundError):
        return True
    if type(exc) is ValueError and str(exc).endswith("does not exist."):
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code")) in {"404", "NoSuchKey"}
    return getattr(exc, "code", None) == 404 or getattr(exc, "status_code", None) == 404


class SnapshotStore:
    """Where snapshots are kept: a local folder, or a folder inside a Prefect filesystem block.

    Args:
        folder: Local folder ("~" expanded), or the path inside the block; with a block, the default
            local folder means the block's `snapshots/` folder.
        filesystem_block: "slug/name" of a saved `WritableFileSystem` block; None for local.
        default_folder: The flow's default local folder (replaced by `snapshots` inside a block).

    Raises:
        ValueError: No block of that name (from `Block.load`).

    Example:
        ```python
        store = SnapshotStore("audit/snapshots", "s3-bucket/my-bucket")
        previous = store.latest(Scope.of("https://www.modelscope.cn", ["alice"]))
        ```
    """

    def __init__(self, folder: str, filesystem_block: str | None = None, default_folder: str | None = None) -> None:
        self.block: Any = None
        self.block_name = filesystem_block or None
        if self.block_name:
            from prefect.blocks.core import Block

            self.block = Block.load(self.block_name)
            folder = BLOCK_DEFAULT_FOLDER if folder == default_folder else folder
        self.folder = folder

    def describe(self) -> str:
        """Where this store writes, for logs: a local path, or `block slug/name: path`."""
        return f"block {self.block_name}: {self.folder}" if self.block is not None else self._path("")

    def _path(self, name: str) -> str:
        if self.block is not None:
            return f"{self.folder.rstrip('/')}/{name}" if self.folder.strip("/") else name
        return str(Path(self.folder).expanduser() / name)

    def _write(self, name: str, data: bytes) -> str:
        path = self._path(name)
        if self.block is not None:
            self.block.write_path(path, data)
            return f"{self.block_name}:{path}"
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
        """The file's bytes; None when it does not exist (yet)."""
        path = self._path(name)
        try:
            if self.block is not None:
                return self.block.read_path(path)
            return Path(path).read_bytes()
        except Exception as exc:
            if is_missing(exc):
                return None
            raise SnapshotStoreError(f"cannot read {path} from {self.describe()}: {type(exc).__name__}: {exc}") from exc

    def _parse(self, name: str, data: bytes | None, what: str) -> Any:
        """The JSON in `data`, read from `name`; a missing or unparsable file raises."""
        if data is None:
            raise SnapshotStoreError(f"{what} {self._path(name)} is missing from {self.describe()}")
        try:
            return json.loads(data)
        except ValueError as exc:
            raise SnapshotStoreError(f"{what} {self._path(name)} is not JSON: {exc}") from exc

    def latest(self, scope: Scope) -> Snapshot | None:
        """The scope's most recent snapshot here; None when the scope has none yet.

        A version 1 folder's `latest.json` is used when no pointer of the scope exists and it names a
        snapshot of this scope (the first run after an upgrade still compares).

        Raises:
            SnapshotStoreError: The pointer or the snapshot it names cannot be read or parsed, or the
                pointer names a snapshot that is not there.
        """
        pointer, data = pointer_name(scope), self._read(pointer_name(scope))
        if data is None:
            pointer, data = LEGACY_LATEST, self._read(LEGACY_LATEST)
            if data is None:
                return None
        named = self._parse(pointer, data, "the pointer")
        name = named.get("name") if isinstance(named, dict) else None
        if not isinstance(name, str) or not name:
            raise SnapshotStoreError(f"the pointer {self._path(pointer)} names no snapshot")
        found = self._parse(name, self._read(name), "the snapshot named by the pointer")
        try:
            snapshot = Snapshot.model_validate(found)
        except ValidationError as exc:
            raise SnapshotStoreError(f"{self._path(name)} is not a snapshot: {exc}") from exc
        if snapshot.scope == scope:
            return snapshot
        if pointer == LEGACY_LATEST:
            return None  # another scope's: version 1 kept one pointer for every scope of a folder
        raise SnapshotStoreError(f"{self._path(pointer)} names a snapshot of {snapshot.scope.label}, not {scope.label}")

    def save(self, snapshot: Snapshot) -> str:
        """Write the snapshot, then move its scope's pointer to it; returns where it went."""
        name = snapshot.file_name()
        location = self._write(name, snapshot.model_dump_json(indent=1).encode())
        scope = snapshot.scope
        pointer = {"name": name, "taken_at": snapshot.taken_at.isoformat(), "endpoint": scope.endpoint}
        owned = {"owners": list(scope.owners), "repo_types": list(scope.repo_types)}
        self._write(pointer_name(scope), json.dumps({**pointer, **owned}).encode())
        return location
