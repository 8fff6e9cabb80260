"""What a snapshot remembers of models it could not read: their last known refs.

A model that could not be read, is not visible, or is no longer listed keeps the refs (files, visibility,
license) of the previous snapshot. Otherwise a tag moved while a model was hidden, or deleted and
re-created elsewhere, would never be reported: its next good read would have nothing to compare with.
"""

from __future__ import annotations

from datetime import datetime

from flows.snapshot.format import ModelState, Snapshot


def _keep_last(state: ModelState, last: ModelState | None, include_files: bool) -> ModelState:
    """`state` (not ok) with the refs and metadata of `last`, and its own status and reason."""
    if last is None:
        return state
    update = {"status": state.status, "reason": state.reason, "files": last.files if include_files else None}
    return last.model_copy(update=update)


def carry_forward(
    states: dict[str, ModelState], previous: Snapshot | None, taken_at: datetime, include_files: bool
) -> tuple[dict[str, ModelState], dict[str, ModelState]]:
    """The new snapshot's `models` and `gone` from this run's reads and the previous snapshot.

    Args:
        states: Every listed model as read now.
        previous: The scope's previous snapshot, or None for its first.
        taken_at: When this snapshot was taken (a model that stops being listed is "not listed since").
        include_files: Whether this run records files (kept files are dropped when it does not).

    Returns:
        (models, gone): listed models, the unread ones with their last known refs; and the models known
        before that are no longer listed, with theirs.

    Example:
        >>> from datetime import timezone
        >>> now = datetime(2024, 1, 1, tzinfo=timezone.utc)
        >>> old = Snapshot(taken_at=now, endpoint="e", owners=["o"], models={"o/a": ModelState(tags={"v1": {}})})
        >>> models, gone = carry_forward({}, old, now, False)
        >>> models, list(gone["o/a"].tags), gone["o/a"].reason
        ({}, ['v1'], 'not listed since 2024-01-01T00:00:00+00:00')
    """
    if previous is None:
        return dict(states), {}
    known = {**previous.gone, **previous.models}
    models = {
        model_id: state if state.status == "ok" else _keep_last(state, known.get(model_id), include_files)
        for model_id, state in states.items()
    }
    gone = {}
    for model_id, last in known.items():
        if model_id in states:
            continue
        still_gone = model_id in previous.gone
        reason = last.reason if still_gone else f"not listed since {taken_at.isoformat()}"
        gone[model_id] = _keep_last(ModelState(status="not_visible", reason=reason), last, include_files)
    return models, gone
