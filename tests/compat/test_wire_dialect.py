"""We send what the official SDK sends: one scenario through SDK 1.40 and through `HubClient` against one
local_hub, their request journals compared route by route.

The journal (`local_hub.journal`) keeps each request's route, method, sorted query keys and body shape, and
no value. Where our client and the SDK do the same thing, every (method, query keys, body shape) one of
them sends on a route must be sent by the other too, unless `DELIBERATE` lists the difference with its
reason. The seed's operations that SDK 1.40 dropped cannot be compared with the SDK, so our requests for
them are compared with the old SDK's shapes from protocol.md (`OLD_SHAPES`).

This module uses the session hub under its own fixture name (`dialect_hub`, not `hub`), so it runs once,
in the hub's default strict mode, instead of once per `.gitattributes` mode.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub_tasks import HubClient
from tests.helpers.clients import make_client
from tests.helpers.folders import make_folder
from tests.helpers.hub import RunningHub
from tests.helpers.sdk import run_sdk, sdk_env
from tests.helpers.topology import CDN, LFS, WWW, TopologyHub

pytestmark = pytest.mark.compat

Signature = tuple[str, tuple[str, ...], str]  # (method, query keys, body shape as sorted JSON)
SDK_MODEL, OUR_MODEL = "alice/wire-sdk", "alice/wire-ours"

# Every difference between the SDK's requests and ours, route by route: (route, who sends what the other
# does not) -> why. The test fails on a difference missing here, and on an entry that no longer differs.
DELIBERATE: dict[tuple[str, str], str] = {
    ("whoami", "sdk only"): "SDK 1.40's login also fetches the profile (GET /openapi/v1/users/me); the seed's "
    "login, and ours, returns what POST /api/v1/login answers",
    ("get_model", "ours only"): "push_model asks whether the repo exists before creating it, as the seed's "
    "push_model did (repo_exists); SDK 1.40 creates blindly and swallows the 400",
    ("commits", "ours only"): "create_tag resolves the revision to a commit id (GET commits?Ref&PageNumber&PageSize, "
    "the old SDK's list_repo_commits shape) so that a branch moving meanwhile cannot misplace the tag",
}

# The seed's operations that SDK 1.40 dropped or changed, as the old SDK (modelscope 1804ac6b) sent them,
# from protocol.md: operation -> the requests it made, as (route, method, query keys, body shape).
OLD_SHAPES: dict[str, list[tuple[str, str, list[str], Any]]] = {
    "login": [("login", "POST", [], {"AccessToken": "str"})],  # Op 1
    # Op 4: get_model(model_id, revision) sends `?Revision=`; SDK 1.40 asks the OpenAPI surface, no revision.
    "get_model(revision)": [("get_model", "GET", ["Revision"], None)],
    # Op 6: list_model_revisions(cutoff_timestamp) sends `?EndTime=`; SDK 1.40 has no such method.
    "list_model_revisions(cutoff_timestamp)": [("revisions", "GET", ["EndTime"], None)],
    # Op 7: get_model_files(root=...) sends `Root`; SDK 1.40 filters by root on the client.
    "get_model_files(root, recursive=False)": [("repo_files", "GET", ["Recursive", "Revision", "Root"], None)],
    # §17: the old commit history (list_repo_commits) that SDK 1.40 no longer calls.
    "list_commits": [("commits", "GET", ["PageNumber", "PageSize", "Ref"], None)],
    "delete_model": [("delete_model", "DELETE", [], None)],  # Op 3
    # §14, §14.1: the seed's push_model made a missing branch with `git push`: discovery, then one ref update.
    "create_branch": [("git_info_refs", "GET", ["service"], None), ("git_receive_pack", "POST", [], "bytes")],
    # Op 2: the old body, ChineseName null when not given, TrainId from MODELSCOPE_TRAIN_ID.
    "create_model(chinese_name, original_model_id)": [
        (
            "create_model",
            "POST",
            [],
            {
                "ChineseName": "null|str",
                "License": "str",
                "Name": "str",
                "OriginalModelId": "str",
                "Path": "str",
                "TrainId": "str",
                "Visibility": "int",
            },
        )
    ],
    # §17: the old model listing; SDK 1.40 (and we) use GET /openapi/v1/models, compared with the SDK above.
    "list_models": [("list_models_legacy", "PUT", [], {"PageNumber": "int", "PageSize": "int", "Path": "str"})],
    # Op 11: the old delete_files sent one DELETE per file; SDK 1.40 (and we) commit delete actions.
    "delete a file": [("delete_file", "DELETE", ["FilePath", "Revision"], None)],
}
# Where our requests for those operations leave the old SDK's shapes, and why: (operation, what) -> reason.
OLD_DIFFERENCES: dict[tuple[str, str], str] = {
    ("create_model(chinese_name, original_model_id)", "body.TrainId"): "the old client's MODELSCOPE_TRAIN_ID; "
    "SDK 1.40 dropped it and so do we",
    ("list_models", "list_models_legacy"): "SDK 1.40's GET /openapi/v1/models?owner&page_number&page_size instead "
    "of the old PUT /api/v1/models/ (its shape is compared with the SDK's above)",
    ("delete a file", "delete_file"): "a commit of delete actions, as SDK 1.40's delete_files sends (compared "
    "above), instead of the old per-file DELETE, which the real hub refuses to API tokens (protocol.md Op 11)",
}


def leaves_old_shape(ours: Any, old: Any, where: str = "body") -> set[str]:
    """The places where shape `ours` is not one the old shape `old` allows: a key the old client did not
    send, a type it did not send there, or (reported as `where.key`) a key it sent and we do not.

    Example:
        >>> sorted(leaves_old_shape({"Name": "str", "X": "int"}, {"Name": "null|str", "TrainId": "str"}))
        ['body.TrainId', 'body.X']
    """
    if isinstance(ours, dict) and isinstance(old, dict):
        found = {f"{where}.{key}" for key in set(ours) ^ set(old)}
        for key in set(ours) & set(old):
            found |= leaves_old_shape(ours[key], old[key], f"{where}.{key}")
        return found
    if isinstance(ours, str) and isinstance(old, str) and set(ours.split("|")) <= set(old.split("|")):
        return set()
    return set() if ours == old else {where}


SDK_SCENARIO = """
import json, sys
from modelscope.hub.api import HubApi
from modelscope.hub.snapshot_download import snapshot_download

