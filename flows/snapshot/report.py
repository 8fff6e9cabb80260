"""What a snapshot run tells people: its log lines, the markdown summary, the table of changes (with each
repo's type), and one event per change. Pure text from the snapshot and its changes, except `emit_changes`."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from pydantic import BaseModel, Field

from flows.events import emit_repo_event
from flows.snapshot.format import Change, Snapshot, count_by_kind
from flows.snapshot.scope import PLURAL
from hub_tasks.repo_types import RepoType

MAX_EVENTS = 500
MAX_TABLE_ROWS = 1000


class Baseline(BaseModel):
    """What a run compared with: where it came from (`server`, `archive` or `none`), when it was taken, and
    the repo types of this run it did not list (a models-only snapshot, written before datasets were
    snapshotted: those types start with this run, none of their repos is reported as added)."""

    source: str = "none"
    taken_at: datetime | None = None
    where: str = ""
    uncovered: list[RepoType] = Field(default_factory=list)

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
        text = f"the snapshot taken {self.taken_at.isoformat()} ({origin}: {self.where})"
        if self.uncovered:
            new = " and ".join(PLURAL[t] for t in self.uncovered)
            text += f", which lists no {new}: they are compared from the next snapshot on"
        return text


def per_owner(snapshot: Snapshot, repo_type: RepoType = "model") -> dict[str, int]:
    """How many listed repos of `repo_type` each owner has (every owner named, even with none).

    Example:
        >>> from datetime import timezone
        >>> s = Snapshot(taken_at=datetime.now(timezone.utc), endpoint="e", owners=["a", "b"], models={"a/m": {}})
        >>> per_owner(s)
        {'a': 1, 'b': 0}
    """
    counts = Counter(repo_id.split("/", 1)[0] for repo_id in snapshot.listed(repo_type))
    return {owner: counts.get(owner, 0) for owner in snapshot.owners}


def repo_counts(snapshot: Snapshot) -> str:
    """ "2 models" or "2 models, 1 dataset": how many repos of each type of the scope were listed.

    Example:
        >>> from datetime import timezone
        >>> now = datetime.now(timezone.utc)
        >>> repo_counts(Snapshot(taken_at=now, endpoint="e", owners=["a"], repo_types=["model", "dataset"]))
        '0 models, 0 datasets'
    """
    return ", ".join(f"{len(snapshot.listed(t))} {PLURAL[t]}" for t in snapshot.repo_types)


def read_counts(snapshot: Snapshot) -> str:
    """ "N models: a read, b not visible, c failed", the same for datasets when the scope lists them (plus
    the repos no longer listed, when any)."""
    parts, gone = [], 0
    for repo_type in snapshot.repo_types:
        states = [s.status for s in snapshot.listed(repo_type).values()]
        parts.append(
            f"{len(states)} {PLURAL[repo_type]}: {states.count('ok')} read, {states.count('not_visible')} not "
            f"visible, {states.count('error')} failed"
        )
        gone += len(snapshot.gone_of(repo_type))
    return "; ".join(parts) + (f"; {gone} no longer listed (kept with their last refs)" if gone else "")


def changes_line(changes: list[Change]) -> str:
    """ "3 changes: tag.moved 1, branch.moved 2" or "no changes".

    Example:
        >>> changes_line([]), changes_line([Change(kind="tag.moved", repo_id="o/m")])
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
            "%d tag(s) moved: %s", len(moved), ", ".join(f"{c.label}@{c.ref} {c.old} -> {c.new}" for c in moved[:20])
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
    """The rows of the changes table: the change, the repo's type and id, the ref, the old and the new value
    (at most `MAX_TABLE_ROWS`, then a row saying how many more).

    Example:
        >>> table([Change(kind="tag.moved", repo_type="dataset", repo_id="o/d", ref="v1", old="a", new="b")])
        [{'change': 'tag.moved', 'type': 'dataset', 'repo': 'o/d', 'ref': 'v1', 'old': 'a', 'new': 'b'}]
    """
    rows = [
        {
            "change": c.kind,
            "type": c.repo_type,
            "repo": c.repo_id,
            "ref": c.ref or "",
            "old": short(c.old),
            "new": short(c.new),
        }
        for c in changes[:MAX_TABLE_ROWS]
    ]
    if len(changes) > MAX_TABLE_ROWS:
        more = f"{len(changes) - MAX_TABLE_ROWS} more"
        rows.append({"change": "...", "type": "", "repo": more, "ref": "", "old": "", "new": ""})
    return rows


