"""Issue 17, items 4 and 2 in one process: complete diffs. A model deleted and re-created with its tag on
another commit is reported as a moved tag (it is kept, with its last refs, while it is not listed); a
switch between private and internal is read from the model itself and reported. Each run writes to a
folder of its own, so what it compares with can only be the scope's baseline in the Prefect server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flows.snapshot.flow import SnapshotSummary, snapshot_revisions
from flows.snapshot.format import Snapshot
from tests.helpers.clients import make_block
from tests.helpers.hub import RunningHub
from tests.helpers.hub_http import HubWriter
from tests.helpers.prefect_api import events_settled, run_artifact, run_events
from tests.helpers.snapshots import forget_baselines

CONFIG = b"{}"


def run(hub: RunningHub, folder: Path) -> tuple[SnapshotSummary, Any, list[tuple[str, ...]]]:
    """One completed snapshot of alice into `folder`: summary, flow run id, and the table's rows."""
    state = snapshot_revisions(
        owners=["alice"], snapshot_dir=str(folder), max_concurrency=4, modelscope_credentials=make_block(hub),
        return_state=True,
    )  # fmt: skip
    assert state.is_completed(), state.message
    run_id = state.state_details.flow_run_id
    table = run_artifact(run_id, "modelscope-snapshot-diff")
    assert table is not None
    rows = [(r["change"], r["repo"], r["ref"], r["old"], r["new"]) for r in json.loads(str(table.data))]
    return state.result(), run_id, rows


def test_deleted_and_recreated_elsewhere_is_a_moved_tag_and_private_to_internal_is_reported(
    hub: RunningHub, prefect_harness: None, tmp_path: Path
) -> None:
    forget_baselines()
    alice = HubWriter(hub)
    alice.create("alice/audited")
    before = alice.commit("alice/audited", {"configuration.json": CONFIG})
    alice.tag("alice/audited", "v1")
    alice.create("alice/secret", visibility=1)
    alice.create("alice/open")
    first, _, rows = run(hub, tmp_path / "one")
    assert first.first_snapshot and rows == []
    hub.control.reset(state=False)

    # Deleted, and the other model goes from private to internal (the listing calls both "private").
    alice.delete("alice/audited")
    alice.update("alice/secret", Visibility=3)
    gone, _, rows = run(hub, tmp_path / "two")
    assert rows == [
        ("model.removed", "alice/audited", "", "", ""),
        ("visibility.changed", "alice/secret", "", "private", "internal"),
    ]
    assert hub.control.requests("get_model") == 1  # the exact visibility is read for non-public models only
    written = Snapshot.model_validate_json(Path(gone.location).read_text())
    assert set(written.models) == {"alice/secret", "alice/open"} and gone.models == 2
    assert written.gone["alice/audited"].tags["v1"].commit_id == before  # kept while it is not listed

    # Re-created, with the same tag on another commit: the tag moved, though the model was gone meanwhile.
    alice.create("alice/audited")
    after = alice.commit("alice/audited", {"configuration.json": b'{"v": 2}'})
    alice.tag("alice/audited", "v1")
    back, back_run, rows = run(hub, tmp_path / "three")
    assert (
        rows
        == [
            ("tag.moved", "alice/audited", "v1", before[:12], after[:12]),  # the table's ids: the first 12 digits
            ("branch.moved", "alice/audited", "master", before[:12], after[:12]),
            ("model.reappeared", "alice/audited", "", "", ""),
        ]
    )
    assert back.tags_moved == 1 and "kept in the Prefect server" in back.compared_with
    assert not Snapshot.model_validate_json(Path(back.location).read_text()).gone
    events_settled()
    assert sorted(e.event for e in run_events(back_run)) == [
        "modelscope.branch.moved", "modelscope.model.reappeared", "modelscope.tag.moved",
    ]  # fmt: skip
