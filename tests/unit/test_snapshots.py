"""The snapshot format, its scope, the diff between two snapshots, the memory of models that could not be
read, and the archive that writes them (flows/snapshot/), without a hub or a Prefect server."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from flows.snapshot.diff import ScopeMismatchError, diff
from flows.snapshot.format import (
    CHANGE_KINDS,
    SCHEMA_VERSION,
    Change,
    FileState,
    ModelState,
    RefState,
    Snapshot,
)
from flows.snapshot.history import carry_forward
from flows.snapshot.scope import Scope
from flows.snapshot.store import LEGACY_LATEST, SnapshotStore, SnapshotStoreError, pointer_name

T0 = datetime(2024, 5, 1, 3, 0, 0, 123456, tzinfo=timezone.utc)
A, B, C = "a" * 40, "b" * 40, "c" * 40


def refs(**commits: str) -> dict[str, RefState]:
    return {name: RefState(commit_id=commit) for name, commit in commits.items()}


def files(**sizes: int) -> dict[str, FileState]:
    """path (dots written as _) -> a file of that size whose sha256 is derived from the size."""
    return {path.replace("_", "."): FileState(size=size, sha256=f"{size:064x}") for path, size in sizes.items()}


def snap(
    models: dict[str, ModelState],
    taken_at: datetime = T0,
    owners: tuple[str, ...] = ("o",),
    endpoint: str = "http://hub",
) -> Snapshot:
    return Snapshot(taken_at=taken_at, endpoint=endpoint, owners=list(owners), models=models)


SCOPE = Scope.of("http://hub", ["o"])


def kinds(changes: list[Change]) -> list[tuple[str, str, str | None, str | None, str | None]]:
    return [(c.kind, c.repo_id, c.ref, c.old, c.new) for c in changes]


# -- the format ---------------------------------------------------------------------------------------------
def test_a_snapshot_round_trips_through_json_with_its_schema_version() -> None:
    """What is written is what is read back, and it says which format version it is."""
    state = ModelState(
        private=True, visibility=1, license="MIT", branches=refs(master=A), tags=refs(v1=A),
        files={"master": files(README_md=3)},
    )  # fmt: skip
    taken = snap({"o/m": state, "o/bad": ModelState(status="error", reason="HTTP 500")})
    data = json.loads(taken.model_dump_json())
    assert data["schema_version"] == SCHEMA_VERSION == 3
    assert Snapshot.model_validate_json(taken.model_dump_json()) == taken
    assert taken.failed == {"o/bad": "HTTP 500"}


def test_file_names_sort_by_time_whatever_the_time_zone() -> None:
    """`snapshot-<UTC time>.json`, to the microsecond: sorting the names sorts the snapshots by time."""
    assert snap({}).file_name() == f"snapshot-20240501T030000.123456Z-{SCOPE.key}.json"
    east = timezone(timedelta(hours=8))
    times = [
        datetime(2024, 5, 1, 10, 30, tzinfo=east),  # 02:30 UTC, though its local hour is the latest
        T0,
        T0 + timedelta(microseconds=1),
        datetime(2024, 5, 1, 4, 0, tzinfo=timezone.utc),
        datetime(2025, 1, 1, tzinfo=timezone.utc),
    ]
    names = [snap({}, taken_at=t).file_name() for t in times]
    assert sorted(names) == names and len(set(names)) == len(names)


# -- the diff -------------------------------------------------------------------------------------------------
def test_no_previous_snapshot_means_no_changes() -> None:
    assert diff(None, snap({"o/m": ModelState(branches=refs(master=A))})) == []


def test_models_added_removed_and_hidden() -> None:
    """A model only in the new snapshot is added, only in the old one removed; one gone between listing and
    reading is hidden (with the reason); one that could not be read is neither."""
    old = snap({"o/gone": ModelState(), "o/hid": ModelState(), "o/err": ModelState(branches=refs(master=A))})
    new = snap({
        "o/new": ModelState(),
        "o/hid": ModelState(status="not_visible", reason="404"),
        "o/err": ModelState(status="error", reason="HTTP 500"),
    })  # fmt: skip
    assert kinds(diff(old, new)) == [
        ("model.removed", "o/gone", None, None, None),
        ("model.hidden", "o/hid", None, None, "404"),
        ("model.added", "o/new", None, None, None),
    ]


def test_branches_and_tags_added_removed_and_moved_with_their_commits() -> None:
    """Each ref change carries the commit before and after; a moved tag is reported first."""
    old = snap({"o/m": ModelState(branches=refs(master=A, old=A, dev=A), tags=refs(v1=A, gone=B, same=A))})
    new = snap({"o/m": ModelState(branches=refs(master=A, dev=B, feat=C), tags=refs(v1=B, same=A, v2=C))})
    changes = diff(old, new)
    assert kinds(changes) == [
        ("tag.moved", "o/m", "v1", A, B),
        ("tag.removed", "o/m", "gone", B, None),
        ("branch.moved", "o/m", "dev", A, B),
        ("branch.removed", "o/m", "old", A, None),
        ("branch.added", "o/m", "feat", None, C),
        ("tag.added", "o/m", "v2", None, C),
    ]
    assert changes[0].event == "modelscope.tag.moved"


def test_changes_are_ordered_by_kind_then_model_then_ref() -> None:
    """Red flags first (moved tags, removed models, ...), additions last; ties by model id, then ref."""
    old = snap({
        "o/b": ModelState(tags=refs(v2=A, v1=A), license="MIT"),
        "o/a": ModelState(tags=refs(v1=A), branches=refs(master=A)),
        "o/z": ModelState(),
    })  # fmt: skip
    new = snap({
        "o/b": ModelState(tags=refs(v2=B, v1=B), license="Apache License 2.0"),
        "o/a": ModelState(tags=refs(v1=B), branches=refs(master=B)),
        "o/c": ModelState(),
    })  # fmt: skip
    assert [(c.kind, c.repo_id, c.ref) for c in diff(old, new)] == [
        ("tag.moved", "o/a", "v1"),
        ("tag.moved", "o/b", "v1"),
        ("tag.moved", "o/b", "v2"),
        ("model.removed", "o/z", None),
        ("branch.moved", "o/a", "master"),
        ("license.changed", "o/b", None),
        ("model.added", "o/c", None),
    ]
    assert CHANGE_KINDS[0] == "tag.moved" and CHANGE_KINDS[-4:] == (
        "model.added",
        "dataset.added",
        "branch.added",
        "tag.added",
    )


@pytest.mark.parametrize(
    ("before", "after", "old", "new"),
    [
        ({"visibility": 5, "private": False}, {"visibility": 1, "private": True}, "public", "private"),
        ({"visibility": 3, "private": True}, {"visibility": 5, "private": False}, "internal", "public"),
        ({"private": False}, {"private": True}, "public", "private"),  # the listing only says `private`
        ({"visibility": 7}, {"visibility": 1}, "7", "private"),  # an unknown code is shown as it is
    ],
)
def test_a_visibility_change_is_reported_by_name(
    before: dict[str, object], after: dict[str, object], old: str, new: str
) -> None:
    changes = diff(snap({"o/m": ModelState(**before)}), snap({"o/m": ModelState(**after)}))
    assert kinds(changes) == [("visibility.changed", "o/m", None, old, new)]


def test_a_license_change_is_reported_with_both_licenses() -> None:
    changes = diff(snap({"o/m": ModelState(license="MIT")}), snap({"o/m": ModelState(license="Apache License 2.0")}))
    assert kinds(changes) == [("license.changed", "o/m", None, "MIT", "Apache License 2.0")]


def test_file_changes_name_the_paths_per_branch() -> None:
    """Per branch present in both snapshots: added, removed and changed paths, sorted, at most five named.
    Unchanged files, a branch only on one side, and a snapshot without files report nothing."""
    many = {f"f{i}.txt": FileState(size=i, sha256=f"{i:064x}") for i in range(8)}
    old = snap({
        "o/m": ModelState(files={"master": files(a_txt=1, b_txt=2, c_txt=3), "dev": files(x=1), "gone": files(y=1)}),
        "o/big": ModelState(files={"master": {}}),
        "o/off": ModelState(files={"master": files(a_txt=1)}),
    })  # fmt: skip
    new = snap({
        "o/m": ModelState(files={"master": files(a_txt=1, b_txt=20, d_txt=4), "dev": files(x=1), "new": files(z=1)}),
        "o/big": ModelState(files={"master": many}),
        "o/off": ModelState(files=None),
    })  # fmt: skip
    assert kinds(diff(old, new)) == [
        ("files.changed", "o/big", "master", None, "f0.txt, f1.txt, f2.txt, f3.txt, f4.txt and 3 more"),
        ("files.changed", "o/m", "master", None, "b.txt, c.txt, d.txt"),
    ]


def test_an_exact_visibility_read_for_the_first_time_is_not_a_change() -> None:
    """A version 1 snapshot kept only the listing's `private` flag: reading the exact code (private or
    internal) later is not reported; a switch between private and internal, both read exactly, is."""
    flag_only = snap({"o/m": ModelState(private=True)})
    assert diff(flag_only, snap({"o/m": ModelState(private=True, visibility=3)})) == []
    private = snap({"o/m": ModelState(private=True, visibility=1)})
    internal = snap({"o/m": ModelState(private=True, visibility=3)}, taken_at=T0 + timedelta(days=1))
    assert kinds(diff(private, internal)) == [("visibility.changed", "o/m", None, "private", "internal")]


# -- the scope and what a snapshot remembers -------------------------------------------------------------------
def test_the_scope_is_the_endpoint_and_the_sorted_owners() -> None:
    """Owner order, repeats, a trailing slash and the host's case do not change a scope; another owner,
    another hub or another path does, and each scope has its own key."""
    same = [Scope.of("https://Hub.example/", ["b", "a", "a"]), Scope.of("https://hub.example", ("a", "b"))]
    assert same[0] == same[1] and same[0].key == same[1].key and same[0].owners == ("a", "b")
    others = [
        Scope.of("https://hub.example", ["a"]),
        Scope.of("https://other.example", ["a", "b"]),
        Scope.of("https://hub.example/api", ["a", "b"]),
        Scope.of("https://hub.example", ["A", "b"]),  # names on the hub are case-sensitive
    ]
    assert len({s.key for s in [same[0], *others]}) == 5
    assert snap({}, owners=("team", "alice")).scope == Scope.of("http://hub", ["alice", "team"])


def test_snapshots_of_different_scopes_are_never_compared() -> None:
    """Comparing alice's snapshot with bob's (or with another hub's) would report every model as removed
    and added: the diff refuses."""
    alice = snap({"alice/m": ModelState()}, owners=("alice",))
    for other in (snap({"bob/m": ModelState()}, owners=("bob",)), snap({}, owners=("alice",), endpoint="http://b")):
        with pytest.raises(ScopeMismatchError, match="cannot compare"):
            diff(alice, other)


def test_a_model_that_could_not_be_read_is_compared_with_its_last_read_refs() -> None:
    """An error entry keeps the refs last read (carried forward): the next good read reports what moved
    meanwhile; an error entry with nothing read before reports the refs as added."""
    last = ModelState(status="error", reason="HTTP 500", branches=refs(master=A), tags=refs(v1=A))
    never = ModelState(status="error", reason="HTTP 500")
    old = snap({"o/m": last, "o/new": never})
    new = snap({"o/m": ModelState(branches=refs(master=A), tags=refs(v1=B)), "o/new": ModelState(tags=refs(v1=C))})
    assert kinds(diff(old, new)) == [("tag.moved", "o/m", "v1", A, B), ("tag.added", "o/new", "v1", None, C)]
    assert diff(snap({"o/m": ModelState(tags=refs(v1=A))}), snap({"o/m": last})) == []  # no read, no change


def run(previous: Snapshot | None, states: dict[str, ModelState], hours: int) -> Snapshot:
    """The snapshot a run taking `hours` after T0 writes, from its reads and the previous snapshot."""
    taken = T0 + timedelta(hours=hours)
    models, gone = carry_forward(states, previous, taken, include_files=False)
    return Snapshot(taken_at=taken, endpoint="http://hub", owners=["o"], models=models, gone=gone)


def test_a_model_hidden_for_a_while_keeps_its_refs_and_its_moved_tag_is_reported_when_it_is_back() -> None:
    """Listed but not visible when read (made private to us, or deleted after the listing): the snapshot
    keeps its last refs; while it stays hidden nothing more is reported; when it can be read again, it is
    back, and the tag that moved meanwhile is reported against the refs it had."""
    first = run(None, {"o/m": ModelState(private=False, visibility=5, tags=refs(v1=A), branches=refs(master=A))}, 0)
    hidden = run(first, {"o/m": ModelState(status="not_visible", reason="404")}, 1)
    assert hidden.models["o/m"].tags == refs(v1=A) and hidden.models["o/m"].status == "not_visible"
    assert kinds(diff(first, hidden)) == [("model.hidden", "o/m", None, None, "404")]
    still = run(hidden, {"o/m": ModelState(status="not_visible", reason="404")}, 2)
    assert diff(hidden, still) == [] and still.models["o/m"].tags == refs(v1=A)
    back = run(still, {"o/m": ModelState(private=False, visibility=5, tags=refs(v1=B), branches=refs(master=B))}, 3)
    assert kinds(diff(still, back)) == [
        ("tag.moved", "o/m", "v1", A, B),
        ("branch.moved", "o/m", "master", A, B),
        ("model.reappeared", "o/m", None, None, None),
    ]


def test_a_model_deleted_and_recreated_with_its_tag_elsewhere_reports_a_moved_tag() -> None:
    """A model no longer listed is reported removed once and kept in `gone` with its last refs (and
    nothing is reported while it stays gone); re-created with the tag on another commit, it is back and
    the tag moved. The previous snapshot's `gone` models are remembered even by a run that lists none."""
    first = run(None, {"o/m": ModelState(tags=refs(v1=A)), "o/x": ModelState()}, 0)
    removed = run(first, {"o/x": ModelState()}, 1)
    assert set(removed.models) == {"o/x"} and removed.gone["o/m"].tags == refs(v1=A)
    assert removed.gone["o/m"].reason == f"not listed since {(T0 + timedelta(hours=1)).isoformat()}"
    assert kinds(diff(first, removed)) == [("model.removed", "o/m", None, None, None)]
    still = run(removed, {}, 2)
    assert kinds(diff(removed, still)) == [("model.removed", "o/x", None, None, None)]
    assert still.gone["o/m"].reason == removed.gone["o/m"].reason  # gone since the first time
    recreated = run(still, {"o/m": ModelState(tags=refs(v1=B))}, 3)
    assert kinds(diff(still, recreated)) == [
        ("tag.moved", "o/m", "v1", A, B),
        ("model.reappeared", "o/m", None, None, None),
    ]
    assert "o/m" not in recreated.gone and set(recreated.gone) == {"o/x"}


# -- the store ------------------------------------------------------------------------------------------------
def test_the_store_writes_each_snapshot_and_points_the_scope_at_its_newest(tmp_path: Path) -> None:
    """Each save writes a new file next to the scope's pointer, which names the snapshot saved last;
    `latest()` reads it back; an empty folder has no latest."""
    store = SnapshotStore(str(tmp_path / "snaps"))
    assert store.latest(SCOPE) is None  # the folder does not even exist yet
    first = snap({"o/m": ModelState(branches=refs(master=A))})
    second = snap({"o/m": ModelState(branches=refs(master=B))}, taken_at=T0 + timedelta(hours=1))
    assert store.save(first) == str(tmp_path / "snaps" / first.file_name())
    assert store.latest(SCOPE) == first
    store.save(second)
    assert store.latest(SCOPE) == second
    names = {p.name for p in (tmp_path / "snaps").iterdir()}
    assert names == {first.file_name(), second.file_name(), pointer_name(SCOPE)}
    pointer = json.loads((tmp_path / "snaps" / pointer_name(SCOPE)).read_text())
    assert pointer == {
        "name": second.file_name(), "taken_at": second.taken_at.isoformat(), "endpoint": "http://hub", "owners": ["o"],
        "repo_types": ["model"],
    }  # fmt: skip


def test_scopes_sharing_a_folder_each_find_their_own_latest(tmp_path: Path) -> None:
    """Two owners and two hubs in one folder: each scope's latest is its own, never the newest file."""
    store = SnapshotStore(str(tmp_path))
    alice = snap({"alice/m": ModelState()}, owners=("alice",))
    bob = snap({"bob/m": ModelState()}, taken_at=T0 + timedelta(hours=1), owners=("bob",))
    other_hub = snap({}, taken_at=T0 + timedelta(hours=2), owners=("alice",), endpoint="http://b")
    for taken in (alice, bob, other_hub):
        store.save(taken)
    assert store.latest(alice.scope) == alice and store.latest(bob.scope) == bob
    assert store.latest(other_hub.scope) == other_hub
    assert store.latest(Scope.of("http://hub", ["carol"])) is None


def test_a_version_1_folder_is_read_for_its_own_scope_only(tmp_path: Path) -> None:
    """A folder written before scopes had one `latest.json`: the first run after the upgrade compares with
    it when it is a snapshot of the same scope, and ignores it otherwise."""
    old = snap({"o/m": ModelState(tags=refs(v1=A))})
    (tmp_path / "snapshot-v1.json").write_text(old.model_dump_json())
    (tmp_path / LEGACY_LATEST).write_text(json.dumps({"name": "snapshot-v1.json"}))
    store = SnapshotStore(str(tmp_path))
    assert store.latest(SCOPE) == old
    assert store.latest(Scope.of("http://hub", ["bob"])) is None


@pytest.mark.parametrize("damage", ["pointer is a folder", "pointer is not JSON", "snapshot missing", "not a snapshot"])
def test_an_archive_that_cannot_be_read_fails_loudly(tmp_path: Path, damage: str) -> None:
    """Anything but "nothing there yet" raises: a run must never diff against nothing by accident."""
    store = SnapshotStore(str(tmp_path))
    taken = snap({"o/m": ModelState()})
    store.save(taken)
    pointer, written = tmp_path / pointer_name(SCOPE), tmp_path / taken.file_name()
    if damage == "pointer is a folder":
        pointer.unlink()
        pointer.mkdir()
    elif damage == "pointer is not JSON":
        pointer.write_text("{not json")
    elif damage == "snapshot missing":
        written.unlink()
    else:
        written.write_text('{"models": 3}')
    with pytest.raises(SnapshotStoreError):
        store.latest(SCOPE)


def test_a_failed_write_leaves_no_partial_file_and_the_previous_latest(tmp_path: Path) -> None:
    """The write goes to a temp file that is renamed into place: when the rename fails, the temp file is
    removed, no snapshot file appears, and the scope's pointer still names the previous snapshot."""
    folder = tmp_path / "snaps"
    store = SnapshotStore(str(folder))
    first = snap({"o/m": ModelState(branches=refs(master=A))})
    store.save(first)
    second = snap({"o/m": ModelState(branches=refs(master=B))}, taken_at=T0 + timedelta(minutes=1))
    (folder / second.file_name()).mkdir()  # something in the way: the rename onto it fails
    (folder / second.file_name() / "keep").write_text("")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(OSError):
        store.save(second)
    assert sorted(p.name for p in folder.iterdir()) == before  # no temp file left behind
    assert (folder / second.file_name()).is_dir()
    assert store.latest(SCOPE) == first


def test_a_local_folder_with_a_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    location = SnapshotStore("~/snaps").save(snap({}))
    assert location == str(tmp_path / "snaps" / snap({}).file_name())


# -- repo types -------------------------------------------------------------------------------------------------
BOTH = ["model", "dataset"]


def test_a_document_written_before_repo_types_is_a_models_only_snapshot_with_its_old_scope_key() -> None:
    """A version 2 document has no `repo_types` and no dataset sections: it loads as models only, and its
    scope has the key such snapshots were filed under (endpoint and owners only), so its pointer and its
    baseline are still found. A scope of models and datasets has a key of its own, and falls back on the
    models-only scope's snapshot when it has none."""
    v2 = {"schema_version": 2, "taken_at": T0.isoformat(), "endpoint": "http://hub", "owners": ["o"],
          "models": {"o/m": {"tags": {"v1": {"commit_id": A}}}}, "gone": {}}  # fmt: skip
    old = Snapshot.model_validate(v2)
    assert (old.repo_types, old.datasets, old.gone_datasets) == (["model"], {}, {})
    canonical = json.dumps({"endpoint": "http://hub", "owners": ["o"]}, separators=(",", ":"))
    assert old.scope == SCOPE and SCOPE.key == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    both = Scope.of("http://hub", ["o"], ["dataset", "model", "dataset"])
    assert both.repo_types == ("model", "dataset") and both.key != SCOPE.key
    assert both.baseline_scopes() == (both, SCOPE) and SCOPE.baseline_scopes() == (SCOPE,)
    datasets_only = Scope.of("http://hub", ["o"], ["dataset"])
    assert (
        datasets_only.baseline_scopes() == (datasets_only,) and datasets_only.label == "o @ http://hub, datasets only"
    )


def test_models_and_datasets_of_one_name_are_diffed_apart_and_only_in_the_types_both_snapshots_cover() -> None:
    """A model and a dataset may share a name: each is compared with its own kind. Against a models-only
    snapshot, a snapshot of both types reports its model changes and none of its datasets as added."""
    models_only = snap({"o/x": ModelState(tags=refs(v1=A))})
    both = Snapshot(
        taken_at=T0, endpoint="http://hub", owners=["o"], repo_types=BOTH,
        models={"o/x": ModelState(tags=refs(v1=B))}, datasets={"o/x": ModelState(tags=refs(v1=C))},
    )  # fmt: skip
    changes = diff(models_only, both)
    assert [(c.kind, c.repo_type, c.repo_id, c.ref) for c in changes] == [("tag.moved", "model", "o/x", "v1")]
    later = both.model_copy(
        update={"datasets": {"o/y": ModelState()}, "models": {"o/x": ModelState(tags=refs(v1=B))}, "taken_at": T0}
    )
    assert [(c.kind, c.repo_type, c.repo_id, c.event) for c in diff(both, later)] == [
        ("dataset.removed", "dataset", "o/x", "modelscope.dataset.removed"),
        ("dataset.added", "dataset", "o/y", "modelscope.dataset.added"),
    ]
    moved = diff(both, both.model_copy(update={"datasets": {"o/x": ModelState(tags=refs(v1=A))}}))
    assert [(c.kind, c.repo_type, c.old, c.new) for c in moved] == [("tag.moved", "dataset", C, A)]
    assert moved[0].label == "datasets/o/x" and moved[0].payload("http://hub")["dataset_id"] == "o/x"
    with pytest.raises(ScopeMismatchError):
        diff(both, both.model_copy(update={"owners": ["p"]}))


def test_each_repo_type_is_carried_forward_from_its_own_sections() -> None:
    """A dataset that is no longer listed goes to `gone_datasets` with its last refs; a model of the same
    name is untouched; a previous snapshot that covered no datasets carries none."""
    previous = Snapshot(
        taken_at=T0, endpoint="http://hub", owners=["o"], repo_types=BOTH,
        models={"o/x": ModelState(tags=refs(v1=A))}, datasets={"o/x": ModelState(tags=refs(v1=B))},
    )  # fmt: skip
    listed, gone = carry_forward({}, previous, T0 + timedelta(hours=1), False, "dataset")
    assert listed == {} and gone["o/x"].tags == refs(v1=B) and gone["o/x"].status == "not_visible"
    assert carry_forward({}, snap({"o/x": ModelState()}), T0, False, "dataset") == ({}, {})
    written = Snapshot.model_validate_json(previous.model_copy(update={"gone_datasets": gone}).model_dump_json())
    assert written.gone_datasets["o/x"].tags == refs(v1=B) and written.gone == {}
    assert written.not_visible == [] and written.scope.repo_types == ("model", "dataset")
