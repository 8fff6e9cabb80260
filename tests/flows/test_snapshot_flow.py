"""The `snapshot_revisions` flow against local_hub and the Prefect test server: two owners listed across
several pages, every ref with its commit id, files on and off, the diff after changes on the hub (new model,
deleted model, moved branch, moved tag, visibility flip) with its artifacts and one event per change, a
partial failure (the run ends Failed after writing the snapshot), and the atomic snapshot folder."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prefect.exceptions import ParameterTypeError
from prefect.states import State
from prefect.utilities.callables import parameter_schema

from flows.snapshot.flow import Runner, SnapshotSummary, snapshot_revisions
from flows.snapshot.form import field_descriptions
from flows.snapshot.format import Snapshot
from flows.snapshot.scope import Scope
from flows.snapshot.store import pointer_name
from hub_tasks import HubSettings, ModelScopeCredentials
from hub_tasks.repo_types import REPO_TYPES
from tests.helpers.clients import make_block
from tests.helpers.hub import RunningHub
from tests.helpers.hub_http import HubWriter
from tests.helpers.prefect_api import events_settled, run_artifact, run_events, run_logs
from tests.helpers.snapshots import forget_baselines

BULK = 101  # alice's empty models: with her 2 others, 103 models, listed 100 per page (2 pages)
README = b"# rich\n"
CONFIG = b"{}"


@pytest.fixture
def first_snapshots(prefect_harness: None) -> None:
    """Every scope starts without a baseline in the session's Prefect server (earlier tests leave theirs)."""
    forget_baselines()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(
    block: ModelScopeCredentials, folder: Path, owners: list[str], include_files: bool = True
) -> tuple[State, Any]:
    """Run the flow; returns its final state and the flow run id."""
    state = snapshot_revisions(
        owners=owners, include_files=include_files, snapshot_dir=str(folder), max_concurrency=4,
        modelscope_credentials=block, return_state=True,
    )  # fmt: skip
    return state, state.state_details.flow_run_id


def written(summary: SnapshotSummary) -> Snapshot:
    return Snapshot.model_validate_json(Path(summary.location).read_text())


def folder_contents(folder: Path) -> list[str]:
    """Every entry of the snapshot folder, hidden temp files included."""
    return sorted(p.name for p in folder.iterdir())


