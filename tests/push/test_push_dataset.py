"""push_dataset / download_dataset against local_hub over HTTP, in every mode of the hub's own files: the
model engine's promises for the other repo type (created when missing, incremental, verified, no-op,
branches over the dataset's git endpoint, tags never moved), the dataset's LFS rule, a tree that takes
several pages, and the official SDK fetching exactly what we published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub_tasks import AlreadyExistsError, HubClient, InvalidParameter, NotExistError
from tests.helpers.clients import make_client
from tests.helpers.folders import blob, manifest, write_files
from tests.helpers.hub import RunningHub
from tests.helpers.sdk import run_sdk, sdk_env


@pytest.fixture
def alice(hub: RunningHub) -> Any:
    with make_client(hub) as client:
        yield client


def dataset_folder(root: Path, files: dict[str, bytes | str] | None = None) -> Path:
    """A dataset folder (no configuration.json): a README, small .jsonl/.csv rows, an image, a big shard."""
    write_files(
        root,
        files
        if files is not None
        else {
            "README.md": "# corpus\n",
            "data/train.jsonl": b'{"text": "a"}\n' + blob(64),
            "data/test.csv": "text\nb\n",
            "images/cat.png": blob(300),
            "data/shard-00.parquet": blob(200 * 1024),
        },
    )
    return root


def remote(client: HubClient, dataset_id: str, revision: str = "master", local: Path | None = None) -> dict:
    """path -> (sha256, size) of a dataset revision, minus a `.gitattributes` the folder did not bring."""
    files = {f.path: (f.sha256, f.size) for f in client.get_dataset_files(dataset_id, revision, recursive=True)}
    brought = local is not None and (local / ".gitattributes").exists()
    return {p: e for p, e in files.items() if p != ".gitattributes" or brought}


def test_a_dataset_is_created_published_verified_and_tagged(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    folder = dataset_folder(tmp_path / "data")
    result = alice.push_dataset("alice/corpus", folder, visibility=1, description="rows", tag="v1", hash_cache=None)
    assert (result.repo_type, result.repo_id, result.created_repo, result.verified) == (
        "dataset",
        "alice/corpus",
        True,
        True,
    )
    assert result.repo_url == f"{hub.url}/datasets/alice/corpus"
    assert remote(alice, "alice/corpus") == manifest(folder)
    info = alice.get_dataset("alice/corpus")
    assert (info.dataset_id, info.visibility, info.description) == ("alice/corpus", 1, "rows")
    assert isinstance(info.id, int) and info.type is not None  # the numeric id the tree can be addressed by
    assert alice.get_dataset_branches_and_tags("alice/corpus") == (["master"], ["v1"])
    assert [t.name for t in alice.list_dataset_revisions("alice/corpus")] == ["v1"]
    assert {r.name: r.commit_id for r in alice.get_refs("alice/corpus", repo_type="dataset")} == {
        "master": result.commit_id,
        "v1": result.commit_id,
    }
    assert alice.verify_dataset_folder("alice/corpus", folder, "v1", hash_cache=None) == len(manifest(folder))
    # A dataset is not a model: the model routes do not see it.
    assert not alice.model_exists("alice/corpus")
    assert alice.dataset_exists("alice/corpus") and alice.repo_exists("alice/corpus", repo_type="dataset")


def test_small_data_files_go_as_lfs_blobs_as_the_sdk_sends_them(hub: RunningHub, alice: HubClient, tmp_path) -> None:
    """`.jsonl` and `.png` below 64 KiB are LFS blobs in a dataset (README and .csv stay inline)."""
    folder = dataset_folder(tmp_path / "data")
    before = hub.control.requests("blob_put")
    alice.push_dataset("alice/corpus", folder, hash_cache=None)
    assert hub.control.requests("blob_put") - before == 3  # train.jsonl, cat.png, the parquet shard


def test_re_publishing_changes_only_what_changed_and_a_same_folder_is_a_noop(alice: HubClient, tmp_path) -> None:
    folder = dataset_folder(tmp_path / "data")
    first = alice.push_dataset("alice/corpus", folder, tag="v1", hash_cache=None)
    again = alice.push_dataset("alice/corpus", folder, tag="v1", hash_cache=None)
    assert again.noop and again.files_unchanged == len(manifest(folder))
    (folder / "data" / "test.csv").write_text("text\nc\n")
    (folder / "images" / "cat.png").unlink()
    second = alice.push_dataset("alice/corpus", folder, hash_cache=None)
    assert (second.files_changed, second.files_deleted, second.files_added) == (1, 1, 0)
    assert remote(alice, "alice/corpus") == manifest(folder)
    # the tag stays where it was; moving it is refused before anything is sent
    with pytest.raises(AlreadyExistsError, match="never moved"):
        alice.push_dataset("alice/corpus", folder, tag="v1", hash_cache=None)
    assert alice.resolve_ref("alice/corpus", "v1", repo_type="dataset") == first.commit_id


def test_a_missing_branch_is_created_over_the_datasets_git_endpoint(alice: HubClient, tmp_path: Path) -> None:
    folder = dataset_folder(tmp_path / "data")
    base = alice.push_dataset("alice/corpus", folder, hash_cache=None).commit_id
    write_files(folder, {"data/extra.csv": "x\n1\n"})
    result = alice.push_dataset("alice/corpus", folder, revision="dev", hash_cache=None)
    assert result.created_branch and result.commit_id != base
    assert alice.get_dataset_branches_and_tags("alice/corpus")[0] == ["master", "dev"]
    assert "data/extra.csv" not in remote(alice, "alice/corpus", "master")
    assert remote(alice, "alice/corpus", "dev") == manifest(folder)


def test_a_tree_of_several_pages_is_listed_whole(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    """1,700 files are nine pages of 200: two waves of parallel page reads, the ninth page short."""
    files = {f"rows/{i:04d}.txt": f"{i}\n" for i in range(1700)}
    folder = dataset_folder(tmp_path / "data", {"README.md": "# many\n", **files})
    alice.push_dataset("alice/many", folder, hash_cache=None)
    listing = alice.get_dataset_files("alice/many", recursive=True)
    paths = [f.path for f in listing if f.path != ".gitattributes"]
    assert paths == sorted(manifest(folder))
    assert [f.path for f in alice.get_dataset_files("alice/many", root="rows", recursive=True)][:2] == [
        "rows/0000.txt",
        "rows/0001.txt",
    ]


def test_download_dataset_mirrors_a_revision_and_the_sdk_fetches_the_same_bytes(
    hub: RunningHub, alice: HubClient, tmp_path: Path
) -> None:
    folder = dataset_folder(tmp_path / "data")
    alice.push_dataset("alice/corpus", folder, tag="v1", hash_cache=None)
    got = alice.download_dataset("alice/corpus", tmp_path / "mirror", revision="v1")
    listed = [f for f in alice.get_dataset_files("alice/corpus", "v1", recursive=True) if f.is_file]
    assert got.repo_type == "dataset" and got.files_downloaded == len(listed)
    assert {p: e for p, e in manifest(tmp_path / "mirror").items() if p != ".gitattributes"} == manifest(folder)
    again = alice.download_dataset("alice/corpus", tmp_path / "mirror", revision="v1")
    assert again.files_downloaded == 0 and again.bytes_downloaded == 0
    only = alice.download_dataset("alice/corpus", tmp_path / "jsonl", allow_patterns=["*.jsonl"])
    assert [f.path for f in only.files] == ["data/train.jsonl"]
    script = f"""
