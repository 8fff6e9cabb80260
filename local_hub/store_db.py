"""The store's SQLite database: its schema (and the one migration an older data dir needs), a connection
per thread, and the write transaction every change runs in."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from local_hub.blobs import BlobStore
from local_hub.clock import IdSource

_REPOS = """
CREATE TABLE IF NOT EXISTS repos(
    id INTEGER PRIMARY KEY AUTOINCREMENT, repo_type TEXT NOT NULL DEFAULT 'model', owner TEXT NOT NULL,
    name TEXT NOT NULL, visibility INTEGER NOT NULL, license TEXT NOT NULL, chinese_name TEXT NOT NULL,
    description TEXT NOT NULL, original_model_id TEXT NOT NULL, created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE(repo_type, owner, name));
"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS users(
    name TEXT PRIMARY KEY, token TEXT UNIQUE NOT NULL, email TEXT NOT NULL, git_token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups(name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS members(grp TEXT NOT NULL, user TEXT NOT NULL, PRIMARY KEY(grp, user));
{_REPOS}
CREATE TABLE IF NOT EXISTS commits(
    id TEXT PRIMARY KEY, repo_id INTEGER NOT NULL, parent TEXT, message TEXT NOT NULL,
    author TEXT NOT NULL, email TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refs(
    repo_id INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, commit_id TEXT NOT NULL,
    created_at INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(repo_id, kind, name));
CREATE TABLE IF NOT EXISTS tree(
    commit_id TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    is_lfs INTEGER NOT NULL, last_commit TEXT NOT NULL, PRIMARY KEY(commit_id, path)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS commits_repo ON commits(repo_id);
"""
# A data dir from before repo types: its repos are models, and a name was unique per owner only. The
# table is rebuilt (SQLite cannot change a UNIQUE constraint in place) with the same ids, so commits and
# refs still point at their repos.
_ADD_REPO_TYPES = f"""
ALTER TABLE repos RENAME TO repos_before_types;
{_REPOS}
INSERT INTO repos(id, repo_type, owner, name, visibility, license, chinese_name, description,
    original_model_id, created_by, created_at, updated_at)
    SELECT id, 'model', owner, name, visibility, license, chinese_name, description,
    original_model_id, created_by, created_at, updated_at FROM repos_before_types;
DROP TABLE repos_before_types;
"""


class Database:
    """A SQLite file in WAL mode, one connection per thread, writes one at a time.

    Args:
        db_path: The SQLite file (survives restarts).
        blobs: Where file contents live.
        ids: Source of commit ids and timestamps.
    """

    def __init__(self, db_path: str | Path, blobs: BlobStore, ids: IdSource) -> None:
        self.db_path = str(db_path)
        self.blobs = blobs
        self.ids = ids
        self._local = threading.local()
        self._write_lock = threading.RLock()
        with self._write_lock:
            db = self._db()
            columns = {row[1] for row in db.execute("PRAGMA table_info(repos)")}
            if columns and "repo_type" not in columns:
                with self._write() as tx:
                    for statement in _ADD_REPO_TYPES.split(";"):
                        if statement.strip():
                            tx.execute(statement)
            db.executescript(_SCHEMA)  # executescript manages its own transaction

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; everything in it applies or nothing does."""
        with self._write_lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
