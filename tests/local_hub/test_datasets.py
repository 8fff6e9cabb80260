"""Datasets over HTTP (protocol.md §21): a repo type of the same store and routes, checked route by route with
plain `requests` against the session hub: the multipart create and its "already exists", both descriptions,
listings, the paged tree (also by numeric id), revisions and tags, downloads, both file deletes, git, the web
page, visibility, and strict mode accepting what the SDK sends."""

from __future__ import annotations

import hashlib
import os
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from local_hub.hub_files import DATASET_GITATTRIBUTES, GITATTRIBUTES, GITATTRIBUTES_PATH
from tests.helpers.hub_http import (
    ENVELOPE,
    TIMEOUT,
    api,
    commit_to,
    create_dataset,
    create_model,
    delete,
    git_token,
    lfs,
    normal,
    paths,
    sha,
)

DS = "alice/ds"
# What a `repo/tree` entry carries: a model listing's keys (§Op 7) plus BlobId and Lfs (§21.5).
TREE_KEYS = {
    "BlobId",
    "CommitMessage",
    "CommittedDate",
    "CommitterName",
    "InCheck",
    "IsLFS",
    "Lfs",
    "Mode",
    "Name",
    "Path",
    "Revision",
    "Sha256",
    "Size",
    "Type",
}
FILES = {f"data/{i:02d}.txt": f"row {i}\n".encode() for i in range(7)} | {"README.md": b"# ds\n", "z.csv": b"a,b\n"}


def ok(response: requests.Response) -> Any:
    """The `Data` of a 200 legacy answer."""
    assert response.status_code == 200, response.text
    assert set(response.json()) >= ENVELOPE
    return response.json()["Data"]