P = json.loads(sys.argv[1])
api = HubApi()
api.login(P["token"])
api.create_model(P["model"])
api.upload_folder(repo_id=P["model"], folder_path=P["v1"], commit_message="v1")
api.upload_folder(repo_id=P["model"], folder_path=P["v2"], commit_message="v2")
api.delete_files(P["model"], file_paths=["gone.txt"])
api.create_model_tag(P["model"], "v1.0")
api.list_models("alice")
api.get_model_branches_and_tags(P["model"])
api.get_model_files(P["model"], recursive=True)
api.get_model_files(P["model"], recursive=False)
snapshot_download(P["model"], revision="master", cache_dir=P["cache"])
print(json.dumps({"ok": True}))
"""


@pytest.fixture
def dialect_hub(hub_process: RunningHub) -> Iterator[RunningHub]:
    """The session hub, emptied, strict, writing no `.gitattributes` of its own."""
    hub_process.control.reset(state=True)
    hub_process.control.configure(gitattributes="off", strict=True)
    yield hub_process


def folders(root: Path) -> tuple[Path, Path]:
    """Version 1 (small files, a nested one and an LFS file) and version 2 (README changed, gone.txt
    deleted); fresh LFS bytes per call, since the hub's blob store outlives its resets."""
    weights = os.urandom(100 * 1024)
    files = {"README.md": "# v1\n", "gone.txt": "bye\n", "sub/notes.txt": "notes\n", "model.safetensors": weights}
    v1 = make_folder(root / "v1", files)
    v2 = make_folder(root / "v2", {**files, "README.md": "# v2\n"})
    (v2 / "gone.txt").unlink()
    return v1, v2


def signatures(entries: list[dict[str, Any]]) -> dict[str, set[Signature]]:
    """route -> the distinct (method, query keys, body shape) it was sent."""
    out: dict[str, set[Signature]] = {}
    for entry in entries:
        body = json.dumps(entry["body"], sort_keys=True)
        out.setdefault(entry["route"], set()).add((entry["method"], tuple(entry["query"]), body))
    return out