def test_two_owners_across_pages_with_commit_ids_and_files_on_and_off(
    hub: RunningHub, first_snapshots: None, tmp_path: Path
) -> None:
    """Every model of both owners is recorded, past the first listing page, with each branch and tag and the
    commit it points at; with files on, each branch head's files (size, sha256); with files off, none, and
    switching files off is not reported as a change."""
    alice, snapshots = HubWriter(hub), tmp_path / "snapshots"
    bulk = [f"alice/bulk-{i:03d}" for i in range(BULK)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(alice.create, bulk))
    alice.create("alice/rich", visibility=1, license="MIT")
    first = alice.commit("alice/rich", {"README.md": README, "configuration.json": CONFIG})
    assert alice.tag("alice/rich", "v1") == first
    alice.branch("alice/rich", "dev")
    dev = alice.commit("alice/rich", {"dev.txt": b"dev"}, branch="dev")
    master = alice.commit("alice/rich", {"README.md": b"# rich v2\n"})
    alice.create("alice/empty")
    alice.create("team/shared")  # alice is a member of the group team
    shared = alice.commit("team/shared", {"configuration.json": CONFIG})
    alice.tag("team/shared", "release")
    alice.create("team/hollow")
    hub.control.reset(state=False)  # count only the snapshot's requests

    block = make_block(hub)
    state, run = snapshot(block, snapshots, ["alice", "team"], include_files=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert (summary.models, summary.failed, summary.not_visible, summary.changes) == (BULK + 4, {}, [], 0)
    assert hub.control.requests("list_models") == 3  # alice's 103 models on 2 pages, team's 2 on 1

    taken = written(summary)
    assert set(taken.models) == {*bulk, "alice/rich", "alice/empty", "team/shared", "team/hollow"}
    assert (taken.owners, taken.include_files, taken.endpoint) == (["alice", "team"], True, hub.url)
    rich = taken.models["alice/rich"]
    assert rich.status == "ok" and (rich.private, rich.license) == (True, "MIT")
    assert {name: ref.commit_id for name, ref in rich.branches.items()} == {"master": master, "dev": dev}
    assert {name: ref.commit_id for name, ref in rich.tags.items()} == {"v1": first}
    assert all(ref.created_at is not None for ref in [*rich.branches.values(), *rich.tags.values()])
    assert rich.files is not None
    assert {path: (f.size, f.sha256) for path, f in rich.files["master"].items()} == {
        "README.md": (10, sha(b"# rich v2\n")),
        "configuration.json": (2, sha(CONFIG)),
    }
    assert set(rich.files["dev"]) == {"README.md", "configuration.json", "dev.txt"}
    assert rich.files["dev"]["README.md"].sha256 == sha(README)
    team = taken.models["team/shared"]
    assert team.private is False
    assert {n: r.commit_id for n, r in team.branches.items()} == {"master": shared}
    assert {n: r.commit_id for n, r in team.tags.items()} == {"release": shared}
    for empty in ("alice/empty", "team/hollow", bulk[0], bulk[-1]):
        state_of = taken.models[empty]
        assert (state_of.status, state_of.branches, state_of.tags, state_of.files) == ("ok", {}, {}, {})
    report = run_artifact(run, "modelscope-snapshot")
    assert report is not None
    assert f"{BULK + 4} models: {BULK + 4} read, 0 not visible, 0 failed" in str(report.data)
    assert "compared with nothing: this is the first snapshot of this scope" in str(report.data)
    assert summary.first_snapshot and summary.scope == f"alice, team @ {hub.url}"

    # Files off: the same refs, no files, and no change reported for the missing file lists.
    state, _ = snapshot(block, snapshots, ["alice", "team"], include_files=False)
    assert state.is_completed(), state.message
    second = state.result()
    assert second.changes == 0 and second.models == BULK + 4
    without = written(second)
    assert not without.include_files and all(m.files is None for m in without.models.values())
    assert without.models["alice/rich"].branches == rich.branches and without.models["alice/rich"].tags == rich.tags

    # Two snapshots, named to sort by time, the pointer on the newer one, and no temp file left behind.
    names = [Path(summary.location).name, Path(second.location).name]
    assert names == sorted(names) and names[0] != names[1]
    latest = pointer_name(Scope.of(hub.url, ["alice", "team"], REPO_TYPES))
    assert folder_contents(snapshots) == sorted([*names, latest])
    assert json.loads((snapshots / latest).read_text())["name"] == names[1]


def test_the_diff_after_changes_on_the_hub_is_reported_in_artifacts_and_one_event_per_change(
    hub: RunningHub, first_snapshots: None, tmp_path: Path
) -> None:
    """A new model, a deleted model, a moved branch (with its files), a moved tag and a visibility flip are
    each reported once, moved tags first, in the table artifact, in the summary, and as an event."""
    alice, snapshots = HubWriter(hub), tmp_path / "snapshots"
    alice.create("alice/stable")
    base = alice.commit("alice/stable", {"configuration.json": CONFIG})
    alice.branch("alice/stable", "dev")
    alice.create("alice/doomed")
    alice.create("alice/flip")
    alice.create("team/tagged")
    tagged = alice.commit("team/tagged", {"configuration.json": CONFIG})
    alice.tag("team/tagged", "v1")
    block = make_block(hub)
    state, first_run = snapshot(block, snapshots, ["alice", "team"])
    assert state.is_completed(), state.message
    previous = written(state.result())

    alice.create("alice/fresh")
    alice.delete("alice/doomed")
    dev = alice.commit("alice/stable", {"notes.txt": b"moved"}, branch="dev")
    alice.update("alice/flip", Visibility=1)
    # A tag moves when its repo is deleted and re-created with the same tag on another commit.
    alice.delete("team/tagged")
    alice.create("team/tagged")
    retagged = alice.commit("team/tagged", {"configuration.json": CONFIG})
    assert alice.tag("team/tagged", "v1") == retagged != tagged

    state, run = snapshot(block, snapshots, ["alice", "team"])
    assert state.is_completed(), state.message
    summary = state.result()
    expected = [  # (change, model, ref, old, new), in report order: red flags first
        ("tag.moved", "team/tagged", "v1", tagged, retagged),
        ("model.removed", "alice/doomed", "", "", ""),
        ("branch.moved", "alice/stable", "dev", base, dev),
        ("branch.moved", "team/tagged", "master", tagged, retagged),
        ("visibility.changed", "alice/flip", "", "public", "private"),
        ("files.changed", "alice/stable", "dev", "", "notes.txt"),
        ("model.added", "alice/fresh", "", "", ""),
    ]
    assert (summary.changes, summary.tags_moved, summary.models, summary.failed) == (7, 1, 4, {})

    table = run_artifact(run, "modelscope-snapshot-diff")
    assert table is not None and table.type == "table"
    rows = json.loads(str(table.data))
    # The table shows a commit id's first 12 digits (a whole one is wider than the UI's column); events keep it.
    shown = [(c, m, r, o[:12] if len(o) == 40 else o, n[:12] if len(n) == 40 else n) for c, m, r, o, n in expected]
    assert [(r["change"], r["repo"], r["ref"], r["old"], r["new"]) for r in rows] == shown
    assert {r["type"] for r in rows} == {"model"}
    report = run_artifact(run, "modelscope-snapshot")
    assert report is not None
    text = str(report.data)
    assert "**1 tag(s) moved**" in text and "- tag.moved: 1" in text and "- branch.moved: 2" in text
    assert f"stored at `{summary.location}`" in text and previous.taken_at.isoformat() in text

    events_settled()
    events = run_events(run)
    assert sorted(
        (e.event, e.resource.id, e.payload.get("ref", ""), e.payload.get("old", ""), e.payload.get("new", ""))
        for e in events
    ) == sorted(
        (f"modelscope.{kind}", f"modelscope.model.{model}", ref, old, new) for kind, model, ref, old, new in expected
    )
    for event in events:
        model = event.resource.id.removeprefix("modelscope.model.")
        assert event.resource.get("prefect.resource.name") == model
        assert event.payload["kind"] == event.event.removeprefix("modelscope.")
        assert (event.payload["model_id"], event.payload["endpoint"]) == (model, hub.url)
    assert run_events(first_run) == []  # the first snapshot has nothing to compare with


@pytest.mark.usefixtures("fast_backoff", "no_retry_delay")
def test_a_model_that_cannot_be_read_fails_the_run_after_the_snapshot_is_written(
    hub: RunningHub, first_snapshots: None, tmp_path: Path
) -> None:
    """One model whose reads keep failing: it is retried in its own task, then recorded as an error with
    the reason; every other model is read, the snapshot is written and diffed, and the run ends Failed
    naming the model. A listing that fails writes nothing. A tag moved while a model could not be read is
    still reported once it can be read again."""
    alice, snapshots = HubWriter(hub), tmp_path / "snapshots"
    for model_id in ("alice/good", "alice/broken"):
        alice.create(model_id)
        alice.commit(model_id, {"configuration.json": CONFIG})
    before = alice.tag("alice/broken", "v1")
    block = make_block(hub)
    state, _ = snapshot(block, snapshots, ["alice"])
    assert state.is_completed(), state.message

    # The tag moves (the repo is re-created), and every read of the model's refs fails for a while.
    alice.delete("alice/broken")
    alice.create("alice/broken")
    alice.commit("alice/broken", {"configuration.json": CONFIG})
    after = alice.tag("alice/broken", "v1")
    rules = [{"route": "revisions", "path": "/alice/broken/revisions$", "effect": "status", "status": 500}]
    hub.control.set_faults(rules, seed=1)
    try:
        state, run = snapshot(block, snapshots, ["alice"])
        fired = hub.control.faults()[0]["fired"]
    finally:
        hub.control.clear_faults()
    assert state.is_failed()
    assert state.message.startswith("1 model(s) could not be read: alice/broken (")
    summary = state.result(raise_on_failure=False)
    assert isinstance(summary, SnapshotSummary) and list(summary.failed) == ["alice/broken"]
    assert f"snapshot written to {summary.location}" in state.message
    assert fired > HubSettings().retry_attempts  # the batch's attempts, then its own retrying task's
    taken = written(summary)
    assert taken.models["alice/good"].status == "ok"
    broken = taken.models["alice/broken"]
    assert broken.status == "error" and "500" in broken.reason
    assert broken.tags["v1"].commit_id == before  # the refs last read, to diff the next good read against
    latest = snapshots / pointer_name(Scope.of(hub.url, ["alice"], REPO_TYPES))
    assert json.loads(latest.read_text())["name"] == Path(summary.location).name
    assert summary.changes == 0  # a model that could not be read is neither removed nor changed
    report = run_artifact(run, "modelscope-snapshot")
    assert report is not None
    assert "## Could not read" in str(report.data) and "- `alice/broken`: " in str(report.data)
    assert "2 models: 1 read, 0 not visible, 1 failed" in str(report.data)

    # A listing that fails after retries: the run fails before writing anything.
    kept = folder_contents(snapshots)
    hub.control.set_faults([{"route": "list_models", "effect": "status", "status": 503}], seed=1)
    try:
        state, _ = snapshot(block, snapshots, ["alice"])
    finally:
        hub.control.clear_faults()
    assert state.is_failed() and folder_contents(snapshots) == kept

    # Readable again: the tag that moved while the model could not be read is reported.
    state, run = snapshot(block, snapshots, ["alice"])
    assert state.is_completed(), state.message
    assert state.result().tags_moved == 1
    table = run_artifact(run, "modelscope-snapshot-diff")
    assert table is not None
    assert json.loads(str(table.data))[0] == {
        "change": "tag.moved", "type": "model", "repo": "alice/broken", "ref": "v1", "old": before[:12],
        "new": after[:12],
    }  # fmt: skip
    assert len(folder_contents(snapshots)) == len(kept) + 1 and not any(n.startswith(".") for n in kept)


def test_a_snapshot_that_finds_no_model_says_so_as_a_warning(
    hub: RunningHub, first_snapshots: None, tmp_path: Path
) -> None:
    """An owner with no models (a typo, or a token that cannot see them) completes, and says so: in the run's
    state, as a warning in its log, and in the summary artifact."""
    state, run = snapshot(make_block(hub), tmp_path / "snapshots", ["nobody-here"])
    assert state.is_completed()
    expected = (
        f"No models or datasets found for nobody-here at {hub.url}: check the owner names, and that the "
        "credentials' user can see them."
    )
    assert state.message == expected
    assert expected in run_logs("No models or datasets found", flow_run_id=run)
    report = run_artifact(run, "modelscope-snapshot")
    assert report is not None and expected in str(report.data)


def test_parameters_render_a_json_schema_with_descriptions_and_are_validated() -> None:
    """The UI form: every parameter's own description, bounds and the runner enum; bad values are refused."""
    schema = parameter_schema(snapshot_revisions).model_dump_for_openapi()
    assert schema["required"] == ["owners"]
    # The form's help text is each parameter's rich `Field` description, not the docstring's short words.
    rich = field_descriptions(snapshot_revisions.fn)
    assert {name: prop.get("description") for name, prop in schema["properties"].items()} == rich
    assert set(rich) == set(schema["properties"])
    assert "slug/name (e.g. s3-bucket/snapshots)" in schema["properties"]["filesystem_block"]["description"]
    # Every parameter is labelled for people (Prefect's default label is the raw name); units are words.
    titles = {name: prop["title"] for name, prop in schema["properties"].items()}
    assert titles == {
        "owners": "Owners",
        "repo_types": "Repo types",
        "include_files": "Include files",
        "snapshot_dir": "Snapshot folder",
        "filesystem_block": "File system block",
        "max_concurrency": "Requests in flight",
        "task_runner": "Task runner",
        "modelscope_credentials": "ModelScope credentials",
    }
    # The file system block is plain text that starts empty (no "str | None" toggle in the form); None from a
    # Python caller still means the local folder, and is read as "".
    block = schema["properties"]["filesystem_block"]
    assert (block["type"], block["default"], "anyOf" in block) == ("string", "", False)
    assert snapshot_revisions.validate_parameters({"owners": ["a"], "filesystem_block": None})["filesystem_block"] == ""
    assert schema["properties"]["owners"]["minItems"] == 1
    types = schema["properties"]["repo_types"]
    assert (types["default"], types["minItems"], types["items"]["enum"]) == (
        ["model", "dataset"],
        1,
        ["model", "dataset"],
    )
    concurrency = schema["properties"]["max_concurrency"]
    assert (concurrency["minimum"], concurrency["maximum"], concurrency["default"]) == (1, 64, 32)
    assert schema["definitions"]["Runner"]["enum"] == ["thread", "dask"]
    typed = snapshot_revisions.validate_parameters({"owners": ["alice"], "task_runner": "dask"})
    assert typed["task_runner"] is Runner.dask
    # Newer Prefect releases fill in the defaults here; the floor (3.4.10) leaves them to the call.
    assert typed.get("include_files", False) is False
    for bad in ({"owners": ["alice"], "max_concurrency": 65}, {"owners": ["alice"], "task_runner": "process"}):
        with pytest.raises(ParameterTypeError):
            snapshot_revisions.validate_parameters(bad)
