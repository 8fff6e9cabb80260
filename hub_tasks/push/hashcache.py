"""sha256 of local files, streamed with large buffers, through a persistent cache.

The cache is an SQLite file keyed by (real path, size, mtime_ns, inode, device): any change to a
file changes one of these, so an unchanged multi-GB file is never re-read. A cache that cannot
be opened or fails its integrity check is deleted and rebuilt, never trusted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from hub_tasks.errors import InvalidParameter
from hub_tasks.files import sha256_file
from hub_tasks.push.scan import LocalFile

log = logging.getLogger("hub_tasks.push.hashcache")
# Small files' hashes are written STORE_BATCH per transaction; a file this large is written at once (with
# what waits), so a publish killed while hashing never hashes a big file again, and at most 511 small ones.
STORE_BATCH = 512
STORE_AT_ONCE_BYTES = 1 << 20


def default_cache_path() -> Path:
    """`$MODELSCOPE_CACHE/prefect-modelscope/hashes.sqlite` (or under ~/.cache/modelscope)."""
    base = os.environ.get("MODELSCOPE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "modelscope")
    return Path(base) / "prefect-modelscope" / "hashes.sqlite"


class HashCache:
    """Remembers sha256 per (real path, size, mtime_ns, inode, device).

    Args:
        path: The SQLite file; None disables the cache (every file is hashed).

    Example:
        >>> cache = HashCache(None)
        >>> cache.lookup(LocalFile("a", "/nonexistent", 1, 1, 1, 1)) is None
        True
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pending: dict[str, tuple[str, int, int, int, int, str]] = {}  # path -> row not written yet
        if self.path is not None:
            self._db = self._open()

    def _open(self) -> sqlite3.Connection | None:
        assert self.path is not None
        for attempt in range(2):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("integrity check failed")
                db.execute("PRAGMA journal_mode=WAL")
                # A lost entry only means hashing that file again, so commits need not wait for the disk
                # (WAL with synchronous=NORMAL stays consistent, it just may forget the last commits).
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS hashes(path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
                    " inode INTEGER, device INTEGER, sha256 TEXT)"
                )
                return db
            except (sqlite3.DatabaseError, OSError) as exc:
                log.warning(
                    "hash cache %s is unusable (%s); %s",
                    self.path,
                    exc,
                    "rebuilding it" if attempt == 0 else "hashing without it",
                )
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with contextlib.suppress(OSError):
                        os.unlink(f"{self.path}{suffix}")
        return None

    def files(self) -> list[str]:
        """The cache's own files (a scan of a folder holding them must skip them)."""
        if self.path is None:
            return []
        return [f"{self.path}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]

    def lookup(self, file: LocalFile) -> str | None:
        """The cached sha256, if the file is unchanged since it was hashed."""
        if self._db is None:
            return None
        key = (file.abspath, file.size, file.mtime_ns, file.inode, file.device)
        with self._lock:
            pending = self._pending.get(file.abspath)
            try:
                row = (
                    (pending[5],)
                    if pending is not None and pending[:5] == key
                    else self._db.execute(
                        "SELECT sha256 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ? AND inode = ?"
                        " AND device = ?",
                        key,
                    ).fetchone()
                )
            except sqlite3.DatabaseError:
                return None
        return row[0] if row and isinstance(row[0], str) and len(row[0]) == 64 else None

    def store(self, file: LocalFile, sha256: str) -> None:
        """Remember a freshly computed hash: a big file's at once, a small one's with the next STORE_BATCH
        of them or at `close` (one transaction per file cost a cold publish of 20,000 small files seconds)."""
        if self._db is None:
            return
        with self._lock:
            self._pending[file.abspath] = (file.abspath, file.size, file.mtime_ns, file.inode, file.device, sha256)
            if len(self._pending) >= STORE_BATCH or file.size >= STORE_AT_ONCE_BYTES:
                self._flush()

    def flush(self) -> None:
        """Write the pending hashes now (the push engine does once every file is hashed, so a publish killed
        during its uploads hashes nothing again)."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        """Write the pending hashes in one transaction (the caller holds the lock)."""
        rows, self._pending = list(self._pending.values()), {}
        if self._db is None or not rows:
            return
        with contextlib.suppress(sqlite3.DatabaseError):
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO hashes(path, size, mtime_ns, inode, device, sha256) VALUES (?,?,?,?,?,?)",
                    rows,
                )
            except sqlite3.DatabaseError:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def hash(self, file: LocalFile, on_bytes: Callable[[int], None] | None = None) -> tuple[str, bool]:
        """(sha256, True when it came from the cache). A file that changed since the scan is refused."""
        cached = self.lookup(file)
        if cached is not None:
            if on_bytes:
                on_bytes(file.size)
            return cached, True
        return self.compute(file, on_bytes), False

    def compute(self, file: LocalFile, on_bytes: Callable[[int], None] | None = None) -> str:
        """Read and hash the file (no lookup: the caller knows the cache lacks it), then remember the hash.
        A file that changed since the scan is refused."""
        digest = sha256_file(file.abspath, on_bytes)
        info = os.stat(file.abspath)
        if (info.st_size, info.st_mtime_ns) != (file.size, file.mtime_ns):
            raise InvalidParameter(f"{file.path} changed while it was being hashed: publish after training ends")
        self.store(file, digest)
        return digest

    def close(self) -> None:
        """Write what is pending and close the database."""
        if self._db is not None:
            self.flush()
            self._db.close()
            self._db = None
