"""The official SDK (`modelscope` 1.40.2 over `modelscope_hub` 0.5.1) against local_hub, for datasets (§21).

As in test_sdk_against_local_hub.py, every step runs the SDK in a subprocess of its own (its configuration is
read once per process), with `MODELSCOPE_HOME`/`MODELSCOPE_CACHE` under `tmp_path` (`sdk_env`) and the upload
cache off (conftest). Each test is one SDK process doing a whole scenario, so the module stays fast: the
upload and download run once per `.gitattributes` mode (conftest parametrizes `hub`) and once per
`--download-redirect` mode of the topology; the rest does not depend on the hub's own files and runs once.

A script prints one JSON object last; `call(...)` turns an SDK call into `{"raised": false, "value": ...}` or
`{"raised": true, "type", "mro", "message"}`.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.folders import tree_of
from tests.helpers.hub import RunningHub, hub_own_dataset_files
from tests.helpers.sdk import run_sdk, sdk_env
from tests.helpers.topology import TopologyHub

pytestmark = pytest.mark.compat

DS = "alice/corpus"
PRELUDE = '''
import json, os, sys, warnings

from modelscope.hub.api import HubApi
from modelscope.hub.snapshot_download import snapshot_download
from modelscope_hub import HubApi as RepoApi

warnings.simplefilter("ignore", DeprecationWarning)  # the compat names (list_datasets, ...) warn


def call(fn, *args, **kwargs):
    """Run an SDK call; describe its result or the exception it raised."""
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:
        return {"raised": True, "type": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__],
                "message": str(exc)}
    return {"raised": False, "value": value}


def walk(root):
    """rel path -> sha256 of every file below root."""
    import hashlib
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            full = os.path.join(folder, name)
            with open(full, "rb") as handle:
                found[os.path.relpath(full, root).replace(os.sep, "/")] = hashlib.sha256(handle.read()).hexdigest()
    return found


def out(result):
    print(json.dumps(result, default=str))
'''
# Uploads the folder, tags it, and reads it back every way the SDK has.
UPLOAD_AND_READ = """
api, repo_api = HubApi(), RepoApi()
created = api.create_repo(P["id"], repo_type="dataset")
uploaded = api.upload_folder(repo_id=P["id"], folder_path=P["folder"], repo_type="dataset", commit_message="data")
tag = repo_api.create_repo_tag(P["id"], "dataset", "v1", revision="master")
path = snapshot_download(repo_id=P["id"], repo_type="dataset", cache_dir=P["cache"])
at_tag = snapshot_download(repo_id=P["id"], repo_type="dataset", revision="v1", cache_dir=P["cache"] + "-v1")
out({
    "created": [created.owner, created.name, int(created.visibility)],
    "uploaded": uploaded,
    "tag": tag,
    "revisions": [r["Revision"] for r in repo_api.list_repo_revisions(P["id"], "dataset")],
    "files": [[f.path, f.size, f.sha256, f.lfs is not None] for f in repo_api.list_repo_files(P["id"], "dataset")],
    "snapshot": path,
    "at_tag": walk(at_tag),
})
"""


def make_folder(root: Path) -> dict[str, bool]:
    """A small dataset folder, fresh bytes each time (the session hub's blob store outlives a reset, and a
    blob it has is not sent again); returns path -> whether SDK 1.40 sends the file to LFS (§21.7: a dataset
    suffix such as .jsonl or .parquet, or more than 64 KiB; README.md and small .csv/.txt stay inline)."""
    files = {
        "README.md": (b"# corpus\n", False),
        "data/train.jsonl": (b'{"text": "%s"}\n' % os.urandom(8).hex().encode(), True),
        "data/valid.csv": (b"id,text\n1,hello\n", False),
        "data/shard-0.parquet": (b"PAR1" + os.urandom(200), True),
        "data/raw/blob.dat": (os.urandom(70 * 1024), True),
        "notes/deep/more/ünïcode.txt": ("naïve ✓\n".encode(), False),
    }
    for rel, (data, _) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {rel: is_lfs for rel, (_, is_lfs) in files.items()}


def sdk(hub: RunningHub, home: Path, body: str, *, user: str = "alice", **params: Any) -> dict[str, Any]:
    """Run `body` (after the prelude, with `P` = params) with the official SDK in a fresh process as `user`."""
    script = PRELUDE + f"P = json.loads({json.dumps(params)!r})\n" + textwrap.dedent(body)
    return run_sdk(script, sdk_env(hub, home, hub.tokens[user]), timeout=120)


def upload_and_read(hub: RunningHub, tmp_path: Path) -> tuple[dict[str, Any], Path, dict[str, bool]]:
    """The scenario both upload tests run: the SDK's result, the folder it uploaded, and its LFS choice."""
    folder = tmp_path / "folder"
    lfs = make_folder(folder)
    result = sdk(hub, tmp_path, UPLOAD_AND_READ, id=DS, folder=str(folder), cache=str(tmp_path / "download"))
    return result, folder, lfs


