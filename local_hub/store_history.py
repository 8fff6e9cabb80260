"""The store's history: refs (branches and tags) and commits, each commit one SQLite transaction that
applies all of its actions or none; plain methods over `store_db`, no HTTP."""

from __future__ import annotations

import re
import sqlite3

from local_hub.errors import BadRequest, NotFound, Unprocessable
from local_hub.hub_files import GITATTRIBUTES_PATH, HubFilesMode
from local_hub.records import MAX_COMMIT_ACTIONS, Commit, CommitAction, Ref, Repo, User
from local_hub.store_repos import RepoTables
from local_hub.store_trees import TreeReads


class History(RepoTables, TreeReads):
    """Refs and commits (and the repo-level reads built on them); the `Store` is one of these."""

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
                raise NotFound(f"revision {revision!r} not found in {repo.repo_id}")
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
                raise NotFound(f"revision {revision!r} not found in {repo.repo_id}")
            exists = db.execute(
                "SELECT 1 FROM refs WHERE repo_id = ? AND kind = 'branch' AND name = ?", (repo.id, branch)
            ).fetchone()
            if exists:
                raise BadRequest(f"branch {branch} is already there")
            self._add_ref(db, repo, "branch", branch, target)
            return target

    # -- commits -----------------------------------------------------------------------------
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
            inline[GITATTRIBUTES_PATH] = self.blobs.put_bytes(repo.kind.gitattributes)
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
            own = CommitAction("create", GITATTRIBUTES_PATH, size=len(repo.kind.gitattributes))
            actions = [*actions, own]
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

    def repo_file_size(self, repo: Repo) -> int:
        """Total bytes in the master tree (the OpenAPI `file_size`)."""
        head = self.resolve(repo, "master")
        return self.tree_size(head) if head else 0

    def commit_count(self) -> int:
        """How many commits exist, all repos together."""
        return int(self._db().execute("SELECT COUNT(*) FROM commits").fetchone()[0])
