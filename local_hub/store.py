"""The hub's state in SQLite (users, groups, repos, commits, refs, trees); plain methods, no HTTP.

Every commit runs in one SQLite transaction under a process-wide write lock, so a commit applies
all of its actions or none, and refs move one writer at a time. File contents live in the
content-addressed `BlobStore`; a tree row only names a blob by sha256.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from local_hub.blobs import BlobStore, is_sha256
from local_hub.clock import IdSource
from local_hub.errors import AlreadyExists, BadRequest, Forbidden, NotFound, Unauthorized, Unprocessable
from local_hub.hub_files import GITATTRIBUTES, GITATTRIBUTES_PATH, INITIAL_COMMIT_MESSAGE, HubFilesMode

MAX_COMMIT_ACTIONS = 2000  # protocol.md §10.5: more is a 422
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")  # fullmatch: "$" would let a trailing newline in
VISIBILITIES = (1, 3, 5)  # private, internal, public (§Op 2)
_REF_FORBIDDEN = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|//|@\{")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users(
    name TEXT PRIMARY KEY, token TEXT UNIQUE NOT NULL, email TEXT NOT NULL, git_token TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups(name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS members(grp TEXT NOT NULL, user TEXT NOT NULL, PRIMARY KEY(grp, user));
CREATE TABLE IF NOT EXISTS repos(
    id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, name TEXT NOT NULL,
    visibility INTEGER NOT NULL, license TEXT NOT NULL, chinese_name TEXT NOT NULL,
    description TEXT NOT NULL, original_model_id TEXT NOT NULL, created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE(owner, name));
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


@dataclass(frozen=True)
class User:
    """A hub account; `token` is its SDK access token, `git_token` what login hands out."""

    name: str
    token: str = field(repr=False)
    email: str
    git_token: str = field(repr=False)


@dataclass(frozen=True)
class Repo:
    """A model repository."""

    id: int
    owner: str
    name: str
    visibility: int
    license: str
    chinese_name: str
    description: str
    original_model_id: str
    created_by: str
    created_at: int
    updated_at: int

    @property
    def model_id(self) -> str:
        """ "owner/name"."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class Ref:
    """A branch or a tag."""

    kind: str
    name: str
    commit_id: str
    created_at: int


@dataclass(frozen=True)
class Commit:
    """One commit of a repo; `parent` is None for the first."""

    id: str
    parent: str | None
    message: str
    author: str
    email: str
    created_at: int


@dataclass(frozen=True)
class TreeEntry:
    """One file of a revision, with the commit that last changed it."""

    path: str
    sha256: str
    size: int
    is_lfs: bool
    last_commit: str
    committed_at: int
    commit_message: str
    committer: str


@dataclass(frozen=True)
class CommitAction:
    """One validated action of a commit request (§10.5)."""

    action: str  # create | update | delete
    path: str
    kind: str = "normal"  # normal | lfs
    size: int = 0
    sha256: str = ""
    content: bytes = b""


def validate_name(value: object, what: str) -> str:
    """An owner or repo name: `[A-Za-z0-9_.-]+`, not only dots."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value) or set(value) == {"."}:
        raise BadRequest(f"invalid {what} {value!r}: use 1-128 characters from A-Z a-z 0-9 _ . -")
    return value


def validate_ref_name(value: object, what: str) -> str:
    """A branch or tag name by git's rules (no whitespace, no '..', no '~^:?*[\\', ...)."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > 255
        or _REF_FORBIDDEN.search(value)
        or value.startswith(("/", ".", "-"))
        or value.endswith(("/", ".", ".lock"))
    ):
        raise BadRequest(f"invalid {what} name {value!r}")
    return value


def validate_repo_path(value: object) -> str:
    """A repo-relative file path: no leading '/', no '.'/'..' or empty segment, no backslash or NUL."""
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise BadRequest(f"invalid file path {value!r}")
    if "\\" in value or "\x00" in value or value.startswith("/"):
        raise BadRequest(f"invalid file path {value!r}: no backslash, NUL or leading '/'")
    if any(seg in ("", ".", "..") for seg in value.split("/")):
        raise BadRequest(f"invalid file path {value!r}: empty, '.' or '..' segment")
    return value


