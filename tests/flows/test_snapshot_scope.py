"""Issue 17, items 1 and 5: a snapshot's scope is its endpoint plus its sorted owners. Snapshots of two
owners and of two hubs share one folder without seeing each other; a scope's first snapshot reports no
changes and says so (logs, summary, artifact description); a later one compares with the latest snapshot
of its own scope only, and its logs say how many models each owner has, where the snapshot went and what
changed, by kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flows.snapshot.flow import SnapshotSummary, snapshot_revisions
from flows.snapshot.scope import Scope
from flows.snapshot.store import pointer_name
from hub_tasks.repo_types import REPO_TYPES
from local_hub import LocalHub
from tests.helpers.clients import make_block
from tests.helpers.hub import TOKENS, RunningHub
from tests.helpers.hub_http import HubWriter
from tests.helpers.prefect_api import run_artifact, run_logs
from tests.helpers.snapshots import forget_baselines

CONFIG = b"{}"


def run(hub: Any, owners: list[str], folder: Path) -> tuple[SnapshotSummary, Any]:
    """One completed snapshot run of `owners` on `hub` into `folder`: its summary and flow run id."""
    state = snapshot_revisions(
        owners=owners, snapshot_dir=str(folder), max_concurrency=4, modelscope_credentials=make_block(hub),
        return_state=True,
    )  # fmt: skip
    assert state.is_completed(), state.message
    return state.result(), state.state_details.flow_run_id


def test_two_owners_and_two_hubs_share_a_folder_and_each_compares_with_its_own_scope(
    hub: RunningHub, prefect_harness: None, tmp_path: Path
) -> None:
    folder = tmp_path / "shared"
    forget_baselines()
    alice, bob = HubWriter(hub), HubWriter(hub, "bob")
    alice.create("alice/audited")
    before = alice.commit("alice/audited", {"configuration.json": CONFIG})
    alice.tag("alice/audited", "v1")
    alice.create("alice/other")
    bob.create("bob/own")

    first, first_run = run(hub, ["alice"], folder)
    assert (first.first_snapshot, first.changes, first.models) == (True, 0, 2)
    logs = run_logs("Changes since the previous snapshot", flow_run_id=first_run)
    assert any("Comparing with nothing: this is the first snapshot of this scope" in line for line in logs)
    assert any(line == "Listed 2 models: alice 2" for line in logs)
    assert any(line == f"Snapshot of alice @ {hub.url} written to {first.location}" for line in logs)
    report = run_artifact(first_run, "modelscope-snapshot")
    assert report is not None
    assert report.description == f"Snapshot of alice @ {hub.url}: 2 models, 0 datasets, first snapshot of this scope"
    assert "First snapshot of this scope: nothing to compare with, no changes reported." in str(report.data)

    # The Prefect server forgets its baselines (say, a new server): each scope falls back to the shared
    # archive, where bob's and the other hub's scopes find nothing of theirs: first snapshots, no
    # "removed" for alice's models.
    forget_baselines()
    second_bob, _ = run(hub, ["bob"], folder)
    assert (second_bob.first_snapshot, second_bob.changes, second_bob.models) == (True, 0, 1)
    with LocalHub(users={"alice": TOKENS["alice"]}) as other:
        elsewhere = SimpleNamespace(url=other.url, tokens=hub.tokens, control=other.control)
        HubWriter(elsewhere).create("alice/elsewhere")
        other_hub, _ = run(elsewhere, ["alice"], folder)
    assert (other_hub.first_snapshot, other_hub.changes, other_hub.models) == (True, 0, 1)

    # alice's tag moves; her next snapshot compares with her own (the archive's, older than the two
    # others), and reports exactly what moved.
    alice.delete("alice/audited")
    alice.create("alice/audited")
    after = alice.commit("alice/audited", {"configuration.json": b'{"v": 2}'})
    alice.tag("alice/audited", "v1")
    again, again_run = run(hub, ["alice"], folder)
    assert not again.first_snapshot and again.changes_by_kind == {"tag.moved": 1, "branch.moved": 1}
    assert again.compared_with.startswith("the snapshot taken") and "read from the archive" in again.compared_with
    table = run_artifact(again_run, "modelscope-snapshot-diff")
    assert table is not None
    assert (
        [(r["change"], r["repo"], r["old"], r["new"]) for r in json.loads(str(table.data))]
        == [
            ("tag.moved", "alice/audited", before[:12], after[:12]),  # the table's ids: the first 12 digits
            ("branch.moved", "alice/audited", before[:12], after[:12]),
        ]
    )
    logs = run_logs("tag(s) moved", flow_run_id=again_run)
    assert "Changes since the previous snapshot: 2 changes: tag.moved 1, branch.moved 1" in logs
    assert any(line.startswith("1 tag(s) moved: alice/audited@v1") for line in logs)
    report = run_artifact(again_run, "modelscope-snapshot")
    assert report is not None
    assert report.description == (
        f"Snapshot of alice @ {hub.url}: 2 models, 0 datasets, 2 changes: tag.moved 1, branch.moved 1"
    )

    # One pointer per scope in the shared folder, and four snapshots.
    scopes = [
        Scope.of(url, [owner], REPO_TYPES)
        for url, owner in ((hub.url, "alice"), (hub.url, "bob"), (other.url, "alice"))
    ]
    names = sorted(p.name for p in folder.iterdir())
    assert [n for n in names if n.startswith("latest-")] == sorted(pointer_name(s) for s in scopes)
    assert len([n for n in names if n.startswith("snapshot-")]) == 4
