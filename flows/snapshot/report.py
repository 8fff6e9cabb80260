"""What a snapshot run tells people: its log lines, the markdown summary, the table of changes, and one
event per change. Pure text from the snapshot and its changes, except `emit_changes`."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from pydantic import BaseModel, Field

from flows.events import emit_model_event
from flows.snapshot.format import Change, Snapshot, count_by_kind

MAX_EVENTS = 500
MAX_TABLE_ROWS = 1000


class Baseline(BaseModel):
    """What a run compared with: where it came from (`server`, `archive` or `none`) and when it was taken."""

    source: str = "none"
    taken_at: datetime | None = None
    where: str = ""

    @property
    def first(self) -> bool:
        """True when there was nothing to compare with: the scope's first snapshot."""
        return self.source == "none"

    def describe(self) -> str:
        """E.g. "the snapshot taken 2024-05-01T03:00:00+00:00 (Prefect server, artifact modelscope-...)".

        Example:
            >>> Baseline().describe()
            'nothing: this is the first snapshot of this scope, so no changes are reported'
        """
        if self.first or self.taken_at is None:
            return "nothing: this is the first snapshot of this scope, so no changes are reported"
        origin = {"server": "kept in the Prefect server", "archive": "read from the archive"}.get(self.source, "")
        return f"the snapshot taken {self.taken_at.isoformat()} ({origin}: {self.where})"


def models_per_owner(snapshot: Snapshot) -> dict[str, int]:
    """How many listed models each owner has (every owner named, even with none).

    Example:
        >>> from datetime import timezone
        >>> s = Snapshot(taken_at=datetime.now(timezone.utc), endpoint="e", owners=["a", "b"], models={"a/m": {}})
        >>> models_per_owner(s)
        {'a': 1, 'b': 0}
    """
    counts = Counter(model_id.split("/", 1)[0] for model_id in snapshot.models)
    return {owner: counts.get(owner, 0) for owner in snapshot.owners}


def read_counts(snapshot: Snapshot) -> str:
    """ "N models: a read, b not visible, c failed" (plus the models no longer listed, when any)."""
    states = [s.status for s in snapshot.models.values()]
    text = (
        f"{len(states)} models: {states.count('ok')} read, {states.count('not_visible')} not visible, "
        f"{states.count('error')} failed"
    )
    return text + (f"; {len(snapshot.gone)} no longer listed (kept with their last refs)" if snapshot.gone else "")


def changes_line(changes: list[Change]) -> str:
    """ "3 changes: tag.moved 1, branch.moved 2" or "no changes".

    Example:
        >>> changes_line([]), changes_line([Change(kind="tag.moved", model_id="o/m")])
        ('no changes', '1 change: tag.moved 1')
    """
    if not changes:
        return "no changes"
    kinds = ", ".join(f"{kind} {n}" for kind, n in count_by_kind(changes).items())
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''}: {kinds}"


def log_run(
    log: logging.Logger | logging.LoggerAdapter, snapshot: Snapshot, location: str, changes: list[Change]
) -> None:
    """The run's closing log lines: where the snapshot went, what was read, what changed."""
    log.info("Snapshot of %s written to %s", snapshot.scope.label, location)
    log.info("Read %s", read_counts(snapshot))
    log.info("Changes since the previous snapshot: %s", changes_line(changes))
    moved = [c for c in changes if c.kind == "tag.moved"]
    if moved:
        log.warning(
            "%d tag(s) moved: %s", len(moved), ", ".join(f"{c.model_id}@{c.ref} {c.old} -> {c.new}" for c in moved[:20])
        )


def short(value: str | None) -> str:
    """A commit id as the table shows it (its first 12 hex digits, as git abbreviates; the snapshot keeps it
    whole); any other value unchanged. A 40-digit id is wider than the UI's table column.

    Example:
        >>> short("0123456789abcdef0123456789abcdef01234567"), short("private"), short(None)
        ('0123456789ab', 'private', '')
    """
    if value and len(value) == 40 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    return value or ""