def parse_action(raw: object) -> CommitAction:
    """Validate one wire action (§10.5) into a `CommitAction`; decodes inline base64 content."""
    if not isinstance(raw, dict):
        raise BadRequest("each commit action must be a JSON object")
    action = raw.get("action")
    if action not in ("create", "update", "delete"):
        raise BadRequest(f"unsupported commit action {action!r}: use create, update or delete")
    path = validate_repo_path(raw.get("path"))
    if action == "delete":
        return CommitAction("delete", path)
    kind = raw.get("type") or "normal"
    size = raw.get("size")
    if kind not in ("normal", "lfs") or not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BadRequest(f"commit action for {path!r} needs type normal|lfs and an integer size >= 0")
    if kind == "lfs":
        sha = raw.get("sha256")
        if not is_sha256(sha):
            raise BadRequest(f"lfs action for {path!r} needs a 64-hex sha256")
        return CommitAction(action, path, "lfs", size, sha)
    encoding = raw.get("encoding") or ""
    text = raw.get("content") or ""
    if not isinstance(text, str) or encoding not in ("base64", ""):
        raise BadRequest(f"normal action for {path!r} needs base64 content")
    try:
        content = base64.b64decode(text, validate=True) if encoding == "base64" else text.encode()
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"content of {path!r} is not valid base64") from exc
    if len(content) != size:
        raise BadRequest(f"content of {path!r} has {len(content)} bytes, size says {size}")
    return CommitAction(action, path, "normal", size, content=content)