import hashlib, json, os
from modelscope.hub.snapshot_download import snapshot_download
path = snapshot_download("alice/corpus", repo_type="dataset", revision="v1", cache_dir={str(tmp_path / "sdk")!r})
files = {{}}
for dirpath, _, names in os.walk(path):
    for name in names:
        full = os.path.join(dirpath, name)
        data = open(full, "rb").read()
        files[os.path.relpath(full, path)] = [hashlib.sha256(data).hexdigest(), len(data)]
print(json.dumps(files))
"""
    fetched = run_sdk(script, sdk_env(hub, tmp_path, hub.tokens["alice"]), timeout=120)
    fetched = {p: tuple(e) for p, e in fetched.items() if p not in (".mdl", ".msc", ".mv", ".gitattributes")}
    assert fetched == manifest(folder)


def test_what_the_sdk_uploads_to_a_dataset_we_list_and_download(hub: RunningHub, alice: HubClient, tmp_path) -> None:
    folder = dataset_folder(tmp_path / "data")
    script = f"""
import json
from modelscope.hub.api import HubApi
api = HubApi()
api.upload_folder(repo_id="alice/from-sdk", folder_path={str(folder)!r}, repo_type="dataset")
print(json.dumps({{"ok": True}}))
"""
    assert run_sdk(script, sdk_env(hub, tmp_path, hub.tokens["alice"]), timeout=120) == {"ok": True}
    assert remote(alice, "alice/from-sdk") == manifest(folder)
    assert alice.verify_dataset_folder("alice/from-sdk", folder, hash_cache=None) == len(manifest(folder))


def test_dataset_errors_are_typed_and_come_before_any_change(hub: RunningHub, alice: HubClient, tmp_path) -> None:
    with pytest.raises(NotExistError):
        alice.get_dataset("alice/missing")
    before = hub.control.requests()
    with pytest.raises(InvalidParameter, match="confirm='alice/x'"):
        alice.delete_dataset("alice/x")
    with pytest.raises(InvalidParameter, match="repo_type must be 'model' or 'dataset'"):
        alice.get_repo_files("alice/x", repo_type="space")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="does not exist"):
        alice.push_dataset("alice/x", tmp_path / "nowhere")
    assert hub.control.requests() == before
    alice.create_dataset("alice/x", description="d")
    with pytest.raises(AlreadyExistsError):
        alice.create_dataset("alice/x")
    alice.create_model("alice/x")  # a model of the same name is another repo
    alice.delete_dataset("alice/x", confirm="alice/x")
    assert not alice.dataset_exists("alice/x") and alice.model_exists("alice/x")


def test_listing_datasets_pages_through_every_one(alice: HubClient) -> None:
    for i in range(5):
        alice.create_dataset(f"alice/set-{i}")
    alice.create_model("alice/not-a-dataset")
    page = alice.list_datasets("alice", page_number=2, page_size=2)
    assert page.total_count == 5 and len(page.datasets) == 2
    assert sorted(d.dataset_id for d in alice.iter_datasets("alice", page_size=2)) == [
        f"alice/set-{i}" for i in range(5)
    ]
    assert json.loads(page.model_dump_json())["total_count"] == 5
