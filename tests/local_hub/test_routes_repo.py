"""Repo-content routes over HTTP: file listings, downloads with Range, LFS batch, blob PUT, commits.

The requests go through tests/helpers/hub_http.py (create a model, upload blobs, commit files): plain
`requests` against the session hub.
"""

from __future__ import annotations

import json
import os
import socket
from urllib.parse import urlsplit

import pytest

from tests.helpers.hub_http import (
    ENVELOPE,
    TIMEOUT,
    api,
    batch,
    commit,
    create_model,
    delete,
    download,
    is_stored,
    lfs,
    list_files,
    normal,
    paths,
    push,
    put_blob,
    sha,
    upload_blob,
)
from tests.helpers.polling import wait_for

ON_A_BRANCH = "You can only create or edit files when you are on a branch"
ENTRY_KEYS = {
    "CommitMessage",
    "CommittedDate",
    "CommitterName",
    "InCheck",
    "IsLFS",
    "Mode",
    "Name",
    "Path",
    "Revision",
    "Sha256",
    "Size",
    "Type",
}


def stats(hub) -> dict:
    """The control plane's counters."""
    return hub.control.stats()


# -- repo/files --------------------------------------------------------------------------------
@pytest.fixture
def tree_repo(hub) -> dict:
    """alice/tree: a.txt, sub/b.txt, sub/deep/c.bin (LFS) in one commit."""
    create_model(hub, "alice/tree")
    files = {"a.txt": b"alpha", "sub/b.txt": b"bravo!", "sub/deep/c.bin": os.urandom(3000)}
    oid = push(hub, "alice/tree", files, lfs_paths=["sub/deep/c.bin"], message="first\n\nbody")
    return {"files": files, "oid": oid}


def test_listing_entries_have_exactly_the_real_key_set(hub, tree_repo):
    files = list_files(hub, "alice/tree", Recursive="True")
    assert paths(files) == ["a.txt", "sub", "sub/b.txt", "sub/deep", "sub/deep/c.bin"]
    for entry in files:
        assert set(entry) == ENTRY_KEYS
    by_path = {f["Path"]: f for f in files}
    blob = by_path["sub/deep/c.bin"]
    assert blob["Type"] == "blob" and blob["IsLFS"] is True and blob["Name"] == "c.bin"
    assert blob["Size"] == 3000 and blob["Sha256"] == sha(tree_repo["files"]["sub/deep/c.bin"])
    assert blob["Revision"] == tree_repo["oid"] and blob["CommitterName"] == "alice"
    assert blob["CommitMessage"] == "first\n\nbody" and isinstance(blob["CommittedDate"], int)
    text = by_path["a.txt"]
    assert text["IsLFS"] is False and text["Sha256"] == sha(b"alpha") and text["Size"] == 5
    for folder in ("sub", "sub/deep"):
        assert by_path[folder]["Type"] == "tree"
        assert by_path[folder]["Sha256"] == "" and by_path[folder]["Size"] == 0
    assert by_path["sub/deep"]["Name"] == "deep"


@pytest.mark.parametrize("flag", ["True", "true", "TRUE"])
def test_recursive_true_is_case_insensitive(hub, tree_repo, flag):
    assert len(list_files(hub, "alice/tree", Recursive=flag)) == 5


@pytest.mark.parametrize("flag", ["False", "false", "FALSE", None])
def test_recursive_false_lists_one_level_with_tree_entries(hub, tree_repo, flag):
    files = list_files(hub, "alice/tree", Recursive=flag)
    assert [(f["Path"], f["Type"]) for f in files] == [("a.txt", "blob"), ("sub", "tree")]


def test_root_limits_the_listing_to_a_folder(hub, tree_repo):
    assert paths(list_files(hub, "alice/tree", Root="sub")) == ["sub/b.txt", "sub/deep"]
    assert paths(list_files(hub, "alice/tree", Root="sub", Recursive="True")) == [
        "sub/b.txt",
        "sub/deep",
        "sub/deep/c.bin",
    ]
    assert paths(list_files(hub, "alice/tree", Root="sub/deep")) == ["sub/deep/c.bin"]
    missing = api(hub, "GET", "/api/v1/models/alice/tree/repo/files", params={"Root": "nope"})
    assert missing.status_code == 404