def differences(sdk: list[dict[str, Any]], ours: list[dict[str, Any]]) -> dict[tuple[str, str], set[Signature]]:
    """(route, "sdk only" | "ours only") -> the signatures only that side sent on that route."""
    theirs, mine = signatures(sdk), signatures(ours)
    found: dict[tuple[str, str], set[Signature]] = {}
    for route in sorted(set(theirs) | set(mine)):
        for side, one, other in (("sdk only", theirs, mine), ("ours only", mine, theirs)):
            only = one.get(route, set()) - other.get(route, set())
            if only:
                found[(route, side)] = only
    return found


def run_sdk_scenario(hub: RunningHub, tmp_path: Path) -> list[dict[str, Any]]:
    """The SDK's scenario (through the hub's proxy and CA, when it has them); returns the journal."""
    v1, v2 = folders(tmp_path / "sdk")
    params = {"token": hub.tokens["alice"], "model": SDK_MODEL, "v1": str(v1), "v2": str(v2)}
    params["cache"] = str(tmp_path / "sdk-download")
    script = f"import sys; sys.argv = ['scenario', {json.dumps(json.dumps(params))}]\n" + textwrap.dedent(SDK_SCENARIO)
    run_sdk(script, sdk_env(hub, tmp_path / "sdk-home"), timeout=120)
    return hub.control.journal()


def run_our_scenario(hub: RunningHub, tmp_path: Path) -> list[dict[str, Any]]:
    """Our client's scenario (its network variables read from the environment); returns the journal."""
    v1, v2 = folders(tmp_path / "ours")
    with make_client(hub) as client:
        client.login()
        client.create_model(OUR_MODEL)
        client.push_model(OUR_MODEL, v1, commit_message="v1", hash_cache=None)
        client.push_model(OUR_MODEL, v2, commit_message="v2", hash_cache=None)
        client.create_tag(OUR_MODEL, "v1.0")
        client.list_models("alice")
        client.get_model_branches_and_tags(OUR_MODEL)
        client.get_model_files(OUR_MODEL, recursive=True)
        client.get_model_files(OUR_MODEL, recursive=False)
        client.download_model(OUR_MODEL, tmp_path / "our-download")
    return hub.control.journal()


def test_our_client_sends_what_the_sdk_sends(dialect_hub: RunningHub, tmp_path: Path) -> None:
    sdk = run_sdk_scenario(dialect_hub, tmp_path)
    dialect_hub.control.clear_journal()
    ours = run_our_scenario(dialect_hub, tmp_path)
    found = differences(sdk, ours)
    unexplained = {f"{route} ({side}): {sorted(found[route, side])}" for route, side in set(found) - set(DELIBERATE)}
    assert not unexplained, "differences from the SDK with no reason in DELIBERATE:\n" + "\n".join(unexplained)
    assert not set(DELIBERATE) - set(found), (
        f"DELIBERATE lists differences that are gone: {set(DELIBERATE) - set(found)}"
    )
    # Not vacuous: both sides went through every shared step of the scenario.
    shared = set(signatures(sdk)) & set(signatures(ours))
    steps = {"login", "create_model", "lfs_batch", "blob_put", "commit", "create_tag", "list_models", "revisions"}
    assert steps | {"repo_files", "download"} <= shared


# Where we send fewer credential headers than SDK 1.40 to a (route, host), and why. The test fails on a
# difference missing here, on an entry that no longer differs, and on any place we send more than the SDK.
STRICTER_CREDENTIALS: dict[tuple[str, str], str] = {}
CREDENTIALS = frozenset({"authorization", "cookie"})


def credentials_sent(entries: list[dict[str, Any]]) -> dict[tuple[str, str], frozenset[str]]:
    """(route, host) -> every credential header name any of its requests carried."""
    found: dict[tuple[str, str], frozenset[str]] = {}
    for entry in entries:
        key = (entry["route"], entry["host"])
        found[key] = found.get(key, frozenset()) | (frozenset(entry["headers"]) & CREDENTIALS)
    return found


