"""The store's accounts and repos: users, groups, who may read and write what, and the repos themselves
(find, check access, change, delete, list); plain methods over `store_db`, no HTTP."""

from __future__ import annotations

from local_hub.errors import Forbidden, NotFound, Unauthorized
from local_hub.records import Repo, User, validate_name
from local_hub.store_db import Database


class RepoTables(Database):
    """Users, groups and repos (the `Store` is one of these)."""

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
    def find_repo(self, owner: str, name: str, repo_type: str = "model") -> Repo | None:
        """The repo of this type, regardless of who asks, or None."""
        row = (
            self._db()
            .execute("SELECT * FROM repos WHERE repo_type = ? AND owner = ? AND name = ?", (repo_type, owner, name))
            .fetchone()
        )
        return Repo(**dict(row)) if row else None

    def find_repo_by_id(self, repo_id: int, repo_type: str) -> Repo | None:
        """The repo of this type with this numeric id (a dataset's `Id`, §21.5C), or None."""
        row = self._db().execute("SELECT * FROM repos WHERE id = ? AND repo_type = ?", (repo_id, repo_type)).fetchone()
        return Repo(**dict(row)) if row else None

    def repo_for(
        self, user: User | None, owner: str, name: str, *, write: bool = False, repo_type: str = "model"
    ) -> Repo:
        """The repo as `user` may see it.

        Raises:
            NotFound: Missing, or private and `user` is not allowed to see it.
            Unauthorized: A write without a token.
            Forbidden: A write by someone who is neither owner nor group member.
        """
        return self.check_access(user, self.find_repo(owner, name, repo_type), f"{repo_type} {owner}/{name}", write)

    def check_access(self, user: User | None, repo: Repo | None, what: str, write: bool = False) -> Repo:
        """`repo` when `user` may see it (and write to it, with `write`); `what` names it in the 404.

        Raises:
            NotFound: `repo` is None, or private and `user` is not allowed to see it.
            Unauthorized: A write without a token.
            Forbidden: A write by someone who is neither owner nor group member.
        """
        if repo is None or not self.may_read(user, repo):
            raise NotFound(f"{what} not found")
        if write and user is None:
            raise Unauthorized("login required: send an SDK access token")
        if write and not self.may_write_as(user, repo.owner):
            raise Forbidden(f"user {user.name} may not write to {repo.repo_id}")  # type: ignore[union-attr]
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
        found = self.find_repo(repo.owner, repo.name, repo.repo_type)
        assert found is not None
        return found

    def delete_repo(self, repo: Repo) -> None:
        """Remove a repo with its commits, refs and trees (blobs stay: they are shared)."""
        with self._write() as db:
            db.execute("DELETE FROM tree WHERE commit_id IN (SELECT id FROM commits WHERE repo_id = ?)", (repo.id,))
            db.execute("DELETE FROM commits WHERE repo_id = ?", (repo.id,))
            db.execute("DELETE FROM refs WHERE repo_id = ?", (repo.id,))
            db.execute("DELETE FROM repos WHERE id = ?", (repo.id,))

    def list_repos(
        self, owner: str | None, viewer: User | None, offset: int, limit: int, repo_type: str = "model"
    ) -> tuple[list[Repo], int]:
        """Repos of this type and `owner` (all owners when None) that `viewer` may see, in creation order.

        For one owner the page is cut in SQL (what `viewer` may see of one owner's repos is a condition on
        the visibility alone), so a page costs the same at any offset; reading every row per page made a
        listing of N models cost O(N^2) and distorted the snapshot benchmark's scaling.
        """
        db = self._db()
        if owner is None:
            rows = db.execute("SELECT * FROM repos WHERE repo_type = ? ORDER BY id", (repo_type,)).fetchall()
            visible = [r for r in (Repo(**dict(row)) for row in rows) if self.may_read(viewer, r)]
            return visible[offset : offset + limit], len(visible)
        seen = "1=1" if self.may_write_as(viewer, owner) else "visibility = 5 OR (visibility = 3 AND ?)"
        args: list[object] = [repo_type, owner] if seen == "1=1" else [repo_type, owner, viewer is not None]
        where = f"repo_type = ? AND owner = ? AND ({seen})"
        total = db.execute(f"SELECT COUNT(*) FROM repos WHERE {where}", args).fetchone()[0]
        rows = db.execute(f"SELECT * FROM repos WHERE {where} ORDER BY id LIMIT ? OFFSET ?", [*args, limit, offset])
        return [Repo(**dict(row)) for row in rows.fetchall()], int(total)