def assert_byte_identical(snapshot: Path, folder: Path, own: dict[str, bytes]) -> None:
    """The snapshot holds the folder's files, byte for byte, and the hub's own files."""
    expected = {**tree_of(folder), **{p: hashlib.sha256(c).hexdigest() for p, c in own.items()}}
    assert tree_of(snapshot) == expected
    match, mismatch, errors = filecmp.cmpfiles(folder, snapshot, list(tree_of(folder)), shallow=False)
    assert len(match) == len(tree_of(folder)) and not mismatch and not errors


def test_upload_folder_listing_tags_and_snapshot_are_byte_identical(hub, tmp_path):
    result, folder, lfs = upload_and_read(hub, tmp_path)
    own = hub_own_dataset_files(hub)  # the hub's dataset .gitattributes, in the modes that write one
    assert result["created"] == ["alice", "corpus", 5]
    assert len(result["uploaded"]["oid"]) == 40 and result["tag"]["CommitId"] == result["uploaded"]["oid"]
    assert result["revisions"] == ["v1", "master"]  # tags, then branches

    sizes = {rel: (folder / rel).stat().st_size for rel in lfs}
    listed = {path: (size, digest, is_lfs) for path, size, digest, is_lfs in result["files"]}
    expected = {rel: (sizes[rel], tree_of(folder)[rel], lfs[rel]) for rel in lfs}
    expected |= {path: (len(data), hashlib.sha256(data).hexdigest(), False) for path, data in own.items()}
    assert listed == expected  # files only (no folder entries), each as the SDK chose to send it

    snapshot = Path(result["snapshot"])
    assert snapshot.is_relative_to(tmp_path / "download")
    assert_byte_identical(snapshot, folder, own)
    assert result["at_tag"] == tree_of(snapshot)

    stats = hub.control.stats()
    assert stats["blob_puts"] == sum(lfs.values()) and stats["commits"] == 1
    assert stats["statuses"]["create_dataset 400"] == 1  # upload_folder's own create, refused and swallowed
    assert stats["statuses"]["create_dataset 200"] == 1
    assert stats["requests"]["dataset_download"] == 2 * (len(lfs) + len(own))  # two snapshots


@pytest.fixture(params=["off", "lfs", "all"], ids=lambda mode: f"topology-redirect-{mode}")
def topology_hub(request: pytest.FixtureRequest, topology_process: TopologyHub) -> Iterator[TopologyHub]:
    """The session's topology hub (TLS, proxy, www./lfs./cdn.) with a clean slate, redirecting downloads in
    each `--download-redirect` mode and writing its `.gitattributes` at creation, as conftest's `hub` does
    for the model compat module."""
    topology_process.control.reset(state=True)
    topology_process.control.configure(
        gitattributes="on-create", download_redirect=request.param, cdn_url_ttl_seconds=1800
    )
    yield topology_process


def test_upload_and_snapshot_through_the_topology(topology_hub, tmp_path):
    result, folder, lfs = upload_and_read(topology_hub, tmp_path)
    own = hub_own_dataset_files(topology_hub)
    assert_byte_identical(Path(result["snapshot"]), folder, own)
    stats = topology_hub.control.stats()
    assert stats["proxy"].get("lfs.hub.test", 0) >= 1 and stats["blob_puts"] == sum(lfs.values())
    mode = topology_hub.control.configure()["download_redirect"]
    per_snapshot = {"off": 0, "lfs": sum(lfs.values()), "all": len(lfs) + len(own)}[mode]
    assert stats["requests"].get("cdn_download", 0) == 2 * per_snapshot


