"""The diff of two snapshots: models added, removed or hidden; branches and tags added, removed or moved
(a moved tag is the red flag, sorted first); visibility, license and file changes."""

from __future__ import annotations

from datetime import datetime, timezone  # noqa: F401  (used by the doctest)

from flows.snapshot.format import CHANGE_KINDS, Change, ModelState, RefState, Snapshot


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


def diff(old: Snapshot | None, new: Snapshot) -> list[Change]:
    """Changes from `old` to `new`, red flags (moved tags) first. No previous snapshot: no changes.

    Example:
        >>> now = datetime.now(timezone.utc)
        >>> a = Snapshot(taken_at=now, endpoint="e", owners=["o"], models={"o/m": ModelState()})
        >>> [c.kind for c in diff(a, Snapshot(taken_at=now, endpoint="e", owners=["o"]))]
        ['model.removed']
    """
    if old is None:
        return []
    changes: list[Change] = []
    for model_id in sorted(set(old.models) | set(new.models)):
        before, after = old.models.get(model_id), new.models.get(model_id)
        if before is None:
            changes.append(Change(kind="model.added", model_id=model_id))
        elif after is None:
            changes.append(Change(kind="model.removed", model_id=model_id))
        elif before.status == "ok" and after.status == "not_visible":
            changes.append(Change(kind="model.hidden", model_id=model_id, new=after.reason))
        elif before.status in ("ok", "error") and after.status == "ok":
            changes += _refs("branch", model_id, before.branches, after.branches)
            changes += _refs("tag", model_id, before.tags, after.tags)
            if (before.private, before.visibility) != (after.private, after.visibility):
                changes.append(
                    Change(
                        kind="visibility.changed", model_id=model_id, old=_visibility(before), new=_visibility(after)
                    )
                )
            if before.license != after.license:
                changes.append(Change(kind="license.changed", model_id=model_id, old=before.license, new=after.license))
            changes += _files(model_id, before, after)
    order = {kind: i for i, kind in enumerate(CHANGE_KINDS)}
    return sorted(changes, key=lambda c: (order.get(c.kind, len(order)), c.model_id, c.ref or ""))


def _visibility(state: ModelState) -> str:
    if state.visibility is not None:
        return {1: "private", 3: "internal", 5: "public"}.get(state.visibility, str(state.visibility))
    return "private" if state.private else "public"