def refused(response: requests.Response, status: int, code: int | None = None) -> dict[str, Any]:
    """A legacy error answer with this status (and business code)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["Success"] is False and body["Code"] == (code or status), body
    return body


def new_dataset(hub, dataset_id: str = DS, files: dict[str, bytes] | None = None, **fields: Any) -> str:
    """A dataset with `files` committed inline (none: empty); its head commit id ('' when empty)."""
    ok(create_dataset(hub, dataset_id, **fields))
    if not files:
        return ""
    return ok(commit_to(hub, "dataset", dataset_id, [normal(p, c) for p, c in files.items()]))["oid"]


def tree(hub, dataset_id: str = DS, user: str | None = "alice", **params: Any) -> requests.Response:
    return api(hub, "GET", f"/api/v1/datasets/{dataset_id}/repo/tree", user, params=params)


def tree_paths(hub, dataset_id: str = DS, **params: Any) -> list[str]:
    return paths(ok(tree(hub, dataset_id, **params))["Files"])


def upload_blob(hub, dataset_id: str, content: bytes) -> None:
    """The SDK's LFS batch and PUT on the dataset's upload routes (§21.7)."""
    body = {"operation": "upload", "objects": [{"oid": sha(content), "size": len(content)}]}
    objects = ok(api(hub, "POST", f"/api/v1/repos/datasets/{dataset_id}/info/lfs/objects/batch", json=body))
    href = objects["objects"][0]["actions"]["upload"]["href"]
    assert f"/api/v1/repos/datasets/{dataset_id}/info/lfs/objects/" in href
    put = requests.put(href, data=content, headers={"Cookie": f"m_session_id={hub.tokens['alice']}"}, timeout=TIMEOUT)
    assert put.status_code == 200, put.text


# -- create and describe -------------------------------------------------------------------------------
def test_create_is_a_multipart_form_and_answers_the_legacy_description(hub):
    data = ok(create_dataset(hub, DS, visibility="public", ChineseName="数据", Description="d", Extra="kept out"))
    assert isinstance(data["Id"], int) and data["Type"] == 4
    assert (data["Owner"], data["Name"], data["Path"], data["Visibility"]) == ("alice", "ds", DS, 5)
    assert (data["License"], data["ChineseName"], data["Description"]) == ("Apache-2.0", "数据", "d")
    # Visibility by number or by name; the default is public.
    assert ok(create_dataset(hub, "alice/internal", visibility="internal"))["Visibility"] == 3
    assert ok(create_dataset(hub, "alice/private", visibility=1))["Visibility"] == 1
    form = {"Owner": (None, "alice"), "Name": (None, "bare")}
    assert ok(api(hub, "POST", "/api/v1/datasets", files=form))["Visibility"] == 5
    assert ok(api(hub, "GET", "/api/v1/datasets/alice/bare"))["License"] == "Apache-2.0"
    refused(create_dataset(hub, "alice/bad", visibility=2), 400)
    refused(create_dataset(hub, "alice/bad", ProtectedMode=3), 400)
    refused(create_dataset(hub, "alice/bad", None), 401)
    refused(create_dataset(hub, "alice/bob-made", "bob"), 403)  # bob may not create under alice
    ok(create_dataset(hub, "team/shared", "carol"))  # a group member may


def test_a_taken_name_is_400_with_the_dataset_code_and_changes_nothing(hub):
    head = new_dataset(hub, files={"a.txt": b"a"}, License="MIT", visibility=1)
    before = ok(api(hub, "GET", f"/api/v1/datasets/{DS}"))
    again = refused(create_dataset(hub, DS, License="Apache-2.0", visibility=5), 400, 10020101001)
    assert "already exists" in again["Message"]
    assert ok(api(hub, "GET", f"/api/v1/datasets/{DS}")) == before  # neither visibility nor license changed
    assert tree_paths(hub, Recursive="True") == ["a.txt"]
    assert ok(api(hub, "GET", f"/api/v1/datasets/{DS}/revisions"))["RevisionMap"]["Branches"][0]["CommitId"] == head


def test_metadata_in_both_forms_and_404_when_missing(hub):
    new_dataset(hub, files={"a.txt": b"abc"}, ChineseName="数据")
    legacy = ok(api(hub, "GET", f"/api/v1/datasets/{DS}", None))
    expected = {"Id", "Type", "Name", "Owner", "Namespace", "Path", "Visibility", "License", "ChineseName"}
    expected |= {"Description", "Downloads", "Likes", "Tags", "GmtCreate", "LastUpdatedTime"}
    assert expected <= set(legacy) and legacy["Tags"] == [] and isinstance(legacy["GmtCreate"], int)
    openapi = api(hub, "GET", f"/openapi/v1/datasets/{DS}", None).json()
    assert openapi["success"] is True
    data = openapi["data"]
    assert (data["id"], data["private"], data["gated"], data["display_name"]) == (DS, False, False, "数据")
    assert data["file_size"] == 3 and data["license"] == "Apache-2.0" and data["tags"] == []
    assert data["created_at"].endswith("Z") and data["last_modified"].endswith("Z")
    for path in ("/api/v1/datasets/alice/missing", "/openapi/v1/datasets/alice/missing"):
        assert api(hub, "GET", path).status_code == 404
    assert api(hub, "GET", "/openapi/v1/datasets/alice/missing").json()["code"] == "ResourceNotFound"


def test_a_model_and_a_dataset_of_the_same_name_are_two_repos(hub):
    create_model(hub, "alice/twin")
    ok(commit_to(hub, "model", "alice/twin", [normal("model.txt", b"m")]))
    dataset_head = new_dataset(hub, "alice/twin", files={"data.txt": b"d"})
    model = ok(api(hub, "GET", "/api/v1/models/alice/twin"))
    dataset = ok(api(hub, "GET", "/api/v1/datasets/alice/twin"))
    assert model["Id"] != dataset["Id"]
    assert tree_paths(hub, "alice/twin", Recursive="True") == ["data.txt"]
    model_files = ok(api(hub, "GET", "/api/v1/models/alice/twin/repo/files", params={"Recursive": "True"}))
    assert paths(model_files["Files"]) == ["model.txt"]
    # A dataset's id is not a model's: the numeric tree route knows datasets only.
    assert tree(hub, str(model["Id"]), Revision="master").status_code == 404
    ok(api(hub, "DELETE", "/api/v1/datasets/alice/twin"))
    assert api(hub, "GET", "/api/v1/datasets/alice/twin").status_code == 404
    assert ok(api(hub, "GET", "/api/v1/models/alice/twin"))["Id"] == model["Id"]  # the model stays
    assert dataset_head not in str(ok(api(hub, "GET", "/api/v1/models/alice/twin/revisions")))


def test_a_private_dataset_is_invisible_to_others(hub):
    new_dataset(hub, "alice/secret", files={"a.txt": b"s"}, visibility=1)
    dataset_id = ok(api(hub, "GET", "/api/v1/datasets/alice/secret"))["Id"]
    for user in ("bob", "carol", None):  # carol is logged in, but not alice nor in a group with her
        for path, params in (
            ("/api/v1/datasets/alice/secret", {}),
            ("/openapi/v1/datasets/alice/secret", {}),
            ("/api/v1/datasets/alice/secret/repo/tree", {"Recursive": "True"}),
            (f"/api/v1/datasets/{dataset_id}/repo/tree", {"Root": "/"}),
            ("/api/v1/datasets/alice/secret/repo", {"FilePath": "a.txt"}),
            ("/api/v1/datasets/alice/secret/revisions", {}),
        ):
            assert api(hub, "GET", path, user, params=params).status_code == 404, (user, path)
        listed = api(hub, "GET", "/openapi/v1/datasets", user, params={"owner": "alice"}).json()["data"]
        assert listed["datasets"] == [] and listed["total_count"] == 0
    assert api(hub, "GET", "/api/v1/datasets/alice/secret/repo", params={"FilePath": "a.txt"}).content == b"s"
    refused(api(hub, "DELETE", "/api/v1/datasets/alice/secret", "bob"), 404)


# -- listings --------------------------------------------------------------------------------------------
def test_listings_page_through_datasets_only(hub):
    for i in range(5):
        ok(create_dataset(hub, f"alice/d{i}"))
    create_model(hub, "alice/not-a-dataset")
    ok(create_dataset(hub, "bob/other", "bob"))
    pages = [
        api(hub, "GET", "/openapi/v1/datasets", None, params={"owner": "alice", "page_number": n, "page_size": 2})
        for n in (1, 2, 3)
    ]
    data = [p.json()["data"] for p in pages]
    assert [[d["id"] for d in page["datasets"]] for page in data] == [
        ["alice/d0", "alice/d1"],
        ["alice/d2", "alice/d3"],
        ["alice/d4"],
    ]
    assert {(page["total_count"], page["page_size"]) for page in data} == {(5, 2)}
    assert [page["page_number"] for page in data] == [1, 2, 3]
    assert set(data[0]["datasets"][0]) >= {"id", "private", "license", "created_at", "last_modified", "file_size"}
    everyone = api(hub, "GET", "/openapi/v1/datasets", None, params={"page_size": 50}).json()["data"]
    assert everyone["total_count"] == 6
    legacy = api(hub, "GET", "/api/v1/datasets", params={"owner": "alice", "PageNumber": 2, "PageSize": 4}).json()
    assert [d["Path"] for d in legacy["Data"]] == ["alice/d4"] and legacy["Data"][0]["Type"] == 4
    assert (legacy["TotalCount"], legacy["PageNumber"], legacy["PageSize"]) == (5, 2, 4)


def test_tree_pages_end_on_a_short_page(hub):
    head = new_dataset(hub, files=FILES)
    everything = sorted(FILES)
    page = {"Revision": "master", "Recursive": "True", "PageSize": 4}
    pages = [tree_paths(hub, **page, PageNumber=n) for n in (1, 2, 3)]
    assert pages == [everything[:4], everything[4:8], everything[8:]]  # 4, 4, 1: the short page ends it
    # An exact multiple: the page after the last full one is empty, not an error.
    assert tree_paths(hub, **{**page, "PageSize": 9}, PageNumber=2) == []
    assert len(tree_paths(hub, Recursive="True", PageNumber=1)) == 9  # PageSize defaults to 100
    assert tree_paths(hub, Recursive="True") == everything  # no paging: everything, files only
    files = ok(tree(hub, Recursive="True", PageNumber=1, PageSize=1))["Files"]
    assert set(files[0]) == TREE_KEYS and files[0]["Type"] == "blob" and files[0]["Revision"] == head
    assert files[0]["Sha256"] == sha(FILES["README.md"]) == files[0]["BlobId"] and files[0]["Lfs"] is None
    # One level: files and folders (a folder is a `tree` entry), Root=/ is the whole repo.
    level = ok(tree(hub, Recursive="False", Root="/"))["Files"]
    assert [(f["Path"], f["Type"]) for f in level] == [("README.md", "blob"), ("data", "tree"), ("z.csv", "blob")]
    assert tree_paths(hub, Recursive="False", Root="data", PageNumber=2, PageSize=5) == ["data/05.txt", "data/06.txt"]
    # Root keeps full paths; a Root without files and a missing revision are 404s.
    assert tree_paths(hub, Recursive="True", Root="data", PageNumber=2, PageSize=6) == ["data/06.txt"]
    refused(tree(hub, Recursive="True", Root="nope", PageNumber=1, PageSize=6), 404)
    refused(tree(hub, Recursive="True", Revision="nope"), 404)
    refused(tree(hub, Recursive="True", PageSize=0), 400)


def test_tree_of_an_empty_dataset_and_a_missing_one(hub):
    new_dataset(hub)
    assert tree_paths(hub, Recursive="True", PageNumber=1, PageSize=200) == []
    refused(tree(hub, Recursive="True", Root="data"), 404)
    refused(tree(hub, "alice/missing", Recursive="True"), 404)


def test_tree_by_numeric_id_is_the_same_listing(hub):
    new_dataset(hub, files=FILES)
    dataset_id = ok(api(hub, "GET", f"/api/v1/datasets/{DS}"))["Id"]
    params = {"Revision": "master", "Root": "/", "Recursive": "True", "PageNumber": 1, "PageSize": 100}
    assert ok(tree(hub, str(dataset_id), **params)) == ok(tree(hub, DS, **params))
    level = ok(tree(hub, str(dataset_id), Revision="master"))["Files"]  # the meta file list's call (§21.5C)
    assert paths(level) == ["README.md", "data", "z.csv"]
    refused(tree(hub, str(dataset_id + 1000), Revision="master"), 404)


# -- revisions, downloads, deletes -----------------------------------------------------------------------
def test_revisions_tags_and_commits_as_for_models(hub):
    first = new_dataset(hub, files={"a.txt": b"1"})
    tagged = ok(api(hub, "POST", f"/api/v1/datasets/{DS}/repo/tag", json={"TagName": "v1", "Ref": "master"}))
    assert tagged == {"TagName": "v1", "Ref": "master", "CommitId": first}
    second = ok(commit_to(hub, "dataset", DS, [normal("a.txt", b"2")]))["oid"]
    revision_map = ok(api(hub, "GET", f"/api/v1/datasets/{DS}/revisions"))["RevisionMap"]
    assert revision_map["Branches"][0]["Revision"] == "master" and revision_map["Branches"][0]["CommitId"] == second
    assert revision_map["Tags"][0]["Revision"] == "v1" and revision_map["Tags"][0]["CommitId"] == first
    assert isinstance(revision_map["Tags"][0]["CreatedAt"], int)
    assert ok(api(hub, "GET", f"/api/v1/datasets/{DS}/revisions", params={"EndTime": 1}))["RevisionMap"]["Tags"] == []
    history = ok(api(hub, "GET", f"/api/v1/datasets/{DS}/commits", params={"Ref": "v1"}))
    assert [c["Id"] for c in history["Commit"]] == [first]
    download = api(hub, "GET", f"/api/v1/datasets/{DS}/repo", params={"Revision": "v1", "FilePath": "a.txt"})
    assert download.content == b"1"
    refused(api(hub, "POST", f"/api/v1/datasets/{DS}/repo/tag", "bob", json={"TagName": "v2"}), 403)


def test_download_honours_range_and_names_the_sha256(hub):
    content = os.urandom(100_000)
    new_dataset(hub)
    upload_blob(hub, DS, content)
    ok(commit_to(hub, "dataset", DS, [lfs("data/big.bin", content), normal("small.csv", b"a,b\n")]))
    url = f"/api/v1/datasets/{DS}/repo"
    params = {"Revision": "master", "FilePath": "data/big.bin"}
    whole = api(hub, "GET", url, params=params)
    assert whole.content == content and whole.headers["x-linked-etag"] == f'"{sha(content)}"'
    part = api(hub, "GET", url, params=params, headers={"Range": "bytes=99990-"})
    assert part.status_code == 206 and part.content == content[99990:]
    assert part.headers["content-range"] == "bytes 99990-99999/100000"
    assert api(hub, "GET", url, params=params, headers={"Range": "bytes=100000-"}).status_code == 416
    # MsDataset's URL builder adds Source and View.
    legacy_url = api(
        hub, "GET", url, params={"Source": "SDK", "Revision": "master", "FilePath": "small.csv", "View": "False"}
    )
    assert legacy_url.content == b"a,b\n"
    listed = ok(tree(hub, Recursive="True"))["Files"]
    assert [(f["Path"], f["IsLFS"], f["Lfs"]) for f in listed] == [
        ("data/big.bin", True, {"oid": sha(content), "size": 100_000}),
        ("small.csv", False, None),
    ]
    refused(api(hub, "GET", url, params={"FilePath": "missing.bin"}), 404)


def test_files_are_deleted_by_a_commit_or_by_the_legacy_delete(hub):
    new_dataset(hub, files={"a.txt": b"a", "b.txt": b"b", "keep.txt": b"k"})
    ok(commit_to(hub, "dataset", DS, [delete("a.txt")], message="Delete files"))
    ok(api(hub, "DELETE", f"/api/v1/datasets/{DS}/repo", params={"FilePath": "b.txt"}))  # no Revision: master
    assert tree_paths(hub, Recursive="True") == ["keep.txt"]
    refused(api(hub, "DELETE", f"/api/v1/datasets/{DS}/repo", params={"FilePath": "b.txt"}), 400)
    refused(api(hub, "DELETE", f"/api/v1/datasets/{DS}/repo", "bob", params={"FilePath": "keep.txt"}), 403)


def test_delete_dataset_needs_its_owner(hub):
    new_dataset(hub, files={"a.txt": b"a"})
    refused(api(hub, "DELETE", f"/api/v1/datasets/{DS}", None), 401)
    refused(api(hub, "DELETE", f"/api/v1/datasets/{DS}", "bob"), 403)
    ok(api(hub, "DELETE", f"/api/v1/datasets/{DS}"))
    refused(api(hub, "GET", f"/api/v1/datasets/{DS}"), 404)
    ok(create_dataset(hub, DS))  # the name is free again, and the new dataset starts empty
    assert tree_paths(hub, Recursive="True") == []


# -- the hub's own files, git, the page, what is not emulated ---------------------------------------------
@pytest.mark.parametrize("mode", ["on-create", "on-first-commit"])
def test_the_hub_writes_the_dataset_gitattributes(hub, mode):
    hub.control.configure(gitattributes=mode)
    new_dataset(hub, files={"a.jsonl": b"{}\n"})
    create_model(hub, "alice/model")
    ok(commit_to(hub, "model", "alice/model", [normal("a.txt", b"a")]))
    read = {"Revision": "master", "FilePath": GITATTRIBUTES_PATH}
    dataset_file = api(hub, "GET", f"/api/v1/datasets/{DS}/repo", params=read).content
    assert dataset_file == DATASET_GITATTRIBUTES and b"*.jsonl filter=lfs" in dataset_file
    assert api(hub, "GET", "/api/v1/models/alice/model/repo", params=read).content == GITATTRIBUTES
    assert b"*.jsonl" not in GITATTRIBUTES and GITATTRIBUTES in DATASET_GITATTRIBUTES  # the model list, and more


def pkt(payload: str) -> bytes:
    return f"{len(payload) + 4:04x}".encode() + payload.encode()


def test_git_smart_http_creates_a_dataset_branch(hub, tmp_path):
    head = new_dataset(hub, files={"a.txt": b"a"})
    create_model(hub, DS)  # a model of the same name keeps its own (empty) refs
    netloc = urlsplit(hub.url).netloc
    password = git_token(hub)
    env = {**os.environ, "HOME": str(tmp_path), "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    remote = f"http://oauth2:{password}@{netloc}/datasets/{DS}.git"
    listed = subprocess.run(["git", "ls-remote", remote], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert f"{head}\trefs/heads/master" in listed.stdout.splitlines()
    empty_pack = b"PACK\0\0\0\2\0\0\0\0" + hashlib.sha1(b"PACK\0\0\0\2\0\0\0\0").digest()
    command = pkt(f"{'0' * 40} {head} refs/heads/dev\0report-status\n") + b"0000" + empty_pack
    pushed = requests.post(
        f"{hub.url}/datasets/{DS}.git/git-receive-pack",
        data=command,
        headers={"Content-Type": "application/x-git-receive-pack-request"},
        auth=("oauth2", password),
        timeout=TIMEOUT,
    )
    assert pushed.status_code == 200 and b"ok refs/heads/dev" in pushed.content, pushed.content
    branches = ok(api(hub, "GET", f"/api/v1/datasets/{DS}/revisions"))["RevisionMap"]["Branches"]
    assert [(b["Revision"], b["CommitId"]) for b in branches] == [("master", head), ("dev", head)]
    assert ok(api(hub, "GET", f"/api/v1/models/{DS}/revisions"))["RevisionMap"]["Branches"] == []
    # The control plane makes a dataset's branch too, when told its type.
    assert hub.control.create_branch(DS, "staging", repo_type="dataset") == head
    assert hub.control.stats()["requests"]["dataset_git_receive_pack"] == 1


def test_the_dataset_page_shows_what_a_visitor_may_see(hub):
    new_dataset(hub, files={"data/a.csv": b"a"})
    new_dataset(hub, "alice/hidden", visibility=1)
    page = requests.get(f"{hub.url}/datasets/{DS}", timeout=TIMEOUT)
    assert page.status_code == 200 and "data/a.csv" in page.text and DS in page.text
    assert requests.get(f"{hub.url}/datasets/alice/hidden", timeout=TIMEOUT).status_code == 404
    assert requests.get(f"{hub.url}/models/{DS}", timeout=TIMEOUT).status_code == 404  # no model of that name


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v1/datasets/{DS}/oss/tree/?MaxLimit=10&Revision=master&Recursive=True&FilterDir=True"),
        ("DELETE", f"/api/v1/datasets/{DS}/oss?Path=a&Revision=master"),
        ("DELETE", f"/api/v1/datasets/{DS}/oss/prefix?Prefix=d/&Revision=master"),
        ("GET", f"/api/v1/datasets/{DS}/ststoken?Revision=master"),
        ("POST", "/api/v1/repos/studios/alice/d/info/lfs/objects/batch"),
    ],
)
def test_msdataset_storage_routes_are_not_emulated(hub, method, path):
    response = api(hub, method, path, data="{}")
    assert response.status_code == 501
    assert set(response.json()) == ENVELOPE and response.json()["Success"] is False


def test_download_counter_answers_200_and_trailing_slashes_are_accepted(hub):
    new_dataset(hub, files={"a.txt": b"a"})
    assert ok(api(hub, "POST", f"/api/v1/datasets/{DS}/download/increase")) is None
    assert api(hub, "POST", "/api/v1/datasets/alice/missing/download/increase").status_code == 404
    assert ok(api(hub, "GET", f"/api/v1/datasets/{DS}/"))["Name"] == "ds"
    listed = api(hub, "GET", f"/api/v1/datasets/{DS}/repo/tree/", params={"Recursive": "True"})
    assert paths(ok(listed)["Files"]) == ["a.txt"]


# -- strict mode and the journal -------------------------------------------------------------------------
def test_strict_mode_accepts_what_the_sdk_sends_and_journals_it(hub):
    full = {"ChineseName": "数据", "Description": "d", "ProtectedMode": 2, "any_extra": "x"}
    ok(create_dataset(hub, DS, visibility=1, **full))
    ok(commit_to(hub, "dataset", DS, [normal("a.txt", b"a")]))
    dataset_id = ok(api(hub, "GET", f"/api/v1/datasets/{DS}"))["Id"]
    paged = {"Revision": "master", "Recursive": "True", "PageNumber": 1, "PageSize": 200}
    search = {"search": "d", "owner": "alice", "sort": "downloads", "page_number": 1, "page_size": 5}
    sdk_calls = [
        (f"/api/v1/datasets/{DS}/repo/tree", paged),
        (f"/api/v1/datasets/{DS}/repo/tree", {"Revision": "master", "Recursive": "False", "Root": "data"}),
        (f"/api/v1/datasets/{dataset_id}/repo/tree", {"Revision": "master", "Root": "/", "Recursive": "True"}),
        (f"/api/v1/datasets/{DS}/repo", {"Revision": "master", "FilePath": "a.txt"}),
        (f"/api/v1/datasets/{DS}/revisions", {}),
        ("/openapi/v1/datasets", {**search, "filter.task": "t", "filter.license": "mit"}),
        ("/api/v1/datasets", {"PageNumber": 1, "PageSize": 50, "owner": "alice"}),
    ]
    for path, params in sdk_calls:
        assert api(hub, "GET", path, params=params).status_code in (200, 404), (path, params)
    create = next(e for e in hub.control.journal() if e["route"] == "create_dataset")
    assert create["body"] == dict.fromkeys(("ChineseName", "Description", "License", "Name", "Owner"), "str") | {
        "ProtectedMode": "str",
        "Visibility": "str",
        "any_extra": "str",
    }
    journaled = {e["route"] for e in hub.control.journal()}
    assert {
        "dataset_tree",
        "dataset_tree_by_id",
        "dataset_download",
        "list_datasets",
        "list_datasets_legacy",
    } <= journaled
    # What no official client sends is refused, naming the field.
    as_json = api(hub, "POST", "/api/v1/datasets", json={"Owner": "alice", "Name": "j"})
    assert "multipart/form-data" in refused(as_json, 400)["Message"]
    no_owner = api(hub, "POST", "/api/v1/datasets", files={"Name": (None, "x")})
    assert "form.Owner" in refused(no_owner, 400)["Message"]
    assert "'Recursve'" in refused(tree(hub, Recursve="True"), 400)["Message"]
    assert "'PageSize'" in refused(tree(hub, PageSize="many"), 400)["Message"]
    # The hub authenticates before it reads the form.
    refused(api(hub, "POST", "/api/v1/datasets", None, json={"Owner": "alice"}), 401)
    hub.control.configure(strict=False)  # lenient: a JSON create is taken too
    try:
        lenient = api(hub, "POST", "/api/v1/datasets", json={"Owner": "alice", "Name": "j", "Visibility": 1})
        assert ok(lenient)["Visibility"] == 1
    finally:
        assert hub.control.configure(strict=True)["strict"] is True
