"""What a snapshot remembers of repos it could not read: their last known refs.

A repo (model or dataset) that could not be read, is not visible, or is no longer listed keeps the refs
(files, visibility, license) of the previous snapshot. Otherwise a tag moved while a repo was hidden, or
deleted and re-created elsewhere, would never be reported: its next good read would have nothing to
compare with. Each repo type is carried forward on its own, from its own sections of the previous snapshot.
"""

from __future__ import annotations

from datetime import datetime

from flows.snapshot.format import RepoState, Snapshot
from hub_tasks.repo_types import RepoType


def _keep_last(state: RepoState, last: RepoState | None, include_files: bool) -> RepoState:
    """`state` (not ok) with the refs and metadata of `last`, and its own status and reason."""
    if last is None:
        return state
    update = {"status": state.status, "reason": state.reason, "files": last.files if include_files else None}
    return last.model_copy(update=update)


def carry_forward(
    states: dict[str, RepoState],
    previous: Snapshot | None,
    taken_at: datetime,
    include_files: bool,
    repo_type: RepoType = "model",
) -> tuple[dict[str, RepoState], dict[str, RepoState]]:
    """The new snapshot's two sections of `repo_type` (`models` and `gone` for models) from this run's
    reads and the previous snapshot.

    Args:
        states: Every listed repo of the type as read now, by id.
        previous: The scope's previous snapshot, or None for its first (one that did not cover the type
            has nothing of it to carry).
        taken_at: When this snapshot was taken (a repo that stops being listed is "not listed since").
        include_files: Whether this run records files (kept files are dropped when it does not).
        repo_type: Which of the previous snapshot's sections to carry forward.

    Returns:
        (listed, gone): listed repos, the unread ones with their last known refs; and the repos known
        before that are no longer listed, with theirs.

    Example:
        >>> from datetime import timezone
        >>> now = datetime(2024, 1, 1, tzinfo=timezone.utc)
        >>> old = Snapshot(taken_at=now, endpoint="e", owners=["o"], models={"o/a": RepoState(tags={"v1": {}})})
        >>> models, gone = carry_forward({}, old, now, False)
        >>> models, list(gone["o/a"].tags), gone["o/a"].reason
        ({}, ['v1'], 'not listed since 2024-01-01T00:00:00+00:00')
    """
    if previous is None:
        return dict(states), {}
    before, before_gone = previous.listed(repo_type), previous.gone_of(repo_type)
    known = {**before_gone, **before}
    listed = {
        repo_id: state if state.status == "ok" else _keep_last(state, known.get(repo_id), include_files)
        for repo_id, state in states.items()
    }
    gone = {}
    for repo_id, last in known.items():
        if repo_id in states:
            continue
        reason = last.reason if repo_id in before_gone else f"not listed since {taken_at.isoformat()}"
        gone[repo_id] = _keep_last(RepoState(status="not_visible", reason=reason), last, include_files)
    return listed, gone