def test_in_the_hubs_network_our_credentials_go_where_the_sdks_go_or_fewer_places(
    topology_process: TopologyHub, tmp_path: Path
) -> None:
    """The same scenario through the proxy, over TLS, with uploads on lfs. and every download redirected to
    the CDN: per route and host, the credential headers we send are the SDK's or fewer, never more."""
    hub = topology_process
    hub.control.reset(state=True)
    hub.control.configure(gitattributes="off", strict=True, download_redirect="all", cdn_url_ttl_seconds=1800)
    sdk = credentials_sent(run_sdk_scenario(hub, tmp_path))
    hub.control.clear_journal()
    with pytest.MonkeyPatch.context() as env:  # our client reads the variables the SDK's requests reads
        for name, value in hub.client_env().items():
            env.setenv(name, value)
        ours = credentials_sent(run_our_scenario(hub, tmp_path))
    shared = set(sdk) & set(ours)
    assert {("blob_put", LFS), ("download", WWW), ("cdn_download", CDN), ("commit", WWW)} <= shared
    more = {key: sorted(ours[key] - sdk[key]) for key in shared if ours[key] - sdk[key]}
    assert not more, f"we send credentials the SDK does not: {more}"
    fewer = {key for key in shared if sdk[key] - ours[key]}
    assert fewer == set(STRICTER_CREDENTIALS), {key: sorted(sdk[key] - ours[key]) for key in fewer}
    assert ours[("cdn_download", CDN)] == frozenset() == sdk[("cdn_download", CDN)]
    assert ours[("blob_put", LFS)] == CREDENTIALS


def test_the_seeds_dropped_operations_send_the_old_sdks_shapes(dialect_hub: RunningHub, tmp_path: Path) -> None:
    model = "alice/wire-old"
    folder = make_folder(tmp_path / "m", {"README.md": "# old\n", "sub/a.txt": "a\n", "gone.txt": "bye\n"})

    def delete_a_file(client: HubClient) -> object:
        (folder / "gone.txt").unlink()
        return client.push_model(model, folder, hash_cache=None)

    with make_client(dialect_hub) as client:
        calls: dict[str, Callable[[], object]] = {
            "login": lambda: client.login(),
            "create_model(chinese_name, original_model_id)": lambda: client.create_model(
                model, chinese_name="线", original_model_id="alice/base"
            ),
            "setup: a first commit": lambda: client.push_model(model, folder, hash_cache=None),
            "get_model(revision)": lambda: client.get_model(model, revision="master"),
            "list_model_revisions(cutoff_timestamp)": lambda: client.list_model_revisions(model, 4102444800),
            "get_model_files(root, recursive=False)": lambda: client.get_model_files(model, root="sub"),
            "list_commits": lambda: client.list_commits(model, "master"),
            "list_models": lambda: client.list_models("alice"),
            "delete a file": lambda: delete_a_file(client),
            "create_branch": lambda: client.create_branch(model, "dev"),
            "delete_model": lambda: client.delete_model(model, confirm=model),
        }
        assert {name for name in calls if not name.startswith("setup")} == set(OLD_SHAPES)
        departures: set[tuple[str, str]] = set()
        for operation, call in calls.items():
            dialect_hub.control.clear_journal()
            call()
            sent = dialect_hub.control.journal()
            for route, method, query, body in OLD_SHAPES.get(operation, []):
                # Lookups an operation makes on the way (revisions, commits, listings) are not compared.
                same = [e for e in sent if (e["route"], e["method"], e["query"]) == (route, method, query)]
                if not same:
                    departures.add((operation, route))
                for entry in same:
                    departures |= {(operation, place) for place in leaves_old_shape(entry["body"], body)}
    assert departures == set(OLD_DIFFERENCES)