def test_revision_selects_branch_tag_or_full_commit_id(hub):
    create_model(hub, "alice/revs")
    first = push(hub, "alice/revs", {"a.txt": b"v1"})
    assert api(hub, "POST", "/api/v1/models/alice/revs/repo/tag", json={"TagName": "v1"}).status_code == 200
    hub.control.create_branch("alice/revs", "dev", first)
    second = push(hub, "alice/revs", {"a.txt": b"v2", "b.txt": b"new"})
    head = list_files(hub, "alice/revs")
    assert paths(head) == ["a.txt", "b.txt"] and head[0]["Sha256"] == sha(b"v2") and head[0]["Revision"] == second
    for revision in ("v1", "dev", first):
        files = list_files(hub, "alice/revs", Revision=revision)
        assert paths(files) == ["a.txt"] and files[0]["Sha256"] == sha(b"v1") and files[0]["Revision"] == first
    for unknown in ("nope", "0" * 40, first[:8]):
        response = api(hub, "GET", "/api/v1/models/alice/revs/repo/files", params={"Revision": unknown})
        assert response.status_code == 404, unknown


def test_entry_revision_is_the_commit_that_last_changed_the_file(hub):
    create_model(hub, "alice/last")
    first = push(hub, "alice/last", {"a.txt": b"a", "b.txt": b"b"}, message="one")
    second = push(hub, "alice/last", {"b.txt": b"b2"}, message="two")
    by_path = {f["Path"]: f for f in list_files(hub, "alice/last")}
    assert (by_path["a.txt"]["Revision"], by_path["a.txt"]["CommitMessage"]) == (first, "one")
    assert (by_path["b.txt"]["Revision"], by_path["b.txt"]["CommitMessage"]) == (second, "two")


def test_empty_repo_lists_no_files(hub):
    create_model(hub, "alice/empty")
    assert list_files(hub, "alice/empty") == []
    assert list_files(hub, "alice/empty", Recursive="True", Revision="master") == []
    assert api(hub, "GET", "/api/v1/models/alice/empty/repo/files", params={"Revision": "dev"}).status_code == 404


def test_listing_truncates_silently_at_tree_limit(hub):
    create_model(hub, "alice/many")
    push(hub, "alice/many", {f"f{i}.txt": b"x" for i in range(8)})
    try:
        assert hub.control.configure(tree_limit=5)["tree_limit"] == 5
        assert paths(list_files(hub, "alice/many")) == [f"f{i}.txt" for i in range(5)]
    finally:
        hub.control.configure(tree_limit=3000)
    assert len(list_files(hub, "alice/many")) == 8


def test_listing_of_missing_or_private_repo_is_404(hub):
    create_model(hub, "alice/secret", visibility=1)
    push(hub, "alice/secret", {"a.txt": b"a"})
    assert paths(list_files(hub, "alice/secret")) == ["a.txt"]
    for user in ("bob", None):
        assert api(hub, "GET", "/api/v1/models/alice/secret/repo/files", user).status_code == 404
    assert api(hub, "GET", "/api/v1/models/alice/nothing/repo/files").status_code == 404


# -- download ----------------------------------------------------------------------------------
@pytest.fixture
def dl_repo(hub) -> dict:
    """alice/dl: data.bin (LFS, 100 KiB), empty.txt (0 bytes), small.txt."""
    create_model(hub, "alice/dl")
    files = {"data.bin": os.urandom(100 * 1024), "empty.txt": b"", "small.txt": b"0123456789"}
    push(hub, "alice/dl", files, lfs_paths=["data.bin"])
    return files


def test_download_gives_exact_bytes_and_integrity_headers(hub, dl_repo):
    for path, content in dl_repo.items():
        response = download(hub, "alice/dl", path)
        assert response.status_code == 200
        assert response.content == content
        assert response.headers["Content-Length"] == str(len(content))
        assert response.headers["X-Linked-ETag"] == f'"{sha(content)}"'
        assert "Content-Encoding" not in response.headers


def test_download_ranges(hub, dl_repo):
    data = dl_repo["data.bin"]
    size = len(data)
    cases = {
        "bytes=10-19": (10, 19),
        "bytes=0-0": (0, 0),
        f"bytes=1000-{size * 2}": (1000, size - 1),
        "bytes=5000-": (5000, size - 1),
        "bytes=-100": (size - 100, size - 1),
        f"bytes=-{size + 5}": (0, size - 1),
    }
    for header, (start, end) in cases.items():
        response = download(hub, "alice/dl", "data.bin", headers={"Range": header})
        assert response.status_code == 206, header
        assert response.headers["Content-Range"] == f"bytes {start}-{end}/{size}", header
        assert response.headers["Content-Length"] == str(end - start + 1), header
        assert response.content == data[start : end + 1], header