def table(changes: list[Change]) -> list[dict[str, str]]:
    """The rows of the changes table (at most `MAX_TABLE_ROWS`, then a row saying how many more)."""
    rows = [
        {"change": c.kind, "model": c.model_id, "ref": c.ref or "", "old": short(c.old), "new": short(c.new)}
        for c in changes[:MAX_TABLE_ROWS]
    ]
    if len(changes) > MAX_TABLE_ROWS:
        rows.append(
            {"change": "...", "model": f"{len(changes) - MAX_TABLE_ROWS} more", "ref": "", "old": "", "new": ""}
        )
    return rows


def summary(snapshot: Snapshot, location: str, changes: list[Change], baseline: Baseline) -> str:
    """The markdown summary artifact."""
    per_owner = ", ".join(f"{owner} {n}" for owner, n in models_per_owner(snapshot).items())
    lines = [
        f"# Snapshot of {', '.join(snapshot.owners)}",
        "",
        f"- taken at {snapshot.taken_at.isoformat()} from {snapshot.endpoint}",
        f"- stored at `{location}`",
        f"- {read_counts(snapshot)}",
        f"- models per owner: {per_owner}",
        f"- compared with {baseline.describe()}",
        "",
    ]
    if not snapshot.models:
        lines += [no_models_warning(snapshot), ""]
    counts = count_by_kind(changes)
    if counts.get("tag.moved"):
        lines += [f"**{counts['tag.moved']} tag(s) moved** — a tag should never move; check who did it.", ""]
    if baseline.first:
        lines += ["First snapshot of this scope: nothing to compare with, no changes reported."]
    else:
        lines += [f"- {kind}: {n}" for kind, n in counts.items()] or ["No changes."]
    if snapshot.failed:
        lines += ["", "## Could not read", *[f"- `{m}`: {r}" for m, r in snapshot.failed.items()]]
    return "\n".join(lines)


def no_models_warning(snapshot: Snapshot) -> str:
    """What a snapshot that found no model says (in the log as a warning, the summary and the run's state).

    Example:
        >>> from datetime import timezone
        >>> empty = Snapshot(taken_at=datetime.now(timezone.utc), endpoint="https://hub", owners=["bob"])
        >>> print(no_models_warning(empty))
        No models found for bob at https://hub: check the owner names, and that the credentials' user can see them.
    """
    return (
        f"No models found for {', '.join(snapshot.owners)} at {snapshot.endpoint}: check the owner names, and that "
        "the credentials' user can see them."
    )


def summary_description(snapshot: Snapshot, changes: list[Change], baseline: Baseline) -> str:
    """The markdown artifact's one-line description.

    Example:
        >>> from datetime import timezone
        >>> s = Snapshot(taken_at=datetime.now(timezone.utc), endpoint="https://hub", owners=["alice"])
        >>> summary_description(s, [], Baseline())
        'Snapshot of alice @ https://hub: 0 models, first snapshot of this scope'
    """
    what = "first snapshot of this scope" if baseline.first else changes_line(changes)
    return f"Snapshot of {snapshot.scope.label}: {len(snapshot.models)} models, {what}"


def emit_changes(changes: list[Change], endpoint: str, log: logging.Logger | logging.LoggerAdapter) -> None:
    """One event per change (the first `MAX_EVENTS`), e.g. `modelscope.tag.moved` about the model."""
    for change in changes[:MAX_EVENTS]:
        emit_model_event(change.event, change.model_id, {**change.model_dump(exclude_none=True), "endpoint": endpoint})
    if len(changes) > MAX_EVENTS:
        log.warning("%d changes; emitted events for the first %d", len(changes), MAX_EVENTS)


class SnapshotSummary(BaseModel):
    """What a snapshot run produced."""

    location: str
    models: int
    failed: dict[str, str] = Field(default_factory=dict)
    not_visible: list[str] = Field(default_factory=list)
    changes: int = 0
    tags_moved: int = 0
    first_snapshot: bool = False
    scope: str = ""
    changes_by_kind: dict[str, int] = Field(default_factory=dict)
    compared_with: str = ""
