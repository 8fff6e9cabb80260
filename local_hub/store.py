"""The hub's state in SQLite (users, groups, repos of each type, commits, refs, trees); plain methods, no HTTP.

Every commit runs in one SQLite transaction under a process-wide write lock, so a commit applies
all of its actions or none, and refs move one writer at a time. File contents live in the
content-addressed `BlobStore`; a tree row only names a blob by sha256.

The `Store` is assembled from one class per responsibility: the database (`store_db`), accounts and
repos (`store_repos`), tree reads and listings (`store_trees`), refs and commits (`store_history`). This
module adds what needs them all (creating a repo with its first commit, forgetting everything) and
re-exports the records (`records`) its callers name.
"""

from __future__ import annotations

from local_hub.hub_files import GITATTRIBUTES_PATH, INITIAL_COMMIT_MESSAGE, HubFilesMode
from local_hub.records import (
    MAX_COMMIT_ACTIONS,
    NAME_RE,
    VISIBILITIES,
    Commit,
    CommitAction,
    Ref,
    Repo,
    TreeEntry,
    User,
    parse_action,
    validate_name,
    validate_ref_name,
    validate_repo_path,
)
from local_hub.repo_types import repo_type as lookup_repo_type
from local_hub.store_history import History

__all__ = [
    "MAX_COMMIT_ACTIONS",
    "NAME_RE",
    "VISIBILITIES",
    "Commit",
    "CommitAction",
    "Ref",
    "Repo",
    "Store",
    "TreeEntry",
    "User",
    "parse_action",
    "validate_name",
    "validate_ref_name",
    "validate_repo_path",
]


class Store(History):
    """SQLite-backed hub state.

    Args:
        db_path: The SQLite file (WAL mode; survives restarts).
        blobs: Where file contents live.
        ids: Source of commit ids and timestamps.

    Example:
        >>> import tempfile, os
        >>> from local_hub.blobs import BlobStore
        >>> from local_hub.clock import IdSource
        >>> d = tempfile.mkdtemp()
        >>> store = Store(os.path.join(d, "hub.db"), BlobStore(os.path.join(d, "blobs")), IdSource(1))
        >>> store.ensure_user("alice", "tok-a").name
        'alice'
        >>> store.create_repo("alice", "x", created_by="alice", repo_type="dataset").repo_type
        'dataset'
    """

    def create_repo(
        self,
        owner: str,
        name: str,
        *,
        created_by: str,
        repo_type: str = "model",
        visibility: int = 5,
        license: str = "Apache License 2.0",
        chinese_name: str = "",
        description: str = "",
        original_model_id: str = "",
        author: User | None = None,
        gitattributes: HubFilesMode = "off",
    ) -> Repo:
        """Create a repo of `repo_type`; the caller checks permissions, and a taken name is the type's 400.

        With `gitattributes="on-create"` (and an `author`), the repo starts with one commit on `master`
        holding the hub's `.gitattributes` for its type, in the same transaction as the repo row.

        Raises:
            AlreadyExists: This type already has a repo `owner/name` (its own subclass and code per type).
        """
        kind = lookup_repo_type(repo_type)
        now = self.ids.now()
        initial = gitattributes == "on-create" and author is not None
        initial_blob = self.blobs.put_bytes(kind.gitattributes) if initial else ""
        row = (kind.name, owner, name, visibility, license, chinese_name, description, original_model_id, created_by)
        with self._write() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO repos(repo_type, owner, name, visibility, license, chinese_name, description,"
                " original_model_id, created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*row, now, now),
            )
            if cur.rowcount == 0:
                # The real hub's duplicate answer: 400, the type's business code, this text (§Op 2, §21.1).
                raise kind.already_exists(f"该名称已被注册使用，请重新命名 ({kind.name} {owner}/{name} already exists)")
            repo = self.find_repo(owner, name, kind.name)
            assert repo is not None
            if initial:
                action = CommitAction("create", GITATTRIBUTES_PATH, size=len(kind.gitattributes))
                self._commit_in(
                    db, repo, "master", INITIAL_COMMIT_MESSAGE, author, [action], {GITATTRIBUTES_PATH: initial_blob}
                )
        return repo

    def reset(self) -> None:
        """Forget every repo of every type, with its commits and refs (users and groups stay)."""
        with self._write() as db:
            for table in ("tree", "commits", "refs", "repos"):
                db.execute(f"DELETE FROM {table}")
