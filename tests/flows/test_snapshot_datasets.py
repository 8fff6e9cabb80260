"""`snapshot_revisions` over datasets as well as models, against local_hub and the Prefect test server: both
repo types in one snapshot (a model and a dataset of one name apart, each dataset read with the requests a
model takes), a dataset's moved tag, removal and addition in the diff, the table and as events about
`modelscope.dataset.<owner>/<name>`; `repo_types=["model"]` leaves datasets alone and keeps the scope key
snapshots had before datasets; and a models-only snapshot (the Prefect server's baseline, or a format
version 2 document in the archive) is read and compared across the upgrade to both types: its models are
diffed, the datasets start with the new run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from prefect.states import State

from flows.snapshot.flow import snapshot_revisions
from flows.snapshot.format import Snapshot
from flows.snapshot.scope import Scope
from flows.snapshot.store import SnapshotStore, pointer_name
from hub_tasks import HubClient, ModelScopeCredentials
from tests.helpers.clients import hub_client, make_block
from tests.helpers.folders import write_files
from tests.helpers.hub import RunningHub
from tests.helpers.hub_http import HubWriter
from tests.helpers.prefect_api import events_settled, run_artifact, run_events
from tests.helpers.snapshots import forget_baselines

CONFIG = b"{}"


@pytest.fixture
def first_snapshots(prefect_harness: None) -> None:
    """Every scope starts without a baseline in the session's Prefect server (earlier tests leave theirs)."""
    forget_baselines()


def snapshot(
    block: ModelScopeCredentials, folder: Path, repo_types: list[str] | None = None, include_files: bool = False
) -> tuple[Any, Any]:
    """One completed snapshot of alice into `folder`: its summary and flow run id."""
    types = {} if repo_types is None else {"repo_types": repo_types}
    state: State = snapshot_revisions(
        owners=["alice"], include_files=include_files, snapshot_dir=str(folder), max_concurrency=4,
        modelscope_credentials=block, return_state=True, **types,
    )  # fmt: skip
    assert state.is_completed(), state.message
    return state.result(), state.state_details.flow_run_id


def written(summary: Any) -> Snapshot:
    return Snapshot.model_validate_json(Path(summary.location).read_text())


def rows(run: Any) -> list[tuple[str, ...]]:
    """The changes table of a run: (change, type, repo, ref, old, new)."""
    table = run_artifact(run, "modelscope-snapshot-diff")
    assert table is not None
    return [(r["change"], r["type"], r["repo"], r["ref"], r["old"], r["new"]) for r in json.loads(str(table.data))]


def publish(client: HubClient, tmp: Path, dataset_id: str, files: dict[str, bytes], **options: Any) -> str:
    """Publish `files` as the dataset (created when missing); returns the commit id."""
    folder = tmp / "folders" / f"{dataset_id.replace('/', '-')}-{hashlib.sha256(repr(files).encode()).hexdigest()[:8]}"
    write_files(folder, files)
    result = client.push_dataset(dataset_id, folder, hash_cache=None, **options)
    assert result.commit_id
    return result.commit_id