class Store:
    """SQLite-backed hub state.

    Args:
        db_path: The SQLite file (WAL mode; survives restarts).
        blobs: Where file contents live.
        ids: Source of commit ids and timestamps.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> store = Store(os.path.join(d, "hub.db"), BlobStore(os.path.join(d, "blobs")), IdSource(1))
        >>> store.ensure_user("alice", "tok-a").name
        'alice'
    """

    def __init__(self, db_path: str | Path, blobs: BlobStore, ids: IdSource) -> None:
        self.db_path = str(db_path)
        self.blobs = blobs
        self.ids = ids
        self._local = threading.local()
        self._write_lock = threading.RLock()
        with self._write_lock:
            self._db().executescript(_SCHEMA)  # executescript manages its own transaction

    # -- connections -------------------------------------------------------------------------
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

    # -- users and groups --------------------------------------------------------------------
    def ensure_user(self, name: str, token: str, email: str | None = None) -> User:
        """Create or update a user with this token (flags re-applied at every start)."""
        validate_name(name, "user name")
        with self._write() as db:
            db.execute("DELETE FROM users WHERE token = ? AND name != ?", (token, name))
            row = db.execute("SELECT git_token FROM users WHERE name = ?", (name,)).fetchone()
            git_token = row["git_token"] if row else self.ids.token("git-")
            db.execute(
                "INSERT OR REPLACE INTO users(name, token, email, git_token) VALUES (?, ?, ?, ?)",
                (name, token, email or f"{name}@example.com", git_token),
            )
        return User(name, token, email or f"{name}@example.com", git_token)

    def ensure_group(self, name: str, members: list[str]) -> None:
        """Create a group (an owner namespace) with these members."""
        validate_name(name, "group name")
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO groups(name) VALUES (?)", (name,))
            db.executemany("INSERT OR IGNORE INTO members(grp, user) VALUES (?, ?)", [(name, m) for m in members])

    def user_for_token(self, token: str) -> User | None:
        """The user owning this SDK token, or None."""
        row = self._db().execute("SELECT * FROM users WHERE token = ?", (token,)).fetchone()
        return User(row["name"], row["token"], row["email"], row["git_token"]) if row else None

    def user_for_git_token(self, git_token: str) -> User | None:
        """The user owning this git token (login's `Data.AccessToken`, sent by git as a password), or None.

        Every user's token is compared, each in constant time and with no early exit, so how long a
        wrong token takes says nothing about how close it came or whose it nearly was.
        """
        import hmac  # here rather than at the top: this method is the module's only use of it

        presented = git_token.encode()
        found = None
        for row in self._db().execute("SELECT * FROM users").fetchall():
            if hmac.compare_digest(row["git_token"].encode(), presented) and found is None:
                found = User(row["name"], row["token"], row["email"], row["git_token"])
        return found

    def may_write_as(self, user: User | None, owner: str) -> bool:
        """True when `user` is `owner` or a member of the group `owner`."""
        if user is None:
            return False
        if user.name == owner:
            return True
        row = self._db().execute("SELECT 1 FROM members WHERE grp = ? AND user = ?", (owner, user.name))
        return row.fetchone() is not None

    def may_read(self, user: User | None, repo: Repo) -> bool:
        """Visibility 5 public, 3 any logged-in user, 1 owner and group members only."""
        if repo.visibility == 5:
            return True
        if repo.visibility == 3:
            return user is not None
        return self.may_write_as(user, repo.owner)

    # -- repos -------------------------------------------------------------------------------
    def create_repo(
        self,
        owner: str,
        name: str,
        *,
        created_by: str,
        visibility: int = 5,
        license: str = "Apache License 2.0",
        chinese_name: str = "",
        description: str = "",
        original_model_id: str = "",
        author: User | None = None,
        gitattributes: HubFilesMode = "off",
    ) -> Repo:
        """Create a repo; the caller checks permissions and duplicates are the caller's 400.

        With `gitattributes="on-create"` (and an `author`), the repo starts with one commit on `master`
        holding the hub's `.gitattributes`, in the same transaction as the repo row.
        """
        now = self.ids.now()
        initial = gitattributes == "on-create" and author is not None
        initial_blob = self.blobs.put_bytes(GITATTRIBUTES) if initial else ""
        with self._write() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO repos(owner, name, visibility, license, chinese_name, description,"
                " original_model_id, created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (owner, name, visibility, license, chinese_name, description, original_model_id, created_by, now, now),
            )
            if cur.rowcount == 0:
                # The real hub's duplicate answer: 400, business code 10010101001, this text (§Op 2).
                raise AlreadyExists(f"该名称已被注册使用，请重新命名 (model {owner}/{name} already exists)")
            repo = self.find_repo(owner, name)
            assert repo is not None
            if initial:
                action = CommitAction("create", GITATTRIBUTES_PATH, size=len(GITATTRIBUTES))
                self._commit_in(
                    db, repo, "master", INITIAL_COMMIT_MESSAGE, author, [action], {GITATTRIBUTES_PATH: initial_blob}
                )
        return repo

    def find_repo(self, owner: str, name: str) -> Repo | None:
        """The repo, regardless of who asks, or None."""
        row = self._db().execute("SELECT * FROM repos WHERE owner = ? AND name = ?", (owner, name)).fetchone()
        return Repo(**dict(row)) if row else None

    def repo_for(self, user: User | None, owner: str, name: str, *, write: bool = False) -> Repo:
        """The repo as `user` may see it.

        Raises:
            NotFound: Missing, or private and `user` is not allowed to see it.
            Unauthorized: A write without a token.
            Forbidden: A write by someone who is neither owner nor group member.
        """
        repo = self.find_repo(owner, name)
        if repo is None or not self.may_read(user, repo):
            raise NotFound(f"model {owner}/{name} not found")
        if write and user is None:
            raise Unauthorized("login required: send an SDK access token")
        if write and not self.may_write_as(user, owner):
            raise Forbidden(f"user {user.name} may not write to {owner}/{name}")  # type: ignore[union-attr]
        return repo

    def update_repo(self, repo: Repo, **fields: object) -> Repo:
        """Change settings (visibility, license, chinese_name, description)."""
        allowed = {"visibility", "license", "chinese_name", "description"}
        sets = {k: v for k, v in fields.items() if k in allowed and v is not None}
        if sets:
            cols = ", ".join(f"{k} = ?" for k in sets)
            with self._write() as db:
                db.execute(
                    f"UPDATE repos SET {cols}, updated_at = ? WHERE id = ?",
                    (*sets.values(), self.ids.now(), repo.id),
                )
        found = self.find_repo(repo.owner, repo.name)
        assert found is not None
        return found

    def delete_repo(self, repo: Repo) -> None:
        """Remove a repo with its commits, refs and trees (blobs stay: they are shared)."""
        with self._write() as db:
            db.execute("DELETE FROM tree WHERE commit_id IN (SELECT id FROM commits WHERE repo_id = ?)", (repo.id,))
            db.execute("DELETE FROM commits WHERE repo_id = ?", (repo.id,))
            db.execute("DELETE FROM refs WHERE repo_id = ?", (repo.id,))
            db.execute("DELETE FROM repos WHERE id = ?", (repo.id,))

    def list_repos(self, owner: str | None, viewer: User | None, offset: int, limit: int) -> tuple[list[Repo], int]:
        """Repos of `owner` (all owners when None) that `viewer` may see, in creation order.

        For one owner the page is cut in SQL (what `viewer` may see of one owner's repos is a condition on
        the visibility alone), so a page costs the same at any offset; reading every row per page made a
        listing of N models cost O(N^2) and distorted the snapshot benchmark's scaling.
        """
        if owner is None:
            rows = self._db().execute("SELECT * FROM repos ORDER BY id").fetchall()
            visible = [r for r in (Repo(**dict(row)) for row in rows) if self.may_read(viewer, r)]
            return visible[offset : offset + limit], len(visible)
        seen = "1=1" if self.may_write_as(viewer, owner) else "visibility = 5 OR (visibility = 3 AND ?)"
        args: list[object] = [owner] if seen == "1=1" else [owner, viewer is not None]
        db = self._db()
        total = db.execute(f"SELECT COUNT(*) FROM repos WHERE owner = ? AND ({seen})", args).fetchone()[0]
        rows = db.execute(
            f"SELECT * FROM repos WHERE owner = ? AND ({seen}) ORDER BY id LIMIT ? OFFSET ?", [*args, limit, offset]
        ).fetchall()
        return [Repo(**dict(row)) for row in rows], int(total)

    def repo_file_size(self, repo: Repo) -> int:
        """Total bytes in the master tree (the OpenAPI `file_size`)."""
        head = self.resolve(repo, "master")
        if head is None:
            return 0
        row = self._db().execute("SELECT COALESCE(SUM(size), 0) FROM tree WHERE commit_id = ?", (head,)).fetchone()
        return int(row[0])

    # -- refs --------------------------------------------------------------------------------
    def refs(self, repo: Repo) -> tuple[list[Ref], list[Ref]]:
        """(branches in creation order, tags newest first)."""
        rows = (
            self._db()
            .execute(
                "SELECT kind, name, commit_id, created_at FROM refs WHERE repo_id = ?"
                " ORDER BY created_at DESC, seq DESC",
                (repo.id,),
            )
            .fetchall()
        )
        refs = [Ref(r["kind"], r["name"], r["commit_id"], r["created_at"]) for r in rows]
        branches = [r for r in reversed(refs) if r.kind == "branch"]
        return branches, [r for r in refs if r.kind == "tag"]

    def resolve(self, repo: Repo, revision: str) -> str | None:
        """Commit id for a branch, a tag or a full commit id of this repo (in that order), or None."""
        db = self._db()
        for kind in ("branch", "tag"):
            row = db.execute(
                "SELECT commit_id FROM refs WHERE repo_id = ? AND kind = ? AND name = ?", (repo.id, kind, revision)
            ).fetchone()
            if row:
                return row[0]
        if re.fullmatch(r"[0-9a-f]{40}", revision):
            row = db.execute("SELECT id FROM commits WHERE id = ? AND repo_id = ?", (revision, repo.id)).fetchone()
            if row:
                return row[0]
        return None

    def _add_ref(self, db: sqlite3.Connection, repo: Repo, kind: str, name: str, commit_id: str) -> None:
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM refs").fetchone()[0]
        db.execute(
            "INSERT INTO refs(repo_id, kind, name, commit_id, created_at, seq) VALUES (?,?,?,?,?,?)",
            (repo.id, kind, name, commit_id, self.ids.now(), seq),
        )

    def create_tag(self, repo: Repo, tag: str, revision: str) -> str:
        """Tag the commit `revision` resolves to; again at the same commit is a no-op.

        Raises:
            NotFound: `revision` does not resolve.
            BadRequest: The tag already points at another commit (a tag is never moved).
        """
        with self._write() as db:
            target = self.resolve(repo, revision)
            if target is None:
                raise NotFound(f"revision {revision!r} not found in {repo.model_id}")
            row = db.execute(
                "SELECT commit_id FROM refs WHERE repo_id = ? AND kind = 'tag' AND name = ?", (repo.id, tag)
            ).fetchone()
            if row and row[0] != target:
                raise BadRequest(f"tag {tag} already exists and points at commit {row[0]}")
            if row is None:
                self._add_ref(db, repo, "tag", tag, target)
            return target

    def create_branch(self, repo: Repo, branch: str, revision: str) -> str:
        """Create a branch at a commit: the control plane's stand-in for git push and the website."""
        with self._write() as db:
            target = self.resolve(repo, revision)
            if target is None:
                raise NotFound(f"revision {revision!r} not found in {repo.model_id}")
            exists = db.execute(
                "SELECT 1 FROM refs WHERE repo_id = ? AND kind = 'branch' AND name = ?", (repo.id, branch)
            ).fetchone()
            if exists:
                raise BadRequest(f"branch {branch} is already there")
            self._add_ref(db, repo, "branch", branch, target)
            return target

    # -- trees and commits -------------------------------------------------------------------
    def tree(self, commit_id: str) -> list[TreeEntry]:
        """Every file of a commit, sorted by path."""
        rows = (
            self._db()
            .execute(
                "SELECT t.path, t.sha256, t.size, t.is_lfs, t.last_commit, c.created_at, c.message, c.author"
                " FROM tree t JOIN commits c ON c.id = t.last_commit WHERE t.commit_id = ? ORDER BY t.path",
                (commit_id,),
            )
            .fetchall()
        )
        return [TreeEntry(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7]) for r in rows]

    def file_entry(self, commit_id: str, path: str) -> TreeEntry | None:
        """One file of a commit, or None."""
        row = (
            self._db()
            .execute(
                "SELECT t.path, t.sha256, t.size, t.is_lfs, t.last_commit, c.created_at, c.message, c.author"
                " FROM tree t JOIN commits c ON c.id = t.last_commit WHERE t.commit_id = ? AND t.path = ?",
                (commit_id, path),
            )
            .fetchone()
        )
        return TreeEntry(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7]) if row else None

    def commit(
        self,
        repo: Repo,
        branch: str,
        message: str,
        author: User,
        actions: list[CommitAction],
        *,
        gitattributes: HubFilesMode = "off",
    ) -> Commit:
        """Apply `actions` on top of `branch` as one new commit, atomically.

        The first commit of an empty repo creates `master`; any other missing branch, or a tag,
        is refused with the hub's own message (protocol.md §10.6, ModelScope issues #1470, #1582).
        With `gitattributes="on-first-commit"` the repo's first commit also gets the hub's
        `.gitattributes`, unless it brings its own.

        Raises:
            BadRequest: Not a branch; a delete of a missing path; an lfs blob the store lacks; a
                path used twice or as both file and folder.
            Unprocessable: More than 2000 actions.
        """
        if not actions:
            raise BadRequest("a commit needs at least one action")
        if len(actions) > MAX_COMMIT_ACTIONS:
            raise Unprocessable(
                f"commit request exceeds actions limit: {len(actions)} > {MAX_COMMIT_ACTIONS}; "
                "split the commit into smaller batches"
            )
        inline = {
            a.path: self.blobs.put_bytes(a.content) for a in actions if a.kind == "normal" and a.action != "delete"
        }
        if gitattributes == "on-first-commit" and all(a.path != GITATTRIBUTES_PATH for a in actions):
            inline[GITATTRIBUTES_PATH] = self.blobs.put_bytes(GITATTRIBUTES)
        with self._write() as db:
            return self._commit_in(db, repo, branch, message, author, actions, inline, gitattributes=gitattributes)

    def _commit_in(
        self,
        db: sqlite3.Connection,
        repo: Repo,
        branch: str,
        message: str,
        author: User,
        actions: list[CommitAction],
        inline: dict[str, str],
        *,
        gitattributes: HubFilesMode = "off",
    ) -> Commit:
        """`commit` inside an open write transaction; `inline` maps inline paths to stored blobs."""
        head = db.execute(
            "SELECT commit_id FROM refs WHERE repo_id = ? AND kind = 'branch' AND name = ?", (repo.id, branch)
        ).fetchone()
        if head is None:
            any_commit = db.execute("SELECT 1 FROM commits WHERE repo_id = ? LIMIT 1", (repo.id,)).fetchone()
            if branch != "master" or any_commit:
                raise BadRequest("You can only create or edit files when you are on a branch")
        parent = head[0] if head else None
        files = {e.path: (e.sha256, e.size, e.is_lfs, e.last_commit) for e in (self.tree(parent) if parent else [])}
        if parent is None and gitattributes == "on-first-commit" and all(a.path != GITATTRIBUTES_PATH for a in actions):
            # on-first-commit: the hub adds its file to the repo's first content commit.
            actions = [*actions, CommitAction("create", GITATTRIBUTES_PATH, size=len(GITATTRIBUTES))]
        new_id = self.ids.commit_id()
        self._apply(files, actions, inline, new_id)
        now = self.ids.now()
        db.execute(
            "INSERT INTO commits(id, repo_id, parent, message, author, email, created_at) VALUES (?,?,?,?,?,?,?)",
            (new_id, repo.id, parent, message, author.name, author.email, now),
        )
        db.executemany(
            "INSERT INTO tree(commit_id, path, sha256, size, is_lfs, last_commit) VALUES (?,?,?,?,?,?)",
            [(new_id, p, sha, size, int(lfs), last) for p, (sha, size, lfs, last) in files.items()],
        )
        if parent is None:
            self._add_ref(db, repo, "branch", branch, new_id)
        else:
            db.execute(
                "UPDATE refs SET commit_id = ? WHERE repo_id = ? AND kind = 'branch' AND name = ?",
                (new_id, repo.id, branch),
            )
        db.execute("UPDATE repos SET updated_at = ? WHERE id = ?", (now, repo.id))
        return Commit(new_id, parent, message, author.name, author.email, now)

    def _apply(
        self,
        files: dict[str, tuple[str, int, bool, str]],
        actions: list[CommitAction],
        inline: dict[str, str],
        new_id: str,
    ) -> None:
        """Apply actions to the `files` map in place; raises before anything is written."""
        seen: set[str] = set()
        for act in actions:
            if act.path in seen:
                raise BadRequest(f"path {act.path!r} appears twice in one commit")
            seen.add(act.path)
            if act.action == "delete":
                if files.pop(act.path, None) is None:
                    raise BadRequest(f"cannot delete {act.path!r}: no such file in this revision")
            elif act.kind == "lfs":
                if not self.blobs.has(act.sha256, act.size):
                    raise BadRequest(f"lfs object {act.sha256} of {act.path!r} was never uploaded (or differs in size)")
                files[act.path] = (act.sha256, act.size, True, new_id)
            else:
                files[act.path] = (inline[act.path], act.size, False, new_id)
        dirs = {p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/") + 1)}
        clash = sorted(dirs & files.keys())
        if clash:
            raise BadRequest(f"path {clash[0]!r} would be both a file and a folder")

    def history(self, head: str, offset: int, limit: int) -> tuple[list[Commit], int]:
        """Commits reachable from `head` through parents, newest first, one page, and the total."""
        rows = (
            self._db()
            .execute(
                "WITH RECURSIVE chain(id, depth) AS (SELECT ?, 0 UNION ALL"
                " SELECT c.parent, chain.depth + 1 FROM commits c JOIN chain ON c.id = chain.id"
                " WHERE c.parent IS NOT NULL)"
                " SELECT c.id, c.parent, c.message, c.author, c.email, c.created_at"
                " FROM chain JOIN commits c ON c.id = chain.id ORDER BY chain.depth",
                (head,),
            )
            .fetchall()
        )
        commits = [Commit(*tuple(r)) for r in rows]
        return commits[offset : offset + limit], len(commits)

    def reset(self) -> None:
        """Forget every repo, commit and ref (users and groups stay)."""
        with self._write() as db:
            for table in ("tree", "commits", "refs", "repos"):
                db.execute(f"DELETE FROM {table}")

    def commit_count(self) -> int:
        """How many commits exist, all repos together."""
        return int(self._db().execute("SELECT COUNT(*) FROM commits").fetchone()[0])
