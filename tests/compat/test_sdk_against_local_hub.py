"""The official SDK (`modelscope` 1.40.2 over `modelscope_hub` 0.5.1) against local_hub.

Every step runs the SDK in a subprocess: its `HubConfig` is a process-wide singleton that reads
`MODELSCOPE_ENDPOINT`, `MODELSCOPE_HOME` and the token once, so `modelscope` is never imported
here. Each test gets its own `MODELSCOPE_HOME`/`MODELSCOPE_CACHE` under `tmp_path` (`sdk_env`),
and conftest disables the SDK's upload cache (`MODELSCOPE_UPLOAD_CACHE_ENABLED=false`).

A script prints one JSON object last; `call(...)` in the prelude turns an SDK call into
`{"raised": false, "value": ...}` or `{"raised": true, "type", "mro", "status", "message"}` so the
assertions here can name the SDK's exception classes without importing them.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.folders import tree_of
from tests.helpers.hub import RunningHub, hub_own_files
from tests.helpers.sdk import run_sdk, sdk_env

pytestmark = pytest.mark.compat

MIB = 1 << 20
BRANCH_ONLY = "You can only create or edit files when you are on a branch"

PRELUDE = '''
import json, logging, os, sys

from modelscope.hub.api import HubApi
from modelscope.hub.snapshot_download import snapshot_download

LOG = []


class _Keep(logging.Handler):
    def emit(self, record):
        LOG.append(record.getMessage())


logging.getLogger("modelscope_hub").addHandler(_Keep(level=logging.WARNING))


def call(fn, *args, **kwargs):
    """Run an SDK call; describe its result or the exception it raised."""
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:
        response = getattr(exc, "response", None)
        return {
            "raised": True,
            "type": type(exc).__name__,
            "mro": [c.__name__ for c in type(exc).__mro__],
            "status": getattr(exc, "status_code", None) or getattr(response, "status_code", None),
            "message": str(exc),
        }
    return {"raised": False, "value": value}


def out(result):
    print(json.dumps(result, default=str))
'''


def sdk(hub: RunningHub, home: Path, body: str, *, token: str | None = None, **params: Any) -> dict[str, Any]:
    """Run `body` (after the prelude, with `P` = params) with the official SDK in a fresh process."""
    script = PRELUDE + f"P = json.loads({json.dumps(params)!r})\n" + textwrap.dedent(body)
    return run_sdk(script, sdk_env(hub, home, token), timeout=120)


def make_folder(root: Path) -> Path:
    """Nested dirs, small text files, and a 3 MiB binary (an LFS file by suffix and by size), fresh each
    time: the session hub's blob store outlives its per-test reset, and a blob it has is not sent again."""
    files = {
        "README.md": b"# demo model\n",
        "config.json": b'{"architectures": ["Demo"], "hidden": 8}\n',
        "configuration.json": b'{"framework": "pytorch", "task": "text-generation"}\n',
        "tokenizer/vocab.txt": "\n".join(f"tok{i}" for i in range(200)).encode(),
        "sub/deep/notes.txt": "naïve ünïcode ✓\n".encode(),
        "weights/model.safetensors": os.urandom(3 * MIB),
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Per-route request counts and byte/commit counters that changed between two stats snapshots."""
    changes = {f"requests.{k}": v - before["requests"].get(k, 0) for k, v in after["requests"].items()}
    for key in ("blob_puts", "blob_bytes_received", "blob_bytes_stored", "commits", "download_bytes_sent"):
        changes[key] = after[key] - before[key]
    return {k: v for k, v in changes.items() if v}


def test_login_returns_the_git_token_and_survives_into_a_second_process(hub, tmp_path):
    token = hub.tokens["alice"]
    wire = hub.http().post(f"{hub.url}/api/v1/login", json={"AccessToken": token}, timeout=10).json()["Data"]

    first = sdk(
        hub,
        tmp_path,
        """
        git_token, cookies = HubApi().login(P["login_token"])
        out({"git_token": git_token, "cookies": sorted(c.name for c in cookies)})
        """,
        login_token=token,  # passed to login() only, not via MODELSCOPE_API_TOKEN
    )
    assert first["git_token"] == wire["AccessToken"]
    assert first["git_token"] != token
    assert "m_session_id" in first["cookies"]

    # Same MODELSCOPE_HOME, no token in the environment: the saved login authenticates.
    second = sdk(hub, tmp_path, 'out(call(HubApi().create_model, "alice/after-login"))')
    assert second == {"raised": False, "value": f"{hub.url}/models/alice/after-login"}

    # A fresh home without a login cannot create: proves it was the saved login that worked.
    anonymous = sdk(hub, tmp_path / "elsewhere", 'out(call(HubApi().create_model, "alice/anonymous"))')
    assert anonymous["raised"] and anonymous["type"] == "ValueError", anonymous
    assert hub.control.stats()["statuses"] == {
        "login 200": 2,  # ours on the wire, and the SDK's
        "whoami 200": 1,  # the SDK checks the token after logging in
        "create_model 200": 1,
        "create_model 401": 1,
    }


def test_create_model_then_a_duplicate_is_already_exists(hub, tmp_path):
    result = sdk(
        hub,
        tmp_path,
        """
        api = HubApi()
        out({
            "first": call(api.create_model, "alice/dup", visibility=5, license="Apache License 2.0"),
            "again": call(api.create_model, "alice/dup"),
            "model": call(lambda: api.get_model("alice/dup")["Id"]),
        })
        """,
        token=hub.tokens["alice"],
    )
    assert result["first"] == {"raised": False, "value": f"{hub.url}/models/alice/dup"}
    again = result["again"]
    assert again["raised"] and "AlreadyExistsError" in again["mro"] and again["status"] == 400, again
    assert result["model"] == {"raised": False, "value": "alice/dup"}


def test_upload_folder_listings_and_snapshot_are_byte_identical(hub, tmp_path):
    folder = make_folder(tmp_path / "folder")
    result = sdk(
        hub,
        tmp_path,
        """
        api = HubApi()
        api.create_model("alice/demo")
        uploaded = api.upload_folder(repo_id="alice/demo", folder_path=P["folder"], commit_message="first")
        branches, tags = api.get_model_branches_and_tags("alice/demo")
        listed = api.list_models("alice")
        path = snapshot_download("alice/demo", revision="master", cache_dir=P["cache"])
        out({
            "uploaded": uploaded,
            "files": api.get_model_files("alice/demo", revision="master"),
            "branches": branches,
            "tags": tags,
            "models": [m["Id"] for m in listed["Models"]],
            "total": listed["TotalCount"],
            "snapshot": path,
        })
        """,
        token=hub.tokens["alice"],
        folder=str(folder),
        cache=str(tmp_path / "download"),
    )
    assert len(result["uploaded"]["oid"]) == 40
    expected = {rel: (folder / rel).stat().st_size for rel in tree_of(folder)}
    own = hub_own_files(hub)  # the hub's .gitattributes, in the modes that write one: the SDK sees it too
    listed = {**expected, **{path: len(content) for path, content in own.items()}}
    # The compat get_model_files keeps the listing's `tree` entries (folders, Size 0) as the old SDK did.
    folders = {"sub", "sub/deep", "tokenizer", "weights"}
    assert {f["Path"]: f["Size"] for f in result["files"]} == {**listed, **dict.fromkeys(folders, 0)}
    assert result["branches"] == ["master"]
    assert result["tags"] == []
    assert result["models"] == ["alice/demo"] and result["total"] == 1

    snapshot = Path(result["snapshot"])
    assert snapshot.is_relative_to(tmp_path / "download")  # cache_dir is honoured
    assert tree_of(snapshot) == {**tree_of(folder), **{p: hashlib.sha256(c).hexdigest() for p, c in own.items()}}
    match, mismatch, errors = filecmp.cmpfiles(folder, snapshot, list(expected), shallow=False)
    assert sorted(match) == sorted(expected) and not mismatch and not errors

    stats = hub.control.stats()
    assert stats["blob_puts"] == 1 and stats["blob_bytes_received"] == 3 * MIB  # only the LFS file is PUT
    assert stats["commits"] == 1  # one batch, small files inline
    assert stats["requests"]["download"] == len(listed)
    assert stats["statuses"].get("create_model 400") == 1  # upload_folder's own create, refused and swallowed


def test_identical_second_upload_folder_reuses_the_blob_but_still_commits(hub, tmp_path, record_property):
    folder = make_folder(tmp_path / "folder")
    upload = """
        api = HubApi()
        if P["create"]:
            api.create_model("alice/again")
        result = api.upload_folder(repo_id="alice/again", folder_path=P["folder"])
        out({"result": result, "files": api.get_model_files("alice/again")})
    """
    first = sdk(hub, tmp_path, upload, token=hub.tokens["alice"], folder=str(folder), create=True)
    before = hub.control.stats()
    second = sdk(hub, tmp_path, upload, token=hub.tokens["alice"], folder=str(folder), create=False)
    change = delta(before, hub.control.stats())
    record_property("second_upload_stats_delta", json.dumps(change, sort_keys=True))

    assert second["files"] == first["files"]  # same tree (each entry's Revision is not compared by the compat list)
    assert change.get("blob_puts", 0) == 0  # the LFS batch says the blob is stored: no second PUT
    assert change["requests.lfs_batch"] == 1
    # The SDK has no no-op check, so the second upload commits again: local_hub, like a git host given an
    # identical tree, records it as a new commit (with the same files).
    assert change.get("commits", 0) == 1, change
    assert second["result"]["oid"] != first["result"]["oid"]


def test_unknown_model_is_the_sdks_not_found(hub, tmp_path):
    result = sdk(
        hub,
        tmp_path,
        """
        api = HubApi()
        out({
            "get_model": call(api.get_model, "alice/missing"),
            "files": call(api.get_model_files, "alice/missing"),
            "revisions": call(api.get_model_branches_and_tags, "alice/missing"),
            "snapshot": call(snapshot_download, "alice/missing", revision="master", cache_dir=P["cache"]),
        })
        """,
        token=hub.tokens["alice"],
        cache=str(tmp_path / "download"),
    )
    for name in ("get_model", "files", "revisions"):
        assert result[name]["raised"] and "NotExistError" in result[name]["mro"], (name, result[name])
    snap = result["snapshot"]
    assert snap["raised"] and snap["type"] == "HTTPError" and snap["status"] == 404, snap


def test_private_model_is_invisible_to_another_user(hub, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "README.md").write_text("private\n")
    alice = sdk(
        hub,
        tmp_path / "alice",
        """
        api = HubApi()
        api.create_model("alice/secret", visibility=1)
        api.upload_folder(repo_id="alice/secret", folder_path=P["folder"])
        path = snapshot_download("alice/secret", revision="master", cache_dir=P["cache"])
        out({
            "visibility": int(api.get_model("alice/secret")["Visibility"]),
            "listed": [m["Id"] for m in api.list_models("alice")["Models"]],
            "readme": open(os.path.join(path, "README.md")).read(),
        })
        """,
        token=hub.tokens["alice"],
        folder=str(folder),
        cache=str(tmp_path / "alice-download"),
    )
    assert alice == {"visibility": 1, "listed": ["alice/secret"], "readme": "private\n"}

    bob = sdk(
        hub,
        tmp_path / "bob",
        """
        api = HubApi()
        out({
            "get_model": call(api.get_model, "alice/secret"),
            "snapshot": call(snapshot_download, "alice/secret", revision="master", cache_dir=P["cache"]),
            "listed": [m["Id"] for m in api.list_models("alice")["Models"]],
        })
        """,
        token=hub.tokens["bob"],
        cache=str(tmp_path / "bob-download"),
    )
    assert bob["get_model"]["raised"] and "NotExistError" in bob["get_model"]["mro"], bob["get_model"]
    assert bob["snapshot"]["raised"] and bob["snapshot"]["type"] == "HTTPError", bob["snapshot"]
    assert bob["snapshot"]["status"] == 404
    assert bob["listed"] == []
    assert not list((tmp_path / "bob-download").rglob("README.md"))  # nothing leaked to bob's cache


def test_create_model_tag_appears_and_upload_to_a_tag_or_missing_branch_is_refused(hub, tmp_path):
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "README.md").write_text("v1\n")
    (folder / "sub" / "a.txt").write_text("a\n")
    result = sdk(
        hub,
        tmp_path,
        """
        api = HubApi()
        api.create_model("alice/tagged")
        api.upload_folder(repo_id="alice/tagged", folder_path=P["folder"])
        tag_url = api.create_model_tag("alice/tagged", "v1.0")
        branches, tags = api.get_model_branches_and_tags("alice/tagged")
        path = snapshot_download("alice/tagged", revision="v1.0", cache_dir=P["cache"])
        out({
            "tag_url": tag_url,
            "branches": branches,
            "tags": tags,
            "at_tag": sorted(os.path.relpath(os.path.join(d, f), path) for d, _, fs in os.walk(path) for f in fs),
            "to_tag": call(api.upload_folder, repo_id="alice/tagged", folder_path=P["folder"], revision="v1.0"),
            "to_missing": call(api.upload_folder, repo_id="alice/tagged", folder_path=P["folder"], revision="nope"),
            "log": LOG,
        })
        """,
        token=hub.tokens["alice"],
        folder=str(folder),
        cache=str(tmp_path / "download"),
    )
    assert result["tag_url"].endswith("/models/alice/tagged/tags/v1.0")
    assert result["branches"] == ["master"] and result["tags"] == ["v1.0"]
    assert result["at_tag"] == sorted(["README.md", "sub/a.txt", *hub_own_files(hub)])
    for name in ("to_tag", "to_missing"):
        # The SDK collects per-file failures and raises a summary StorageError; the hub's reason is logged.
        assert result[name]["raised"] and result[name]["type"] == "StorageError", (name, result[name])
    assert sum(BRANCH_ONLY in line for line in result["log"]) >= 2
    statuses = hub.control.stats()["statuses"]
    assert statuses["commit 400"] == 2 and statuses["commit 200"] == 1
    assert statuses["create_tag 200"] == 1


def test_upload_to_an_existing_non_master_branch_works(hub, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "README.md").write_text("on master\n")
    body = """
        api = HubApi()
        if P["create"]:
            api.create_model("alice/branchy")
        out({"upload": call(api.upload_folder, repo_id="alice/branchy", folder_path=P["folder"], revision=P["rev"])})
    """
    token = hub.tokens["alice"]
    assert not sdk(hub, tmp_path, body, token=token, folder=str(folder), rev="master", create=True)["upload"]["raised"]
    hub.control.create_branch("alice/branchy", "dev")  # what git push or the website would do
    (folder / "README.md").write_text("on dev\n")
    assert not sdk(hub, tmp_path, body, token=token, folder=str(folder), rev="dev", create=False)["upload"]["raised"]
    listing = sdk(
        hub,
        tmp_path,
        """
        api = HubApi()
        branches, _ = api.get_model_branches_and_tags("alice/branchy")
        dev = snapshot_download("alice/branchy", revision="dev", cache_dir=P["cache"] + "/dev")
        master = snapshot_download("alice/branchy", revision="master", cache_dir=P["cache"] + "/master")
        read = lambda root: open(os.path.join(root, "README.md")).read()
        out({"branches": branches, "dev": read(dev), "master": read(master)})
        """,
        token=token,
        cache=str(tmp_path / "download"),
    )
    assert listing == {"branches": ["master", "dev"], "dev": "on dev\n", "master": "on master\n"}