def test_models_and_datasets_in_one_snapshot_and_a_moved_dataset_tag_is_reported_and_emitted(
    hub: RunningHub, first_snapshots: None, tmp_path: Path
) -> None:
    alice, snapshots = HubWriter(hub), tmp_path / "snapshots"
    alice.create("alice/corpus")  # a model and a dataset of one name are two repos
    model_head = alice.commit("alice/corpus", {"configuration.json": CONFIG})
    alice.tag("alice/corpus", "v1")
    with hub_client(hub) as client:
        before = publish(client, tmp_path, "alice/corpus", {"train.jsonl": b'{"x": 1}\n'}, tag="v1")
        publish(client, tmp_path, "alice/secret-data", {"a.txt": b"a"}, visibility=1)
        publish(client, tmp_path, "alice/doomed-data", {"b.txt": b"b"})
    hub.control.reset(state=False)  # count only the snapshot's requests
    block = make_block(hub)
    first, first_run = snapshot(block, snapshots, include_files=True)
    assert (first.models, first.datasets, first.repo_types, first.failed) == (1, 3, ["model", "dataset"], {})
    taken = written(first)
    assert taken.repo_types == ["model", "dataset"] and list(taken.models) == ["alice/corpus"]
    assert taken.models["alice/corpus"].tags["v1"].commit_id == model_head
    corpus = taken.datasets["alice/corpus"]
    assert {n: r.commit_id for n, r in corpus.tags.items()} == {"v1": before}
    assert {n: r.commit_id for n, r in corpus.branches.items()} == {"master": before}
    assert corpus.files is not None
    assert {p: f.sha256 for p, f in corpus.files["master"].items()} == {
        "train.jsonl": hashlib.sha256(b'{"x": 1}\n').hexdigest()
    }
    assert taken.datasets["alice/secret-data"].visibility == 1  # read from the dataset's own page
    # The same reads for both types: one listing each, one revision listing per repo, one tree listing per
    # branch head, and the exact visibility of the one non-public repo.
    requests = {r: n for r, n in hub.control.stats()["requests"].items() if n}
    assert {r: requests.get(r, 0) for r in ("list_models", "list_datasets", "revisions", "dataset_revisions")} == {
        "list_models": 1, "list_datasets": 1, "revisions": 1, "dataset_revisions": 3,
    }  # fmt: skip
    assert (requests.get("get_dataset", 0), requests.get("get_model", 0)) == (1, 0)
    # A dataset's tree is read page by page until a short page, the first page alone: one request for a small tree.
    assert requests.get("repo_files", 0) == 1 and requests.get("dataset_tree", 0) == 3
    assert requests.get("commits", 0) == requests.get("dataset_commits", 0) == 0  # commit ids come with the refs

    # The dataset is re-created with its tag on another commit, one dataset goes, another comes.
    with hub_client(hub) as client:
        client.delete_dataset("alice/corpus", confirm="alice/corpus")
        client.delete_dataset("alice/doomed-data", confirm="alice/doomed-data")
        after = publish(client, tmp_path, "alice/corpus", {"train.jsonl": b'{"x": 2}\n'}, tag="v1")
        publish(client, tmp_path, "alice/fresh-data", {"c.txt": b"c"})
    second, run = snapshot(block, snapshots, include_files=True)
    expected = [  # red flags first; the model alice/corpus did not change
        ("tag.moved", "dataset", "alice/corpus", "v1", before, after),
        ("dataset.removed", "dataset", "alice/doomed-data", "", "", ""),
        ("branch.moved", "dataset", "alice/corpus", "master", before, after),
        ("files.changed", "dataset", "alice/corpus", "master", "", "train.jsonl"),
        ("dataset.added", "dataset", "alice/fresh-data", "", "", ""),
    ]
    assert rows(run) == [
        (c, t, r, ref, o[:12], n if c == "files.changed" else n[:12]) for c, t, r, ref, o, n in expected
    ]
    assert second.tags_moved == 1 and second.changes_by_kind["dataset.removed"] == 1
    assert written(second).gone_datasets["alice/doomed-data"].status == "not_visible"

    events_settled()
    events = run_events(run)
    assert sorted((e.event, e.resource.id, e.payload.get("ref", "")) for e in events) == sorted(
        (f"modelscope.{c}", f"modelscope.dataset.{r}", ref) for c, _, r, ref, _, _ in expected
    )
    moved = next(e for e in events if e.event == "modelscope.tag.moved")
    assert moved.resource.get("prefect.resource.name") == "alice/corpus"
    assert moved.payload == {
        "kind": "tag.moved", "dataset_id": "alice/corpus", "ref": "v1", "old": before, "new": after,
        "endpoint": hub.url,
    }  # fmt: skip
    assert run_events(first_run) == []


