"""The diff of two snapshots of one scope: repos (models, datasets) added, removed, hidden or back again;
branches and tags added, removed or moved (a moved tag is the red flag, sorted first); visibility, license
and file changes. Every repo type goes through the same comparison; the change says which type it is about.

A repo that is not visible, could not be read, or is no longer listed keeps the refs last read (see
`history.py`), so whatever moved meanwhile is reported once it can be read again.
"""

from __future__ import annotations

from datetime import datetime, timezone  # noqa: F401  (used by the doctest)

from flows.snapshot.format import CHANGE_KINDS, Change, RefState, RepoState, Snapshot
from hub_tasks.repo_types import REPO_TYPES, RepoType

VISIBILITY_NAMES = {1: "private", 3: "internal", 5: "public"}


class ScopeMismatchError(ValueError):
    """Two snapshots of different scopes (endpoint or owners) were compared."""


class _Repo:
    """The changes of one repo are built here: its type and id go into each `Change`."""

    def __init__(self, repo_type: RepoType, repo_id: str) -> None:
        self.repo_type, self.repo_id = repo_type, repo_id

    def change(self, kind: str, ref: str | None = None, old: str | None = None, new: str | None = None) -> Change:
        return Change(kind=kind, repo_type=self.repo_type, repo_id=self.repo_id, ref=ref, old=old, new=new)

    def whole(self, what: str, new: str | None = None) -> Change:
        """A change of the whole repo, named after its type: `model.added`, `dataset.removed`, ..."""
        return self.change(f"{self.repo_type}.{what}", new=new)


def _refs(repo: _Repo, kind: str, old: dict[str, RefState], new: dict[str, RefState]) -> list[Change]:
    changes = [repo.change(f"{kind}.added", ref=r, new=new[r].commit_id) for r in new if r not in old]
    changes += [repo.change(f"{kind}.removed", ref=r, old=old[r].commit_id) for r in old if r not in new]
    changes += [
        repo.change(f"{kind}.moved", ref=r, old=old[r].commit_id, new=new[r].commit_id)
        for r in new
        if r in old and old[r].commit_id != new[r].commit_id
    ]
    return changes


def _files(repo: _Repo, old: RepoState, new: RepoState) -> list[Change]:
    changes = []
    for branch in sorted(set(old.files or {}) & set(new.files or {})):
        before, after = (old.files or {})[branch], (new.files or {})[branch]
        touched = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
        if touched:
            shown = ", ".join(touched[:5]) + (f" and {len(touched) - 5} more" if len(touched) > 5 else "")
            changes.append(repo.change("files.changed", ref=branch, new=shown))
    return changes


def visibility_name(state: RepoState) -> str:
    """The repo's visibility in words; "private" when only the listing's `private` flag is known.

    Example:
        >>> visibility_name(RepoState(visibility=3)), visibility_name(RepoState(private=True))
        ('internal', 'private')
    """
    if state.visibility is not None:
        return VISIBILITY_NAMES.get(state.visibility, str(state.visibility))
    return "private" if state.private else "public"


def _visibility(repo: _Repo, before: RepoState, after: RepoState) -> list[Change]:
    """A change of visibility. The exact code (1/3/5) is compared when both sides have it; otherwise only
    public vs not public (a version 1 snapshot kept just the listing's `private` flag), so reading the
    exact code for the first time is not reported as a change."""
    if before.visibility is not None and after.visibility is not None:
        changed = before.visibility != after.visibility
    else:
        changed = bool(before.private) != bool(after.private)
    if not changed:
        return []
    return [repo.change("visibility.changed", old=visibility_name(before), new=visibility_name(after))]


def _read_again(repo: _Repo, before: RepoState, after: RepoState) -> list[Change]:
    """What changed between the refs (and metadata) last read and a good read now."""
    changes = _refs(repo, "branch", before.branches, after.branches)
    changes += _refs(repo, "tag", before.tags, after.tags)
    if before.private is not None or before.visibility is not None:  # an entry never read knows neither
        changes += _visibility(repo, before, after)
    if before.license is not None and before.license != after.license:
        changes.append(repo.change("license.changed", old=before.license, new=after.license))
    return changes + _files(repo, before, after)


def _repo(repo: _Repo, old: Snapshot, new: Snapshot) -> list[Change]:
    """The changes of one repo known to either snapshot."""
    listed_before = old.listed(repo.repo_type).get(repo.repo_id)
    gone_before = old.gone_of(repo.repo_type).get(repo.repo_id)
    before = listed_before or gone_before
    after = new.listed(repo.repo_type).get(repo.repo_id)
    if after is None:  # not listed now (kept in the new snapshot's `gone` section)
        return [repo.whole("removed")] if listed_before is not None else []
    if before is None:
        return [repo.whole("added")]
    if after.status == "not_visible":
        hidden = listed_before is not None and listed_before.status != "not_visible"
        return [repo.whole("hidden", new=after.reason)] if hidden else []
    if after.status == "error":  # nothing read: nothing to compare (its last refs are kept)
        return []
    back = gone_before is not None or before.status == "not_visible"
    return ([repo.whole("reappeared")] if back else []) + _read_again(repo, before, after)


def compared_types(old: Snapshot, new: Snapshot) -> tuple[RepoType, ...]:
    """The repo types both snapshots cover: only those are compared (a type the old one did not list
    starts with the new one, rather than reporting every repo of it as added).

    Example:
        >>> now = datetime.now(timezone.utc)
        >>> old = Snapshot(taken_at=now, endpoint="e", owners=["o"])
        >>> compared_types(old, Snapshot(taken_at=now, endpoint="e", owners=["o"], repo_types=["dataset", "model"]))
        ('model',)
    """
    return tuple(t for t in REPO_TYPES if t in old.repo_types and t in new.repo_types)


def diff(old: Snapshot | None, new: Snapshot) -> list[Change]:
    """Changes from `old` to `new` in the repo types both cover, red flags (moved tags) first. No previous
    snapshot: no changes.

    Raises:
        ScopeMismatchError: The snapshots cover different endpoints or owners: comparing them would
            report every repo of one as added and of the other as removed.

    Example:
        >>> now = datetime.now(timezone.utc)
        >>> a = Snapshot(taken_at=now, endpoint="e", owners=["o"], models={"o/m": RepoState()})
        >>> [c.kind for c in diff(a, Snapshot(taken_at=now, endpoint="e", owners=["o"]))]
        ['model.removed']
    """
    if old is None:
        return []
    if not old.scope.same_owners(new.scope):
        raise ScopeMismatchError(f"cannot compare a snapshot of {old.scope.label} with one of {new.scope.label}")
    changes: list[Change] = []
    for repo_type in compared_types(old, new):
        known = set(old.listed(repo_type)) | set(old.gone_of(repo_type)) | set(new.listed(repo_type))
        for repo_id in sorted(known):
            changes += _repo(_Repo(repo_type, repo_id), old, new)
    order = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
    types = {repo_type: i for i, repo_type in enumerate(REPO_TYPES)}
    return sorted(changes, key=lambda c: (order.get(c.kind, len(order)), types[c.repo_type], c.repo_id, c.ref or ""))
