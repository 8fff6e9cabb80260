"""The snapshot format, the diff between two snapshots, and the store that writes them (flows/snapshots.py),
without a hub or a Prefect server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from flows.snapshot.diff import diff
from flows.snapshot.format import (
    CHANGE_KINDS,
    LATEST,
    SCHEMA_VERSION,
    Change,
    FileState,
    ModelState,
    RefState,
    Snapshot,
)
from flows.snapshot.store import SnapshotStore

T0 = datetime(2024, 5, 1, 3, 0, 0, 123456, tzinfo=timezone.utc)
A, B, C = "a" * 40, "b" * 40, "c" * 40


def refs(**commits: str) -> dict[str, RefState]:
    return {name: RefState(commit_id=commit) for name, commit in commits.items()}


def files(**sizes: int) -> dict[str, FileState]:
    """path (dots written as _) -> a file of that size whose sha256 is derived from the size."""
    return {path.replace("_", "."): FileState(size=size, sha256=f"{size:064x}") for path, size in sizes.items()}


def snap(models: dict[str, ModelState], taken_at: datetime = T0) -> Snapshot:
    return Snapshot(taken_at=taken_at, endpoint="http://hub", owners=["o"], models=models)


def kinds(changes: list[Change]) -> list[tuple[str, str, str | None, str | None, str | None]]:
    return [(c.kind, c.model_id, c.ref, c.old, c.new) for c in changes]


# -- the format ---------------------------------------------------------------------------------------------
def test_a_snapshot_round_trips_through_json_with_its_schema_version() -> None:
    """What is written is what is read back, and it says which format version it is."""
    state = ModelState(
        private=True, visibility=1, license="MIT", branches=refs(master=A), tags=refs(v1=A),
        files={"master": files(README_md=3)},
    )  # fmt: skip
    taken = snap({"o/m": state, "o/bad": ModelState(status="error", reason="HTTP 500")})
    data = json.loads(taken.model_dump_json())
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert Snapshot.model_validate_json(taken.model_dump_json()) == taken
    assert taken.failed == {"o/bad": "HTTP 500"}


def test_file_names_sort_by_time_whatever_the_time_zone() -> None:
    """`snapshot-<UTC time>.json`, to the microsecond: sorting the names sorts the snapshots by time."""
    assert snap({}).file_name() == "snapshot-20240501T030000.123456Z.json"
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
    assert [(c.kind, c.model_id, c.ref) for c in diff(old, new)] == [
        ("tag.moved", "o/a", "v1"),
        ("tag.moved", "o/b", "v1"),
        ("tag.moved", "o/b", "v2"),
        ("model.removed", "o/z", None),
        ("branch.moved", "o/a", "master"),
        ("license.changed", "o/b", None),
        ("model.added", "o/c", None),
    ]
    assert CHANGE_KINDS[0] == "tag.moved" and CHANGE_KINDS[-3:] == ("model.added", "branch.added", "tag.added")


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


def test_a_model_that_could_not_be_read_is_compared_with_its_last_read_refs() -> None:
    """An error entry keeps the refs last read (the flow copies them forward): the next good read reports
    what moved meanwhile; an error entry with nothing read before reports the refs as added."""
    last = ModelState(status="error", reason="HTTP 500", branches=refs(master=A), tags=refs(v1=A))
    never = ModelState(status="error", reason="HTTP 500")
    old = snap({"o/m": last, "o/new": never})
    new = snap({"o/m": ModelState(branches=refs(master=A), tags=refs(v1=B)), "o/new": ModelState(tags=refs(v1=C))})
    assert kinds(diff(old, new)) == [("tag.moved", "o/m", "v1", A, B), ("tag.added", "o/new", "v1", None, C)]
    assert diff(snap({"o/m": ModelState(tags=refs(v1=A))}), snap({"o/m": last})) == []  # no read, no change


# -- the store ------------------------------------------------------------------------------------------------
def test_the_store_writes_each_snapshot_and_points_latest_at_the_newest(tmp_path: Path) -> None:
    """Each save writes a new file next to `latest.json`, which names the snapshot saved last; `latest()`
    reads it back, and an empty or broken folder has no latest."""
    store = SnapshotStore(str(tmp_path / "snaps"))
    assert store.latest() is None  # the folder does not even exist yet
    first = snap({"o/m": ModelState(branches=refs(master=A))})
    second = snap({"o/m": ModelState(branches=refs(master=B))}, taken_at=T0 + timedelta(hours=1))
    assert store.save(first) == str(tmp_path / "snaps" / first.file_name())
    assert store.latest() == first
    store.save(second)
    assert store.latest() == second
    names = {p.name for p in (tmp_path / "snaps").iterdir()}
    assert names == {first.file_name(), second.file_name(), LATEST}
    pointer = json.loads((tmp_path / "snaps" / LATEST).read_text())
    assert pointer == {"name": second.file_name(), "taken_at": second.taken_at.isoformat()}

    (tmp_path / "snaps" / second.file_name()).unlink()  # a pointer to a missing file: nothing to compare with
    assert store.latest() is None


def test_a_failed_write_leaves_no_partial_file_and_the_previous_latest(tmp_path: Path) -> None:
    """The write goes to a temp file that is renamed into place: when the rename fails, the temp file is
    removed, no snapshot file appears, and `latest.json` still names the previous snapshot."""
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
    assert store.latest() == first


def test_a_local_folder_with_a_tilde_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    location = SnapshotStore("~/snaps").save(snap({}))
    assert location == str(tmp_path / "snaps" / snap({}).file_name())