@pytest.fixture
def plain_hub(hub_process: RunningHub) -> RunningHub:
    """The session hub with a clean slate and no hub-written files, for what does not depend on them (not
    named `hub`, so conftest does not run these tests once per mode)."""
    hub_process.control.reset(state=True)
    hub_process.control.configure(gitattributes="off")
    return hub_process


def test_metadata_existence_listing_deletes_and_duplicates(plain_hub, tmp_path):
    folder = tmp_path / "folder"
    for rel in ("a.csv", "b.csv", "keep/c.txt"):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(rel)
    result = sdk(
        plain_hub,
        tmp_path,
        """
        api, repo_api = HubApi(), RepoApi()
        first = call(api.create_dataset, "corpus", "alice", visibility=5)
        api.upload_folder(repo_id=P["id"], folder_path=P["folder"], repo_type="dataset")
        private = api.create_repo("alice/private-ds", repo_type="dataset", visibility=1)
        repo_info = repo_api.get_repo(P["id"], "dataset")
        listing = api.list_datasets("alice")
        out({
            "first": first,
            "again": call(api.create_repo, P["id"], repo_type="dataset"),
            "exist_ok": call(api.create_repo, P["id"], repo_type="dataset", exist_ok=True),
            "get": [repo_info.owner, repo_info.name, int(repo_info.visibility), repo_info.file_size],
            "get_dataset": api.get_dataset(P["id"]).name,
            "exists": [api.repo_exists(name, repo_type="dataset") for name in (P["id"], "alice/nope")],
            "id_type": list(api.get_dataset_id_and_type("corpus", "alice")),
            "compat_files": sorted(f["Path"] for f in api.get_dataset_files(P["id"])),
            "listed": [[d.name, int(d.visibility)] for d in listing.items],
            "total": listing.total_count,
            "private": int(private.visibility),
            "delete_one": api.delete_files(P["id"], repo_type="dataset", file_paths=["a.csv"]),
            "delete_glob": api.delete_files(P["id"], repo_type="dataset", delete_patterns=["*.csv"]),
            "left": sorted(f.path for f in repo_api.list_repo_files(P["id"], "dataset")),
            "delete": call(api.delete_dataset, P["id"]),
            "after": api.repo_exists(P["id"], repo_type="dataset"),
        })
        """,
        id=DS,
        folder=str(folder),
    )
    assert result["first"] == {"raised": False, "value": f"{plain_hub.url}/datasets/alice/corpus"}
    again = result["again"]
    assert again["raised"] and "AlreadyExistsError" in again["mro"], again
    assert result["exist_ok"]["raised"] is False  # compat's exist_ok swallows the 400
    assert result["get"] == ["alice", "corpus", 5, 5 + 5 + 10] and result["get_dataset"] == "corpus"
    assert result["exists"] == [True, False]
    dataset_id, dataset_type = result["id_type"]
    assert isinstance(dataset_id, int) and dataset_type == 4
    assert result["compat_files"] == ["a.csv", "b.csv", "keep/c.txt"]
    assert result["listed"] == [["corpus", 5], ["private-ds", 1]] and result["total"] == 2
    assert result["private"] == 1
    assert result["delete_one"]["deleted_files"] == ["a.csv"] and result["delete_glob"]["deleted_files"] == ["b.csv"]
    assert result["left"] == ["keep/c.txt"]
    assert result["delete"] == {"raised": False, "value": None} and result["after"] is False

    bob = sdk(
        plain_hub,
        tmp_path / "bob",
        """
        api = HubApi()
        out({"exists": api.repo_exists("alice/private-ds", repo_type="dataset"),
             "listed": [d.name for d in api.list_datasets("alice").items]})
        """,
        user="bob",
    )
    assert bob == {"exists": False, "listed": []}  # alice's private dataset is invisible to bob
    statuses = plain_hub.control.stats()["statuses"]
    assert statuses["dataset_tree_by_id 200"] == 1 and statuses["delete_dataset 200"] == 1