def summary(snapshot: Snapshot, location: str, changes: list[Change], baseline: Baseline) -> str:
    """The markdown summary artifact."""
    lines = [
        f"# Snapshot of {', '.join(snapshot.owners)}",
        "",
        f"- taken at {snapshot.taken_at.isoformat()} from {snapshot.endpoint}",
        f"- stored at `{location}`",
        f"- {read_counts(snapshot)}",
        *[
            f"- {PLURAL[t]} per owner: {', '.join(f'{owner} {n}' for owner, n in per_owner(snapshot, t).items())}"
            for t in snapshot.repo_types
        ],
        f"- compared with {baseline.describe()}",
        "",
    ]
    if not any(snapshot.entries()):
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
    """What a snapshot that found no repo says (in the log as a warning, the summary and the run's state).

    Example:
        >>> from datetime import timezone
        >>> empty = Snapshot(taken_at=datetime.now(timezone.utc), endpoint="https://hub", owners=["bob"])
        >>> print(no_models_warning(empty))
        No models found for bob at https://hub: check the owner names, and that the credentials' user can see them.
        >>> print(no_models_warning(empty.model_copy(update={"repo_types": ["model", "dataset"]})).split(":")[0])
        No models or datasets found for bob at https
    """
    what = " or ".join(PLURAL[t] for t in snapshot.repo_types)
    return (
        f"No {what} found for {', '.join(snapshot.owners)} at {snapshot.endpoint}: check the owner names, and that "
        "the credentials' user can see them."
    )


def summary_description(snapshot: Snapshot, changes: list[Change], baseline: Baseline) -> str:
    """The markdown artifact's one-line description.

    Example:
        >>> from datetime import timezone
        >>> s = Snapshot(taken_at=datetime.now(timezone.utc), endpoint="https://hub", owners=["alice"])
        >>> summary_description(s, [], Baseline())
        'Snapshot of alice @ https://hub, models only: 0 models, first snapshot of this scope'
    """
    what = "first snapshot of this scope" if baseline.first else changes_line(changes)
    return f"Snapshot of {snapshot.scope.label}: {repo_counts(snapshot)}, {what}"


def emit_changes(changes: list[Change], endpoint: str, log: logging.Logger | logging.LoggerAdapter) -> None:
    """One event per change (the first `MAX_EVENTS`) about its repo (`flows/events.py`): e.g.
    `modelscope.tag.moved` about `modelscope.model.alice/demo` or `modelscope.dataset.alice/corpus`."""
    for change in changes[:MAX_EVENTS]:
        emit_repo_event(change.event, change.repo_type, change.repo_id, change.payload(endpoint))
    if len(changes) > MAX_EVENTS:
        log.warning("%d changes; emitted events for the first %d", len(changes), MAX_EVENTS)


class SnapshotSummary(BaseModel):
    """What a snapshot run produced. `failed` and `not_visible` name repos by `repo_label` (a model by its
    id, a dataset as `datasets/<id>`); `tags_moved` counts the tags of both."""

    location: str
    models: int
    datasets: int = 0
    repo_types: list[RepoType] = Field(default_factory=lambda: ["model"])
    failed: dict[str, str] = Field(default_factory=dict)
    not_visible: list[str] = Field(default_factory=list)
    changes: int = 0
    tags_moved: int = 0
    first_snapshot: bool = False
    scope: str = ""
    changes_by_kind: dict[str, int] = Field(default_factory=dict)
    compared_with: str = ""