@pytest.mark.parametrize("header", ["bytes=102400-", "bytes=200000-200010", "bytes=-0"])
def test_unsatisfiable_range_is_416_with_the_size(hub, dl_repo, header):
    response = download(hub, "alice/dl", "data.bin", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */102400"


@pytest.mark.parametrize("header", ["bytes=20-10", "bytes=a-b", "bytes=0-1,5-6"])
def test_invalid_range_is_ignored_and_the_whole_file_sent(hub, dl_repo, header):
    response = download(hub, "alice/dl", "data.bin", headers={"Range": header})
    assert response.status_code == 200 and response.content == dl_repo["data.bin"]


def test_zero_length_file(hub, dl_repo):
    response = download(hub, "alice/dl", "empty.txt")
    assert (response.status_code, response.content, response.headers["Content-Length"]) == (200, b"", "0")
    ranged = download(hub, "alice/dl", "empty.txt", headers={"Range": "bytes=0-"})
    assert ranged.status_code == 416 and ranged.headers["Content-Range"] == "bytes */0"


def test_download_errors(hub, dl_repo):
    missing = download(hub, "alice/dl", "nope.txt")
    assert missing.status_code == 404 and set(missing.json()) == ENVELOPE and missing.json()["Success"] is False
    assert download(hub, "alice/dl", None).status_code == 400
    assert download(hub, "alice/dl", "").status_code == 400
    assert download(hub, "alice/dl", "../etc/passwd").status_code == 400
    assert download(hub, "alice/dl", "small.txt", revision="nope").status_code == 404
    assert download(hub, "alice/none", "small.txt").status_code == 404


def test_download_of_a_private_repo_needs_auth(hub):
    create_model(hub, "alice/private", visibility=1)
    push(hub, "alice/private", {"w.txt": b"secret"})
    assert download(hub, "alice/private", "w.txt", user=None).status_code == 404
    assert download(hub, "alice/private", "w.txt", user="bob").status_code == 404
    assert download(hub, "alice/private", "w.txt").content == b"secret"
    cookie = {"Cookie": f"m_session_id={hub.tokens['alice']}"}
    assert download(hub, "alice/private", "w.txt", user=None, headers=cookie).content == b"secret"


def test_download_at_an_older_revision(hub):
    create_model(hub, "alice/old")
    first = push(hub, "alice/old", {"a.txt": b"old"})
    push(hub, "alice/old", {"a.txt": b"new"})
    assert download(hub, "alice/old", "a.txt").content == b"new"
    assert download(hub, "alice/old", "a.txt", revision=first).content == b"old"


# -- LFS batch ---------------------------------------------------------------------------------
def test_batch_echoes_every_oid_and_asks_only_for_missing_blobs(hub):
    create_model(hub, "alice/lfs")
    stored, new1, new2 = os.urandom(500), os.urandom(600), os.urandom(700)
    upload_blob(hub, "alice/lfs", stored)
    response = batch(hub, "alice/lfs", [new1, stored, new2])
    assert response.status_code == 200 and set(response.json()) == ENVELOPE
    objects = response.json()["Data"]["objects"]
    assert [(o["oid"], o["size"]) for o in objects] == [(sha(b), len(b)) for b in (new1, stored, new2)]
    assert "actions" not in objects[1]
    for obj in (objects[0], objects[2]):
        href = obj["actions"]["upload"]["href"]
        assert href.startswith(hub.url + "/") and href.endswith(obj["oid"])
        assert urlsplit(href).netloc == urlsplit(hub.url).netloc


def test_batch_dedups_globally_across_repos(hub):
    create_model(hub, "alice/one")
    create_model(hub, "team/two")
    content = os.urandom(2048)
    upload_blob(hub, "alice/one", content)
    assert is_stored(hub, "team/two", content)
    before = stats(hub)["blob_puts"]
    assert commit(hub, "team/two", [lfs("w.bin", content)]).status_code == 200
    assert stats(hub)["blob_puts"] == before
    assert download(hub, "team/two", "w.bin").content == content


def test_batch_with_a_known_oid_but_another_size_asks_for_upload(hub):
    create_model(hub, "alice/sz")
    content = os.urandom(100)
    upload_blob(hub, "alice/sz", content)
    body = json.dumps({"operation": "upload", "objects": [{"oid": sha(content), "size": 99}]})
    response = api(hub, "POST", "/api/v1/repos/models/alice/sz/info/lfs/objects/batch", data=body)
    assert "actions" in response.json()["Data"]["objects"][0]


@pytest.mark.parametrize(
    "objects",
    [
        [{"oid": "xyz", "size": 1}],
        [{"oid": "A" * 64, "size": 1}],
        [{"oid": "a" * 63, "size": 1}],
        [{"oid": "a" * 64, "size": -1}],
        [{"oid": "a" * 64, "size": "1"}],
        [{"oid": "a" * 64}],
        ["a" * 64],
        [],
        None,
    ],
)
def test_batch_rejects_bad_objects(hub, objects):
    create_model(hub, "alice/bad")
    body = json.dumps({"operation": "upload", "objects": objects})
    response = api(hub, "POST", "/api/v1/repos/models/alice/bad/info/lfs/objects/batch", data=body)
    assert response.status_code == 400
    assert "exist" not in response.json()["Message"].lower()


def test_batch_needs_write_permission(hub):
    create_model(hub, "alice/perm")
    create_model(hub, "alice/hidden", visibility=1)
    assert batch(hub, "alice/perm", [b"x"], user=None).status_code == 401
    assert batch(hub, "alice/perm", [b"x"], user="bob").status_code == 403
    assert batch(hub, "alice/hidden", [b"x"], user="bob").status_code == 404
    assert batch(hub, "alice/nothing", [b"x"]).status_code == 404
    assert batch(hub, "alice/perm", [b"x"], user="alice").status_code == 200


# -- blob PUT ----------------------------------------------------------------------------------
def test_blob_put_stores_and_counts_bytes(hub):
    create_model(hub, "alice/put")
    content = os.urandom(256 * 1024)
    assert not is_stored(hub, "alice/put", content)
    response = put_blob(hub, "alice/put", content)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ENVELOPE and body["Code"] == 200 and body["Data"] is None and body["Message"]
    assert is_stored(hub, "alice/put", content)
    counters = stats(hub)
    assert counters["blob_bytes_received"] == len(content) and counters["blob_puts"] == 1
    assert counters["blob_bytes_stored"] == len(content)
    assert put_blob(hub, "alice/put", content).status_code == 200  # again: accepted, stored once
    assert stats(hub)["blob_bytes_stored"] == len(content)


def test_blob_put_with_a_wrong_sha256_stores_nothing(hub):
    create_model(hub, "alice/mismatch")
    content, announced = os.urandom(4096), os.urandom(4096)
    response = put_blob(hub, "alice/mismatch", content, oid=sha(announced))
    assert response.status_code == 400 and "exist" not in response.json()["Message"].lower()
    assert not is_stored(hub, "alice/mismatch", announced)
    assert not is_stored(hub, "alice/mismatch", content)
    assert stats(hub)["blob_bytes_received"] == len(content)
    later = commit(hub, "alice/mismatch", [lfs("w.bin", announced)])
    assert later.status_code == 400
    assert list_files(hub, "alice/mismatch") == []


def test_blob_put_cut_short_of_its_content_length_stores_nothing(hub):
    """A body shorter than its Content-Length (the client went away) never becomes a blob."""
    create_model(hub, "alice/short")
    content = os.urandom(64 * 1024)
    host, port = urlsplit(hub.url).hostname, urlsplit(hub.url).port
    head = (
        f"PUT /api/v1/repos/models/alice/short/info/lfs/objects/{sha(content)} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nCookie: m_session_id={hub.tokens['alice']}\r\n"
        f"Content-Length: {len(content)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(head + content[: len(content) // 2])
        sock.shutdown(socket.SHUT_WR)
        try:
            answer = sock.recv(1024)
        except ConnectionResetError:
            answer = b""
        assert answer == b""  # no answer: the server saw a disconnect
    # The server counts the bytes when it notices the disconnect, which may be after our recv returned.
    wait_for(
        lambda: stats(hub)["blob_bytes_received"] == len(content) // 2,
        lambda: f"the hub to count the half body it received (counted {stats(hub)['blob_bytes_received']})",
        timeout=TIMEOUT,
    )
    assert stats(hub)["blob_puts"] == 0
    assert not is_stored(hub, "alice/short", content)


def test_blob_put_without_content_length_is_411(hub):
    create_model(hub, "alice/chunked")
    content = os.urandom(1000)
    path = f"/api/v1/repos/models/alice/chunked/info/lfs/objects/{sha(content)}"
    response = api(hub, "PUT", path, data=iter([content[:500], content[500:]]))
    assert response.status_code == 411
    assert not is_stored(hub, "alice/chunked", content)


def test_blob_of_another_size_cannot_be_committed(hub):
    create_model(hub, "alice/size")
    content = os.urandom(100)
    upload_blob(hub, "alice/size", content)
    response = commit(hub, "alice/size", [lfs("w.bin", content, size=99)])
    assert response.status_code == 400 and "exist" not in response.json()["Message"].lower()
    assert commit(hub, "alice/size", [lfs("w.bin", content)]).status_code == 200


def test_blob_put_needs_write_permission_and_a_valid_oid(hub):
    create_model(hub, "alice/guard")
    content = os.urandom(100)
    assert put_blob(hub, "alice/guard", content, user=None).status_code == 401
    assert put_blob(hub, "alice/guard", content, user="bob").status_code == 403
    assert put_blob(hub, "alice/guard", content, oid="NOT-A-SHA").status_code == 400
    assert not is_stored(hub, "alice/guard", content)


# -- commit ------------------------------------------------------------------------------------
def test_commit_answers_the_new_commit_id(hub):
    create_model(hub, "alice/c")
    response = commit(hub, "alice/c", [normal("README.md", b"hello")])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ENVELOPE and body["Code"] == 200 and body["Success"] is True
    oid = body["Data"]["oid"]
    assert len(oid) == 40 and int(oid, 16) >= 0
    assert list_files(hub, "alice/c")[0]["Revision"] == oid
    counters = stats(hub)
    assert counters["commits"] == 1 and counters["commits_total"] == 1


def test_create_is_an_upsert_update_replaces_delete_removes(hub):
    create_model(hub, "alice/ops")
    push(hub, "alice/ops", {"a.txt": b"1", "b.txt": b"2", "c.txt": b"3"})
    assert commit(hub, "alice/ops", [normal("a.txt", b"one")]).status_code == 200
    assert commit(hub, "alice/ops", [normal("b.txt", b"two", action="update")]).status_code == 200
    assert commit(hub, "alice/ops", [delete("c.txt")]).status_code == 200
    files = list_files(hub, "alice/ops")
    assert [(f["Path"], f["Sha256"]) for f in files] == [("a.txt", sha(b"one")), ("b.txt", sha(b"two"))]
    assert download(hub, "alice/ops", "a.txt").content == b"one"
    missing = commit(hub, "alice/ops", [delete("c.txt")])
    assert missing.status_code == 400 and "exist" not in missing.json()["Message"].lower()


def test_binary_base64_content_round_trips(hub):
    create_model(hub, "alice/bin")
    content = bytes(range(256)) * 4
    push(hub, "alice/bin", {"raw.dat": content})
    assert download(hub, "alice/bin", "raw.dat").content == content


@pytest.mark.parametrize(
    "action",
    [
        {**normal("a.txt", b"abc"), "content": "not base64!"},
        {**normal("a.txt", b"abc"), "size": 4},
        {**normal("a.txt", b"abc"), "action": "move"},
        {**normal("a.txt", b"abc"), "type": "weird"},
        {**lfs("a.bin", b"abc"), "sha256": "123"},
        {"action": "create", "path": "a.txt"},
        "a.txt",
    ],
)
def test_malformed_actions_are_400(hub, action):
    create_model(hub, "alice/mal")
    response = commit(hub, "alice/mal", [action])
    assert response.status_code == 400 and "exist" not in response.json()["Message"].lower()
    assert list_files(hub, "alice/mal") == []


def test_commit_with_a_never_uploaded_blob_applies_nothing(hub):
    create_model(hub, "alice/atomic")
    first = push(hub, "alice/atomic", {"keep.txt": b"keep", "old.txt": b"old"})
    before = stats(hub)
    actions = [normal("x.txt", b"x"), delete("old.txt"), normal("keep.txt", b"changed"), lfs("w.bin", os.urandom(64))]
    response = commit(hub, "alice/atomic", actions)
    assert response.status_code == 400
    files = list_files(hub, "alice/atomic")
    assert [(f["Path"], f["Sha256"], f["Revision"]) for f in files] == [
        ("keep.txt", sha(b"keep"), first),
        ("old.txt", sha(b"old"), first),
    ]
    after = stats(hub)
    assert after["commits"] == before["commits"] and after["commits_total"] == before["commits_total"]
    history = api(hub, "GET", "/api/v1/models/alice/atomic/commits").json()
    assert history["TotalCount"] == 1


def test_duplicate_path_in_one_commit_is_400(hub):
    create_model(hub, "alice/dup")
    response = commit(hub, "alice/dup", [normal("a.txt", b"1"), normal("a.txt", b"2")])
    assert response.status_code == 400
    assert commit(hub, "alice/dup", [normal("a.txt", b"1"), delete("a.txt")]).status_code == 400
    assert list_files(hub, "alice/dup") == []


def test_file_and_folder_clash_is_400(hub):
    create_model(hub, "alice/clash")
    push(hub, "alice/clash", {"a": b"file", "d/e.txt": b"e"})
    assert commit(hub, "alice/clash", [normal("a/b.txt", b"x")]).status_code == 400
    assert commit(hub, "alice/clash", [normal("d", b"x")]).status_code == 400
    assert commit(hub, "alice/clash", [normal("n", b"x"), normal("n/m", b"y")]).status_code == 400
    # Moving a file out of the way and a folder into its place in one commit is fine.
    assert commit(hub, "alice/clash", [delete("a"), normal("a/b.txt", b"x")]).status_code == 200
    assert paths(list_files(hub, "alice/clash", Recursive="True")) == ["a", "a/b.txt", "d", "d/e.txt"]


def test_action_limit(hub):
    create_model(hub, "alice/limit")
    too_many = [normal(f"f{i}.txt", b"x") for i in range(2001)]
    response = commit(hub, "alice/limit", too_many)
    assert response.status_code == 422
    assert "exceeds actions limit" in response.json()["Message"]
    assert list_files(hub, "alice/limit") == []
    assert commit(hub, "alice/limit", too_many[:2000]).status_code == 200
    assert len(list_files(hub, "alice/limit")) == 2000


def test_commit_off_a_branch_is_refused_with_the_hub_message(hub):
    create_model(hub, "alice/branches")
    wrong_first = commit(hub, "alice/branches", [normal("a.txt", b"a")], revision="dev")
    assert wrong_first.status_code == 400 and wrong_first.json()["Message"] == ON_A_BRANCH
    push(hub, "alice/branches", {"a.txt": b"a"})
    assert api(hub, "POST", "/api/v1/models/alice/branches/repo/tag", json={"TagName": "v1"}).status_code == 200
    for revision in ("nope", "v1"):
        response = commit(hub, "alice/branches", [normal("b.txt", b"b")], revision=revision)
        assert response.status_code == 400 and response.json()["Message"] == ON_A_BRANCH
    assert paths(list_files(hub, "alice/branches")) == ["a.txt"]


def test_first_commit_to_master_creates_master(hub):
    create_model(hub, "alice/fresh")
    assert api(hub, "GET", "/api/v1/models/alice/fresh/revisions").json()["Data"]["RevisionMap"]["Branches"] == []
    push(hub, "alice/fresh", {"a.txt": b"a"})
    branches = api(hub, "GET", "/api/v1/models/alice/fresh/revisions").json()["Data"]["RevisionMap"]["Branches"]
    assert [b["Revision"] for b in branches] == ["master"]


def test_commit_to_a_control_plane_branch_and_to_one_with_a_slash(hub):
    create_model(hub, "alice/feat")
    base = push(hub, "alice/feat", {"a.txt": b"a"})
    assert hub.control.create_branch("alice/feat", "dev") == base
    assert hub.control.create_branch("alice/feat", "feature/x") == base
    push(hub, "alice/feat", {"dev.txt": b"d"}, revision="dev")
    push(hub, "alice/feat", {"x.txt": b"x"}, revision="feature/x")
    assert paths(list_files(hub, "alice/feat")) == ["a.txt"]
    assert paths(list_files(hub, "alice/feat", Revision="dev")) == ["a.txt", "dev.txt"]
    assert paths(list_files(hub, "alice/feat", Revision="feature/x")) == ["a.txt", "x.txt"]
    assert download(hub, "alice/feat", "x.txt", revision="feature/x").content == b"x"


@pytest.mark.parametrize("path", ["../x", "/abs", "a//b", "a\\b", "a/./b", "a/../b", "a\x00b", "", ".", "a/"])
def test_bad_paths_are_400(hub, path):
    create_model(hub, "alice/paths")
    response = commit(hub, "alice/paths", [normal(path, b"x")])
    assert response.status_code == 400 and "exist" not in response.json()["Message"].lower()
    assert list_files(hub, "alice/paths") == []


def test_commit_needs_write_permission(hub):
    create_model(hub, "alice/w")
    create_model(hub, "alice/pw", visibility=1)
    assert commit(hub, "alice/w", [normal("a.txt", b"a")], user=None).status_code == 401
    assert commit(hub, "alice/w", [normal("a.txt", b"a")], user="bob").status_code == 403
    assert commit(hub, "alice/pw", [normal("a.txt", b"a")], user="bob").status_code == 404
    assert commit(hub, "alice/none", [normal("a.txt", b"a")]).status_code == 404
    unknown = {"Authorization": "Bearer ms-unknown"}
    assert commit(hub, "alice/w", [normal("a.txt", b"a")], user=None, headers=unknown).status_code == 401
    assert list_files(hub, "alice/w") == []


def test_commit_body_must_be_a_json_object_with_actions(hub):
    create_model(hub, "alice/body")
    url = "/api/v1/repos/models/alice/body/commit/master"
    for body in ("not json", "[]", json.dumps({"commit_message": "m"}), json.dumps({"actions": []})):
        assert api(hub, "POST", url, data=body).status_code == 400, body


# -- legacy file delete, accel probe, datasets, trailing slashes --------------------------------
def test_legacy_delete_file_makes_one_commit(hub):
    create_model(hub, "alice/del")
    push(hub, "alice/del", {"a.txt": b"a", "sub/b.txt": b"b"})
    url = "/api/v1/models/alice/del/file"
    response = api(hub, "DELETE", url, params={"FilePath": "sub/b.txt", "Revision": "master"})
    assert response.status_code == 200 and len(response.json()["Data"]["oid"]) == 40
    assert paths(list_files(hub, "alice/del", Recursive="True")) == ["a.txt"]
    assert api(hub, "GET", "/api/v1/models/alice/del/commits").json()["TotalCount"] == 2
    assert api(hub, "DELETE", url, params={"FilePath": "a.txt"}).status_code == 200  # Revision defaults to master
    assert api(hub, "DELETE", url).status_code == 400
    assert api(hub, "DELETE", url, params={"FilePath": "gone.txt"}).status_code == 400
    assert api(hub, "DELETE", url, params={"FilePath": "a.txt", "Revision": "nope"}).json()["Message"] == ON_A_BRANCH
    assert api(hub, "DELETE", url, "bob", params={"FilePath": "a.txt"}).status_code == 403
    assert api(hub, "DELETE", url, None, params={"FilePath": "a.txt"}).status_code == 401


def test_acceleration_probe_is_404(hub):
    response = api(hub, "GET", "/api/v1/repos/internalAccelerationInfo", None)
    assert response.status_code == 404 and set(response.json()) == ENVELOPE


def test_trailing_slashes_are_accepted(hub):
    body = json.dumps({"Path": "alice", "Name": "slash"})
    assert api(hub, "POST", "/api/v1/models/", data=body).status_code == 200
    assert commit(hub, "alice/slash", [normal("a.txt", b"a")], revision="master/").status_code == 200
    for path in (
        "/api/v1/models/alice/slash/",
        "/api/v1/models/alice/slash/repo/files/",
        "/api/v1/models/alice/slash/revisions/",
        "/api/v1/models/alice/slash/commits/",
        "/openapi/v1/models/alice/slash/",
        "/openapi/v1/models/",
    ):
        assert api(hub, "GET", path).status_code == 200, path
    assert download(hub, "alice/slash", "a.txt").content == b"a"
    assert api(hub, "GET", "/api/v1/models/alice/slash/repo/", params={"FilePath": "a.txt"}).content == b"a"