# -- datasets: the same comparison for the hub's other repo type ------------------------------------------
SDK_DATASET, OUR_DATASET = "alice/wire-data-sdk", "alice/wire-data-ours"
SDK_DATASET_SCENARIO = """
import json, sys
from modelscope.hub.api import HubApi
from modelscope.hub.snapshot_download import snapshot_download
from modelscope_hub import HubApi as RepoApi

P = json.loads(sys.argv[1])
api, repo_api = HubApi(), RepoApi()
api.login(P["token"])
api.create_repo(P["dataset"], repo_type="dataset")
api.upload_folder(repo_id=P["dataset"], folder_path=P["v1"], repo_type="dataset", commit_message="v1")
api.upload_folder(repo_id=P["dataset"], folder_path=P["v2"], repo_type="dataset", commit_message="v2")
api.delete_files(P["dataset"], repo_type="dataset", file_paths=["gone.txt"])
repo_api.create_repo_tag(P["dataset"], "dataset", "v1.0", revision="master")
api.list_datasets(owner_or_group="alice")
repo_api.list_repo_revisions(P["dataset"], "dataset")
repo_api.list_repo_files(P["dataset"], "dataset")
snapshot_download(P["dataset"], repo_type="dataset", revision="master", cache_dir=P["cache"])
print(json.dumps({"ok": True}))
"""
# Differences between the SDK's dataset requests and ours: (route, side) -> why.
DATASET_DELIBERATE: dict[tuple[str, str], str] = {
    ("whoami", "sdk only"): DELIBERATE[("whoami", "sdk only")],
    ("get_dataset", "ours only"): "push_dataset asks whether the dataset exists before creating it (as push_model "
    "does); SDK 1.40 creates blindly and swallows the 400",
    ("dataset_commits", "ours only"): "create_tag and every ref we read resolve to a commit id (GET commits?Ref, the "
    "model route's shape), so a branch moving meanwhile cannot misplace a tag or mix commits in a download",
}


def dataset_folders(root: Path) -> tuple[Path, Path]:
    """Version 1 (a README, a small .jsonl that goes LFS for a dataset, a nested .csv, a file to delete) and
    version 2 (README changed, gone.txt deleted); fresh bytes per call."""
    files = {"README.md": "# v1\n", "gone.txt": "bye\n", "data/train.jsonl": os.urandom(64), "data/x.csv": "a\n1\n"}
    v1 = make_folder(root / "v1", files, config=None)
    v2 = make_folder(root / "v2", {**files, "README.md": "# v2\n"}, config=None)
    (v2 / "gone.txt").unlink()
    return v1, v2


def test_our_dataset_requests_are_the_sdks(dialect_hub: RunningHub, tmp_path: Path) -> None:
    """push_dataset (twice), create_tag, list_datasets, revisions, the paged tree and download_dataset against
    SDK 1.40's create_repo / upload_folder / delete_files / create_repo_tag / list_datasets / list_repo_revisions /
    list_repo_files / snapshot_download, all with repo_type="dataset"."""
    v1, v2 = dataset_folders(tmp_path / "sdk")
    params = {"token": dialect_hub.tokens["alice"], "dataset": SDK_DATASET, "v1": str(v1), "v2": str(v2)}
    params["cache"] = str(tmp_path / "sdk-download")
    script = f"import sys; sys.argv = ['scenario', {json.dumps(json.dumps(params))}]\n" + textwrap.dedent(
        SDK_DATASET_SCENARIO
    )
    run_sdk(script, sdk_env(dialect_hub, tmp_path / "sdk-home"), timeout=120)
    sdk = dialect_hub.control.journal()
    dialect_hub.control.clear_journal()
    v1, v2 = dataset_folders(tmp_path / "ours")
    with make_client(dialect_hub) as client:
        client.login()
        client.create_dataset(OUR_DATASET)
        client.push_dataset(OUR_DATASET, v1, commit_message="v1", hash_cache=None)
        client.push_dataset(OUR_DATASET, v2, commit_message="v2", hash_cache=None)
        client.create_tag(OUR_DATASET, "v1.0", repo_type="dataset")
        client.list_datasets("alice")
        client.get_dataset_branches_and_tags(OUR_DATASET)
        client.get_dataset_files(OUR_DATASET, recursive=True)
        client.download_dataset(OUR_DATASET, tmp_path / "our-download")
    ours = dialect_hub.control.journal()
    found = differences(sdk, ours)
    unexplained = {
        f"{route} ({side}): {sorted(found[route, side])}" for route, side in set(found) - set(DATASET_DELIBERATE)
    }
    assert not unexplained, "differences from the SDK with no reason in DATASET_DELIBERATE:\n" + "\n".join(unexplained)
    assert not set(DATASET_DELIBERATE) - set(found), f"gone: {set(DATASET_DELIBERATE) - set(found)}"
    shared = set(signatures(sdk)) & set(signatures(ours))
    steps = {"create_dataset", "lfs_batch", "blob_put", "commit", "dataset_create_tag", "list_datasets"}
    assert steps | {"dataset_revisions", "dataset_tree", "dataset_download"} <= shared
