"""The diff of two snapshots of one scope: models added, removed, hidden or back again; branches and tags
added, removed or moved (a moved tag is the red flag, sorted first); visibility, license and file changes.

A model that is not visible, could not be read, or is no longer listed keeps the refs last read (see
`history.py`), so whatever moved meanwhile is reported once it can be read again.
"""

from __future__ import annotations

from datetime import datetime, timezone  # noqa: F401  (used by the doctest)

from flows.snapshot.format import CHANGE_KINDS, Change, ModelState, RefState, Snapshot

VISIBILITY_NAMES = {1: "private", 3: "internal", 5: "public"}


class ScopeMismatchError(ValueError):
    """Two snapshots of different scopes (endpoint or owners) were compared."""


def _refs(kind: str, model_id: str, old: dict[str, RefState], new: dict[str, RefState]) -> list[Change]:
    changes = [
        Change(kind=f"{kind}.added", model_id=model_id, ref=r, new=new[r].commit_id) for r in new if r not in old
    ]
    changes += [
        Change(kind=f"{kind}.removed", model_id=model_id, ref=r, old=old[r].commit_id) for r in old if r not in new
    ]
    changes += [
        Change(kind=f"{kind}.moved", model_id=model_id, ref=r, old=old[r].commit_id, new=new[r].commit_id)
        for r in new
        if r in old and old[r].commit_id != new[r].commit_id
    ]
    return changes


def _files(model_id: str, old: ModelState, new: ModelState) -> list[Change]:
    changes = []
    for branch in sorted(set(old.files or {}) & set(new.files or {})):
        before, after = (old.files or {})[branch], (new.files or {})[branch]
        touched = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
        if touched:
            shown = ", ".join(touched[:5]) + (f" and {len(touched) - 5} more" if len(touched) > 5 else "")
            changes.append(Change(kind="files.changed", model_id=model_id, ref=branch, new=shown))
    return changes


def visibility_name(state: ModelState) -> str:
    """The model's visibility in words; "private" when only the listing's `private` flag is known.

    Example:
        >>> visibility_name(ModelState(visibility=3)), visibility_name(ModelState(private=True))
        ('internal', 'private')
    """
    if state.visibility is not None:
        return VISIBILITY_NAMES.get(state.visibility, str(state.visibility))
    return "private" if state.private else "public"


def _visibility(model_id: str, before: ModelState, after: ModelState) -> list[Change]:
    """A change of visibility. The exact code (1/3/5) is compared when both sides have it; otherwise only
    public vs not public (a version 1 snapshot kept just the listing's `private` flag), so reading the
    exact code for the first time is not reported as a change."""
    if before.visibility is not None and after.visibility is not None:
        changed = before.visibility != after.visibility
    else:
        changed = bool(before.private) != bool(after.private)
    if not changed:
        return []
    return [
        Change(kind="visibility.changed", model_id=model_id, old=visibility_name(before), new=visibility_name(after))
    ]


def _read_again(model_id: str, before: ModelState, after: ModelState) -> list[Change]:
    """What changed between the refs (and metadata) last read and a good read now."""
    changes = _refs("branch", model_id, before.branches, after.branches)
    changes += _refs("tag", model_id, before.tags, after.tags)
    if before.private is not None or before.visibility is not None:  # an entry never read knows neither
        changes += _visibility(model_id, before, after)
    if before.license is not None and before.license != after.license:
        changes.append(Change(kind="license.changed", model_id=model_id, old=before.license, new=after.license))
    return changes + _files(model_id, before, after)


def _model(model_id: str, old: Snapshot, new: Snapshot) -> list[Change]:
    """The changes of one model known to either snapshot."""
    listed_before, gone_before = old.models.get(model_id), old.gone.get(model_id)
    before = listed_before or gone_before
    after = new.models.get(model_id)
    if after is None:  # not listed now (kept in `new.gone`)
        return [Change(kind="model.removed", model_id=model_id)] if listed_before is not None else []
    if before is None:
        return [Change(kind="model.added", model_id=model_id)]
    if after.status == "not_visible":
        hidden = listed_before is not None and listed_before.status != "not_visible"
        return [Change(kind="model.hidden", model_id=model_id, new=after.reason)] if hidden else []
    if after.status == "error":  # nothing read: nothing to compare (its last refs are kept)
        return []
    back = gone_before is not None or before.status == "not_visible"
    changes = [Change(kind="model.reappeared", model_id=model_id)] if back else []
    return changes + _read_again(model_id, before, after)


def diff(old: Snapshot | None, new: Snapshot) -> list[Change]:
    """Changes from `old` to `new`, red flags (moved tags) first. No previous snapshot: no changes.

    Raises:
        ScopeMismatchError: The snapshots cover different endpoints or owners: comparing them would
            report every model of one as added and of the other as removed.

    Example:
        >>> now = datetime.now(timezone.utc)
        >>> a = Snapshot(taken_at=now, endpoint="e", owners=["o"], models={"o/m": ModelState()})
        >>> [c.kind for c in diff(a, Snapshot(taken_at=now, endpoint="e", owners=["o"]))]
        ['model.removed']
    """
    if old is None:
        return []
    if old.scope != new.scope:
        raise ScopeMismatchError(f"cannot compare a snapshot of {old.scope.label} with one of {new.scope.label}")
    changes: list[Change] = []
    for model_id in sorted(set(old.models) | set(old.gone) | set(new.models)):
        changes += _model(model_id, old, new)
    order = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
    return sorted(changes, key=lambda c: (order.get(c.kind, len(order)), c.model_id, c.ref or ""))
