"""Item 8, local_hub authorization (it ships to users for offline testing, so it must not be a soft target):
another user's token cannot write to a model, read a private one, or see it in a listing; the control
plane refuses user tokens however they are presented; paths that climb out of the repo are refused in
commit actions, downloads and listings; a blob whose bytes do not match its sha256 is never stored.
Every refusal is also checked to have changed nothing (commits, blobs, the repos themselves).

Plain HTTP on purpose: this is the emulator's own contract, whatever client talks to it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import pytest
import requests

from local_hub.routes_admin import ADMIN_HEADER
from tests.helpers.hub import RunningHub

pytestmark = pytest.mark.reliability

API = "/api/v1"
REPO = "/api/v1/repos/models"
PUBLIC = f"{REPO}/alice/public"  # alice's public model, on the repo (blob and commit) surface
COMMIT = f"{PUBLIC}/commit/master"
MODELS_OF_ALICE = {"owner": "alice", "page_size": 100}


def call(hub: RunningHub, user: str | None, method: str, path: str, *, cookie: bool = False, **kwargs: Any):
    """One request as `user` (None: anonymous), its token in the Authorization header or the session cookie."""
    headers = dict(kwargs.pop("headers", None) or {})
    if user is not None:
        token = hub.tokens[user]
        if cookie:
            headers["Cookie"] = f"m_session_id={token}"
        else:
            headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, f"{hub.url}{path}", headers=headers, timeout=30, **kwargs)


def inline(path: str, content: bytes = b"x", action: str = "create") -> dict[str, Any]:
    if action == "delete":
        return {"action": "delete", "path": path}
    data = base64.b64encode(content).decode()
    return {"action": action, "path": path, "size": len(content), "content": data, "encoding": "base64"}


def commit_body(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"json": {"commit_message": "test", "actions": list(actions)}}


def create(hub: RunningHub, user: str, model_id: str, visibility: int) -> None:
    owner, name = model_id.split("/")
    made = call(hub, user, "POST", f"{API}/models", json={"Path": owner, "Name": name, "Visibility": visibility})
    assert made.status_code == 200, made.text
    done = call(hub, user, "POST", f"{REPO}/{model_id}/commit/master", **commit_body(inline("README.md", b"# hi\n")))
    assert done.status_code == 200, done.text


@pytest.fixture
def models(hub: RunningHub) -> RunningHub:
    """alice/public (5), alice/internal (3), alice/private (1), team/private (1; team = alice + carol)."""
    for model_id, visibility in (("alice/public", 5), ("alice/internal", 3), ("alice/private", 1), ("team/private", 1)):
        create(hub, "carol" if model_id.startswith("team/") else "alice", model_id, visibility)
    return hub


def fingerprint(hub: RunningHub) -> dict[str, Any]:
    """What a refused request must leave untouched: commits, blobs, and each model as its owner sees it."""
    stats = hub.control.stats()
    seen = {}
    for model_id in ("alice/public", "alice/internal", "alice/private", "team/private"):
        model = call(hub, "alice", "GET", f"{API}/models/{model_id}").json()["Data"]
        files = call(hub, "alice", "GET", f"{API}/models/{model_id}/repo/files", params={"Recursive": "true"})
        refs = call(hub, "alice", "GET", f"{API}/models/{model_id}/revisions").json()["Data"]["RevisionMap"]
        seen[model_id] = (model["Visibility"], model["License"], files.json()["Data"]["Files"], refs)
    return {"commits": stats["commits_total"], "stored": stats["blob_bytes_stored"], "models": seen}


OID = hashlib.sha256(b"some weights").hexdigest()
# (user, method, path, request kwargs, expected status)
WRITES_BY_ANOTHER_USER = {
    "create-model-under-alice": ("bob", "POST", f"{API}/models", {"json": {"Path": "alice", "Name": "x"}}, 403),
    "create-model-in-group-not-member": ("bob", "POST", f"{API}/models", {"json": {"Path": "team", "Name": "x"}}, 403),
    "commit-to-public-model": ("bob", "POST", COMMIT, commit_body(inline("b.txt")), 403),
    "commit-to-public-model-cookie": ("bob", "POST", COMMIT, {**commit_body(inline("b.txt")), "cookie": True}, 403),
    "commit-delete-in-public-model": ("bob", "POST", COMMIT, commit_body(inline("README.md", action="delete")), 403),
    "commit-to-private-model": ("bob", "POST", f"{REPO}/alice/private/commit/master", commit_body(inline("b")), 404),
    "commit-to-group-model": ("bob", "POST", f"{REPO}/team/private/commit/master", commit_body(inline("b.txt")), 404),
    "tag-public-model": ("bob", "POST", f"{API}/models/alice/public/repo/tag",
                         {"json": {"TagName": "bob-was-here", "Ref": "master"}}, 403),
    "change-visibility": ("bob", "PUT", f"{API}/models/alice/public", {"json": {"Visibility": 1}}, 403),
    "delete-model": ("bob", "DELETE", f"{API}/models/alice/public", {}, 403),
    "delete-private-model": ("bob", "DELETE", f"{API}/models/alice/private", {}, 404),
    "delete-file": ("bob", "DELETE", f"{API}/models/alice/public/file", {"params": {"FilePath": "README.md"}}, 403),
    "lfs-batch": ("bob", "POST", f"{PUBLIC}/info/lfs/objects/batch",
                  {"json": {"operation": "upload", "objects": [{"oid": OID, "size": 12}]}}, 403),
    "blob-put": ("bob", "PUT", f"{PUBLIC}/info/lfs/objects/{OID}", {"data": b"some weights"}, 403),
    "anonymous-commit": (None, "POST", COMMIT, commit_body(inline("b.txt")), 401),
    "anonymous-blob-put": (None, "PUT", f"{PUBLIC}/info/lfs/objects/{OID}", {"data": b"some weights"}, 401),
    "anonymous-delete": (None, "DELETE", f"{API}/models/alice/public", {}, 401),
}  # fmt: skip
READS_OF_A_PRIVATE_MODEL = {
    "get-model": ("GET", f"{API}/models/alice/private", {}),
    "get-model-openapi": ("GET", "/openapi/v1/models/alice/private", {}),
    "revisions": ("GET", f"{API}/models/alice/private/revisions", {}),
    "commits": ("GET", f"{API}/models/alice/private/commits", {}),
    "files": ("GET", f"{API}/models/alice/private/repo/files", {"params": {"Recursive": "true"}}),
    "download": ("GET", f"{API}/models/alice/private/repo", {"params": {"FilePath": "README.md"}}),
    "group-model": ("GET", f"{API}/models/team/private", {}),
    "group-model-download": ("GET", f"{API}/models/team/private/repo", {"params": {"FilePath": "README.md"}}),
}
ADMIN_CALLS = {
    "stats": ("GET", "/_local_hub/stats", {}),
    "reset": ("POST", "/_local_hub/reset", {"json": {"state": True}}),
    "faults-read": ("GET", "/_local_hub/faults", {}),
    "faults-set": ("PUT", "/_local_hub/faults", {"json": {"rules": [{"effect": "status", "status": 500}]}}),
    "faults-clear": ("DELETE", "/_local_hub/faults", {}),
    "branches": ("POST", "/_local_hub/branches", {"json": {"model_id": "alice/public", "branch": "evil"}}),
    "users": ("POST", "/_local_hub/users", {"json": {"name": "mallory", "token": "ms-mallory-token"}}),
    "config": ("PUT", "/_local_hub/config", {"json": {"tree_limit": 1}}),
}
TRAVERSAL_PATHS = ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "..\\escape.txt", "./escape.txt",
                   "a//escape.txt", "a/./escape.txt", "..", "weights/..", "escape\x00.txt"]  # fmt: skip


@pytest.mark.parametrize("case", list(WRITES_BY_ANOTHER_USER), ids=list(WRITES_BY_ANOTHER_USER))
def test_another_users_token_cannot_write(models: RunningHub, case: str) -> None:
    user, method, path, kwargs, status = WRITES_BY_ANOTHER_USER[case]
    before = fingerprint(models)
    response = call(models, user, method, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.json().get("Success") is False
    assert fingerprint(models) == before


@pytest.mark.parametrize("case", list(READS_OF_A_PRIVATE_MODEL), ids=list(READS_OF_A_PRIVATE_MODEL))
@pytest.mark.parametrize("user", ["bob", None], ids=["another-user", "anonymous"])
def test_a_private_model_is_invisible_to_others(models: RunningHub, case: str, user: str | None) -> None:
    method, path, kwargs = READS_OF_A_PRIVATE_MODEL[case]
    refused = call(models, user, method, path, **kwargs)
    assert refused.status_code == 404, refused.text
    assert b"# hi" not in refused.content
    owner = "carol" if "/team/" in path else "alice"  # positive control: the owner (or a group member) reads it
    assert call(models, owner, method, path, **kwargs).status_code == 200


@pytest.mark.parametrize("user", ["bob", None], ids=["another-user", "anonymous"])
def test_a_private_model_is_left_out_of_listings(models: RunningHub, user: str | None) -> None:
    visible = {"alice/public", "alice/internal"} if user else {"alice/public"}  # internal: any logged-in user
    openapi = call(models, user, "GET", "/openapi/v1/models", params=MODELS_OF_ALICE).json()
    assert {m["id"] for m in openapi["data"]["models"]} == visible
    assert openapi["data"]["total_count"] == len(visible)
    legacy = call(models, user, "PUT", f"{API}/models", json={"Path": "alice", "PageSize": 100}).json()["Data"]
    assert {f"{m['Path']}/{m['Name']}" for m in legacy["Models"]} == visible and legacy["TotalCount"] == len(visible)
    everything = call(models, user, "GET", "/openapi/v1/models", params={"page_size": 100}).json()["data"]["models"]
    assert not {m["id"] for m in everything} & {"alice/private", "team/private"}
    mine = call(models, "alice", "GET", "/openapi/v1/models", params=MODELS_OF_ALICE).json()
    assert {m["id"] for m in mine["data"]["models"]} == {"alice/public", "alice/internal", "alice/private"}


@pytest.mark.parametrize("case", list(ADMIN_CALLS), ids=list(ADMIN_CALLS))
@pytest.mark.parametrize("how", ["bearer", "admin-header", "cookie"])
def test_the_control_plane_refuses_user_tokens(models: RunningHub, case: str, how: str) -> None:
    method, path, kwargs = ADMIN_CALLS[case]
    token = models.tokens["alice"]
    headers = {
        "bearer": {"Authorization": f"Bearer {token}"},
        "admin-header": {ADMIN_HEADER: token},
        "cookie": {"Cookie": f"m_session_id={token}"},
    }[how]
    before = fingerprint(models)
    response = requests.request(method, f"{models.url}{path}", headers=headers, timeout=30, **kwargs)
    assert response.status_code == 403, response.text
    assert "X-Local-Hub-Admin" in response.text
    assert models.control.faults() == [] and fingerprint(models) == before
    mallory = {"Authorization": "Bearer ms-mallory-token"}  # the user the refused call tried to add
    assert call(models, None, "GET", "/openapi/v1/users/me", headers=mallory).status_code == 401


@pytest.mark.parametrize("path", TRAVERSAL_PATHS, ids=[repr(p) for p in TRAVERSAL_PATHS])
def test_paths_that_leave_the_repo_are_refused(models: RunningHub, path: str) -> None:
    before = fingerprint(models)
    sha = hashlib.sha256(b"# hi\n").hexdigest()  # a blob the hub holds (alice's README)
    lfs = {"action": "create", "path": path, "type": "lfs", "size": 5, "sha256": sha}
    # A listing's Root is repo-relative by definition ("/etc" is the repo's folder etc: 404 when absent).
    listing = {400, 404} if path.startswith("/") else {400}
    attempts = [
        (call(models, "alice", "POST", COMMIT, **commit_body(inline(path))), {400}),
        (call(models, "alice", "POST", COMMIT, **commit_body(lfs)), {400}),
        (call(models, "alice", "POST", COMMIT, **commit_body(inline(path, action="delete"))), {400}),
        (call(models, "alice", "GET", f"{API}/models/alice/public/repo", params={"FilePath": path}), {400}),
        (call(models, "alice", "GET", f"{API}/models/alice/public/repo/files", params={"Root": path}), listing),
        (call(models, "alice", "DELETE", f"{API}/models/alice/public/file", params={"FilePath": path}), {400}),
    ]
    for response, statuses in attempts:
        assert response.status_code in statuses, (response.request.method, response.request.url, response.text)
        assert response.json()["Success"] is False
    assert fingerprint(models) == before
    assert not [p for p in models.data_dir.parent.rglob("*escape*")], "a file was written outside the blob store"


# Dots percent-encoded, so that the HTTP client sends them instead of normalizing them away.
# (where, method, path, request kwargs, status); 404: no route takes a path that climbs out of it.
ID_TRAVERSALS = {
    "oid-dotdot": ("PUT", f"{PUBLIC}/info/lfs/objects/%2E%2E", {"data": b"x"}, 400),
    "oid-climbing": ("PUT", f"{PUBLIC}/info/lfs/objects/%2E%2E%2F%2E%2E%2Fhub.db", {"data": b"x"}, 404),
    "revision-climbing": ("POST", f"{COMMIT}%2F%2E%2E%2F%2E%2E%2Fx", commit_body(inline("a.txt")), 400),
    "model-name-dotdot": ("POST", f"{API}/models", {"json": {"Path": "alice", "Name": ".."}}, 400),
    "model-owner-climbing": ("POST", f"{API}/models", {"json": {"Path": "../alice", "Name": "x"}}, 400),
}


@pytest.mark.parametrize("where", list(ID_TRAVERSALS), ids=list(ID_TRAVERSALS))
def test_traversal_in_ids_and_refs_is_refused(models: RunningHub, where: str) -> None:
    method, path, kwargs, status = ID_TRAVERSALS[where]
    before = fingerprint(models)
    response = call(models, "alice", method, path, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["Success"] is False
    assert fingerprint(models) == before


def test_a_blob_whose_bytes_do_not_match_its_sha256_is_refused(models: RunningHub) -> None:
    announced = os.urandom(256 * 1024)
    oid = hashlib.sha256(announced).hexdigest()
    batch = {"json": {"operation": "upload", "objects": [{"oid": oid, "size": len(announced)}]}}
    href = call(models, "alice", "POST", f"{PUBLIC}/info/lfs/objects/batch", **batch).json()
    href = href["Data"]["objects"][0]["actions"]["upload"]["href"]
    before = fingerprint(models)

    forged = bytearray(announced)
    forged[len(forged) // 2] ^= 0xFF  # same length, one byte different
    alice = {"Authorization": f"Bearer {models.tokens['alice']}"}
    for body in (bytes(forged), announced[:-1], announced + b"\x00"):
        response = requests.put(href, data=body, headers=alice, timeout=30)
        assert response.status_code == 400 and "mismatch" in response.text, response.text
    # Not stored: the hub still asks for it, and a commit naming it (or the right blob with a wrong size) is refused.
    again = call(models, "alice", "POST", f"{PUBLIC}/info/lfs/objects/batch", **batch).json()
    assert "upload" in again["Data"]["objects"][0]["actions"]
    lfs = {"action": "create", "path": "w.bin", "type": "lfs", "size": len(announced), "sha256": oid}
    refused = call(models, "alice", "POST", COMMIT, **commit_body(lfs))
    assert refused.status_code == 400 and "never uploaded" in refused.text
    wrong_size = {**lfs, "size": 999, "sha256": hashlib.sha256(b"# hi\n").hexdigest()}  # a stored blob, other size
    assert call(models, "alice", "POST", COMMIT, **commit_body(wrong_size)).status_code == 400
    assert fingerprint(models) == before
    # Positive control: the right bytes are accepted.
    stored = requests.put(href, data=announced, headers=alice, timeout=30)
    assert stored.status_code == 200
    assert models.control.stats()["blob_bytes_stored"] == before["stored"] + len(announced)
