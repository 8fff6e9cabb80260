"""Reading a commit's tree: every file, one file, and the listings the file routes serve (a folder or the
whole repo, one level or all of them, with or without folder entries, a page at a time) in SQL."""

from __future__ import annotations

from typing import Any

from local_hub.errors import NotFound
from local_hub.records import TreeEntry
from local_hub.store_db import Database

# Each row a listing reads: the file, then the commit that last changed it.
_FIELDS = "t.path, t.sha256, t.size, t.is_lfs, t.last_commit, c.created_at, c.message, c.author"
# The folders and files right below a folder, one entry per folder (its newest change, ties to the first
# path, as a walk in path order finds them); `cut` is where the first '/' after the folder's prefix is.
_LEVEL = """
WITH below AS (
    SELECT path, sha256, size, is_lfs, last_commit, instr(substr(path, :skip), '/') AS cut
    FROM tree WHERE commit_id = :commit {within}
), level AS (
    SELECT path, sha256, size, is_lfs, last_commit, 'blob' AS kind FROM below WHERE cut = 0
    UNION ALL
    SELECT folder, '', 0, 0, last_commit, 'tree' FROM (
        SELECT substr(b.path, 1, :skip + b.cut - 2) AS folder, b.last_commit, ROW_NUMBER() OVER (
            PARTITION BY substr(b.path, 1, :skip + b.cut - 2) ORDER BY c.created_at DESC, b.path
        ) AS newest
        FROM below b JOIN commits c ON c.id = b.last_commit WHERE b.cut > 0
    ) WHERE newest = 1
)
SELECT {fields}, t.kind FROM (SELECT * FROM level ORDER BY path LIMIT :limit OFFSET :offset) t
JOIN commits c ON c.id = t.last_commit ORDER BY t.path
"""
# The files below a folder, at any depth: a page is one range of the tree's primary key.
_FILES = """
SELECT {fields}, 'blob' FROM (
    SELECT * FROM tree WHERE commit_id = :commit {within} ORDER BY path LIMIT :limit OFFSET :offset
) t JOIN commits c ON c.id = t.last_commit ORDER BY t.path
"""


def _within(root: str, column: str = "path") -> tuple[str, dict[str, str]]:
    """The SQL condition (and its parameters) that keeps the paths below the folder `root` ('' = all).

    "root/..." paths sort after "root/" and before "root0" ('0' is the character after '/'), so the
    condition is a range of the (commit_id, path) key, which SQLite walks without sorting.
    """
    if not root:
        return "", {}
    return f"AND {column} > :low AND {column} < :high", {"low": f"{root}/", "high": f"{root}0"}


def _entry(row: Any) -> TreeEntry:
    return TreeEntry(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7], *row[8:])


class TreeReads(Database):
    """The tree reads of the `Store`."""

    def tree(self, commit_id: str) -> list[TreeEntry]:
        """Every file of a commit, sorted by path."""
        rows = self._db().execute(
            f"SELECT {_FIELDS} FROM tree t JOIN commits c ON c.id = t.last_commit WHERE t.commit_id = ?"
            " ORDER BY t.path",
            (commit_id,),
        )
        return [_entry(r) for r in rows.fetchall()]

    def file_entry(self, commit_id: str, path: str) -> TreeEntry | None:
        """One file of a commit, or None."""
        row = (
            self._db()
            .execute(
                f"SELECT {_FIELDS} FROM tree t JOIN commits c ON c.id = t.last_commit"
                " WHERE t.commit_id = ? AND t.path = ?",
                (commit_id, path),
            )
            .fetchone()
        )
        return _entry(row) if row else None

    def tree_size(self, commit_id: str) -> int:
        """Total bytes of a commit's files."""
        row = self._db().execute("SELECT COALESCE(SUM(size), 0) FROM tree WHERE commit_id = ?", (commit_id,))
        return int(row.fetchone()[0])

    def list_tree(
        self, commit_id: str, root: str = "", *, recursive: bool, folders: bool, offset: int = 0, limit: int = -1
    ) -> list[TreeEntry]:
        """One page of a listing of the folder `root` ('' = the whole repo), sorted by path.

        Args:
            commit_id: The revision's commit.
            root: A folder path without leading or trailing '/'.
            recursive: Everything below `root`, else only what is right in it.
            folders: Whether a recursive listing has `tree` entries for the folders too (a one-level
                listing always has them: a folder is what it shows of what lies deeper).
            offset: Entries to skip.
            limit: At most this many entries; -1 for all.

        Raises:
            NotFound: `root` holds no file (a page past the end of an existing folder is empty instead).

        Pages of a recursive listing without folders, and of a one-level listing, are cut in SQL, so a page
        costs about the same at any offset (a 20,000-file dataset is read in pages of 200 by the SDK).
        """
        within, args = _within(root)
        params = {"commit": commit_id, "limit": limit, "offset": offset, **args}
        if recursive and not folders:
            rows = self._db().execute(_FILES.format(fields=_FIELDS, within=within), params).fetchall()
            listing = [_entry(r) for r in rows]
        elif not recursive:
            params["skip"] = len(root) + 2 if root else 1  # where the part below `root/` starts (1-based)
            rows = self._db().execute(_LEVEL.format(fields=_FIELDS, within=within), params).fetchall()
            listing = [_entry(r) for r in rows]
        else:
            everything = self._with_folders(commit_id, root)
            listing = everything[offset:] if limit < 0 else everything[offset : offset + limit]
        if not listing and root and not self._holds_files(commit_id, within, args):
            raise NotFound(f"folder {root!r} not found")
        return listing

    def _with_folders(self, commit_id: str, root: str) -> list[TreeEntry]:
        """Every file below `root` and every folder on the way to them, sorted by path (the model listing,
        which the real hub caps at 3,000 entries rather than paging)."""
        within, args = _within(root, "t.path")
        rows = self._db().execute(
            f"SELECT {_FIELDS} FROM tree t JOIN commits c ON c.id = t.last_commit"
            f" WHERE t.commit_id = :commit {within} ORDER BY t.path",
            {"commit": commit_id, **args},
        )
        files = [_entry(r) for r in rows.fetchall()]
        newest: dict[str, TreeEntry] = {}
        start = len(root) + 1 if root else 0
        for entry in files:
            folder_end = entry.path.find("/", start)
            while folder_end != -1:
                folder = entry.path[:folder_end]
                if folder not in newest or entry.committed_at > newest[folder].committed_at:
                    newest[folder] = entry
                folder_end = entry.path.find("/", folder_end + 1)
        folder_entries = [
            TreeEntry(path, "", 0, False, e.last_commit, e.committed_at, e.commit_message, e.committer, "tree")
            for path, e in newest.items()
        ]
        return sorted(files + folder_entries, key=lambda entry: entry.path)

    def _holds_files(self, commit_id: str, within: str, args: dict[str, str]) -> bool:
        query = f"SELECT 1 FROM tree WHERE commit_id = :commit {within} LIMIT 1"
        return self._db().execute(query, {"commit": commit_id, **args}).fetchone() is not None