def test_repo_types_model_leaves_datasets_alone_and_a_later_run_of_both_compares_its_models_with_it(
    hub: RunningHub, first_snapshots: None, tmp_path: Path
) -> None:
    """A models-only run lists no dataset and files its snapshot under the key of before datasets. Switched
    to both types (in a new folder, so the Prefect server's baseline is all there is), the first run compares
    its models with that models-only baseline and adds no dataset."""
    alice = HubWriter(hub)
    alice.create("alice/only-model")
    before = alice.commit("alice/only-model", {"configuration.json": CONFIG})
    alice.tag("alice/only-model", "v1")
    with hub_client(hub) as client:
        publish(client, tmp_path, "alice/ignored-data", {"a.txt": b"a"}, tag="v1")
    hub.control.reset(state=False)
    summary, _ = snapshot(make_block(hub), tmp_path / "snapshots", repo_types=["model"])
    assert (summary.models, summary.datasets, summary.repo_types) == (1, 0, ["model"])
    assert summary.scope == f"alice @ {hub.url}, models only"
    taken = written(summary)
    assert taken.repo_types == ["model"] and taken.datasets == {} and taken.gone_datasets == {}
    assert hub.control.requests("list_datasets") == 0 and hub.control.requests("dataset_revisions") == 0
    # The scope key a models-only snapshot had before datasets: `Scope.of` without repo types.
    assert Path(summary.location).name.endswith(f"-{Scope.of(hub.url, ['alice']).key}.json")
    assert Scope.of(hub.url, ["alice"]).key != Scope.of(hub.url, ["alice"], ["model", "dataset"]).key

    alice.delete("alice/only-model")
    alice.create("alice/only-model")
    after = alice.commit("alice/only-model", {"configuration.json": b'{"v": 2}'})
    alice.tag("alice/only-model", "v1")
    both, run = snapshot(make_block(hub), tmp_path / "elsewhere")
    assert "kept in the Prefect server" in both.compared_with and "which lists no datasets" in both.compared_with
    assert rows(run) == [
        ("tag.moved", "model", "alice/only-model", "v1", before[:12], after[:12]),
        ("branch.moved", "model", "alice/only-model", "master", before[:12], after[:12]),
    ]
    assert both.datasets == 1 and "dataset.added" not in both.changes_by_kind


def version_2_snapshot(endpoint: str, tag_commit: str) -> dict[str, Any]:
    """A snapshot document as the flow wrote it before datasets (format version 2): no repo types, models only."""
    ref = {"commit_id": tag_commit, "created_at": "2024-05-01T03:00:00Z"}
    model = {
        "status": "ok", "reason": "", "private": False, "visibility": None, "license": "Apache License 2.0",
        "last_modified": None, "branches": {"master": ref}, "tags": {"v1": ref}, "files": None,
    }  # fmt: skip
    return {
        "schema_version": 2, "taken_at": "2024-05-01T03:00:00.000001Z", "endpoint": endpoint, "owners": ["alice"],
        "include_files": False, "models": {"alice/audited": model}, "gone": {},
    }  # fmt: skip


def test_a_snapshot_written_before_datasets_is_read_and_its_models_are_compared_across_the_upgrade(
    hub: RunningHub, first_snapshots: None, tmp_path: Path
) -> None:
    """The archive holds a version 2 snapshot (models only, under the pointer of its scope). A run of both
    repo types has no snapshot of its own scope yet: it compares its models with that one (the tag moved
    since is reported) and reports none of the datasets as added; its next run compares with its own."""
    alice, snapshots = HubWriter(hub), tmp_path / "snapshots"
    alice.create("alice/audited")
    after = alice.commit("alice/audited", {"configuration.json": b'{"v": 2}'})
    alice.tag("alice/audited", "v1")
    with hub_client(hub) as client:
        publish(client, tmp_path, "alice/corpus", {"a.txt": b"a"}, tag="v1")
    old_commit = "0" * 40
    models_only = Scope.of(hub.url, ["alice"])
    snapshots.mkdir()
    document = version_2_snapshot(hub.url, old_commit)
    (snapshots / "snapshot-20240501T030000.000001Z-old.json").write_text(json.dumps(document))
    (snapshots / pointer_name(models_only)).write_text(
        json.dumps({"name": "snapshot-20240501T030000.000001Z-old.json"})
    )
    old = SnapshotStore(str(snapshots)).latest(models_only)
    assert old is not None and old.repo_types == ["model"] and old.scope == models_only
    assert old.models["alice/audited"].tags["v1"].commit_id == old_commit and old.datasets == {}

    upgraded, run = snapshot(make_block(hub), snapshots)
    assert not upgraded.first_snapshot and "which lists no datasets" in upgraded.compared_with
    assert rows(run) == [
        ("tag.moved", "model", "alice/audited", "v1", old_commit[:12], after[:12]),
        ("branch.moved", "model", "alice/audited", "master", old_commit[:12], after[:12]),
    ]  # and no dataset.added for alice/corpus
    assert written(upgraded).datasets["alice/corpus"].tags["v1"].commit_id is not None

    again, run = snapshot(make_block(hub), snapshots)
    assert "which lists no" not in again.compared_with and again.changes == 0 and rows(run) == []
