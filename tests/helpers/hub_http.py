"""Talking to local_hub with plain `requests`: its routes one call at a time, and test setup that changes
the hub the way another user or the website would.

Setup goes this way rather than through `HubClient`, so that a bug in the client cannot hide in the
state a client test starts from; the client's own paths are tested in tests/client and tests/push.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import requests

from tests.helpers.hub import RunningHub

TIMEOUT = 10
# The keys of every answer in the hub's legacy envelope, and of an OpenAPI-style error.
ENVELOPE = {"Code", "Data", "Message", "RequestId", "Success"}
OPENAPI_ERROR = {"success", "code", "message", "request_id"}


# -- one route at a time ---------------------------------------------------------------------------
def sha(content: bytes) -> str:
    """Hex sha256 of `content` (the hub's blob id)."""
    return hashlib.sha256(content).hexdigest()


def bearer(hub: Any, user: str | None) -> dict[str, str]:
    """The Authorization header of `user` (none for anonymous)."""
    return {"Authorization": f"Bearer {hub.tokens[user]}"} if user else {}


def api(hub: Any, method: str, path: str, user: str | None = "alice", **kwargs: Any) -> requests.Response:
    """One request to the hub as `user` (None = anonymous)."""
    headers = {**bearer(hub, user), **kwargs.pop("headers", {})}
    timeout = kwargs.pop("timeout", TIMEOUT)
    return requests.request(method, hub.url + path, headers=headers, timeout=timeout, **kwargs)


def create_model(hub: Any, model_id: str, user: str = "alice", visibility: int = 5) -> None:
    """Create an empty model (asserts success)."""
    owner, name = model_id.split("/")
    response = api(hub, "POST", "/api/v1/models", user, json={"Path": owner, "Name": name, "Visibility": visibility})
    assert response.status_code == 200, response.text


def create_models(hub: Any, model_ids: Iterable[str], *, user: str = "alice", visibility: int = 5) -> None:
    """Create many empty models (asserts success)."""
    for model_id in model_ids:
        create_model(hub, model_id, user, visibility)


def normal(path: str, content: bytes, action: str = "create") -> dict[str, Any]:
    """A commit action carrying `content` inline as base64 (§10.5)."""
    return {
        "action": action,
        "path": path,
        "type": "normal",
        "size": len(content),
        "sha256": "",
        "content": base64.b64encode(content).decode(),
        "encoding": "base64",
    }


def lfs(path: str, content: bytes, action: str = "create", size: int | None = None) -> dict[str, Any]:
    """A commit action pointing at an LFS blob by sha256."""
    size = len(content) if size is None else size
    return {"action": action, "path": path, "type": "lfs", "size": size, "sha256": sha(content), "content": ""}


def delete(path: str) -> dict[str, Any]:
    """A delete action."""
    return {"action": "delete", "path": path, "type": "normal", "size": 0, "sha256": "", "content": "", "encoding": ""}


def commit(
    hub: Any,
    model_id: str,
    actions: list[dict[str, Any]],
    revision: str = "master",
    user: str | None = "alice",
    message: str = "c",
    **kwargs: Any,
) -> requests.Response:
    """POST a commit; the body goes without Content-Type, as the old client sends it."""
    body = json.dumps({"commit_message": message, "actions": actions})
    return api(hub, "POST", f"/api/v1/repos/models/{model_id}/commit/{revision}", user, data=body, **kwargs)


def commit_files(
    hub: Any,
    model_id: str,
    files: dict[str, bytes | str],
    *,
    user: str = "alice",
    branch: str = "master",
    message: str = "add files",
) -> str:
    """Commit `files` (path -> content, inline) to `branch`; returns the new commit id."""
    actions = [
        normal(path, content.encode() if isinstance(content, str) else content) for path, content in files.items()
    ]
    response = commit(hub, model_id, actions, branch, user, message)
    assert response.status_code == 200, response.text
    return response.json()["Data"]["oid"]


def batch(hub: Any, model_id: str, blobs: Iterable[bytes], user: str | None = "alice") -> requests.Response:
    """POST an LFS batch request for these contents."""
    objects = [{"oid": sha(b), "size": len(b)} for b in blobs]
    body = json.dumps({"operation": "upload", "objects": objects})
    return api(hub, "POST", f"/api/v1/repos/models/{model_id}/info/lfs/objects/batch", user, data=body)


def put_blob(
    hub: Any, model_id: str, content: bytes, oid: str | None = None, user: str | None = "alice"
) -> requests.Response:
    """PUT raw bytes to the blob URL of `oid` (default: their own sha256), cookie-authenticated as clients do."""
    headers = {"Cookie": f"m_session_id={hub.tokens[user]}"} if user else {}
    path = f"/api/v1/repos/models/{model_id}/info/lfs/objects/{oid or sha(content)}"
    return api(hub, "PUT", path, None, data=content, headers=headers)


def is_stored(hub: Any, model_id: str, content: bytes) -> bool:
    """Whether the hub's blob store has `content` (its batch answer carries no upload action)."""
    response = batch(hub, model_id, [content])
    assert response.status_code == 200, response.text
    return "actions" not in response.json()["Data"]["objects"][0]


def upload_blob(hub: Any, model_id: str, content: bytes, user: str = "alice") -> str:
    """Batch + PUT (when the hub asks for it); returns the sha256."""
    response = batch(hub, model_id, [content], user)
    assert response.status_code == 200, response.text
    obj = response.json()["Data"]["objects"][0]
    if "actions" in obj:
        href = obj["actions"]["upload"]["href"]
        put = requests.put(href, data=content, headers={"Cookie": f"m_session_id={hub.tokens[user]}"}, timeout=TIMEOUT)
        assert put.status_code == 200, put.text
    return sha(content)


def push(
    hub: Any,
    model_id: str,
    files: dict[str, bytes],
    *,
    lfs_paths: Iterable[str] = (),
    revision: str = "master",
    **kw: Any,
) -> str:
    """Commit `files` (those in `lfs_paths` through batch + PUT); returns the new commit id."""
    lfs_paths = set(lfs_paths)
    actions = []
    for path, content in files.items():
        if path in lfs_paths:
            upload_blob(hub, model_id, content)
            actions.append(lfs(path, content))
        else:
            actions.append(normal(path, content))
    response = commit(hub, model_id, actions, revision, **kw)
    assert response.status_code == 200, response.text
    return response.json()["Data"]["oid"]


def list_files(hub: Any, model_id: str, user: str | None = "alice", **params: Any) -> list[dict[str, Any]]:
    """The `Files` of a repo/files listing (asserts 200)."""
    response = api(hub, "GET", f"/api/v1/models/{model_id}/repo/files", user, params=params)
    assert response.status_code == 200, response.text
    return response.json()["Data"]["Files"]


def paths(files: list[dict[str, Any]]) -> list[str]:
    """The `Path`s of a listing, in its order."""
    return [f["Path"] for f in files]


def download(
    hub: Any, model_id: str, path: str | None, user: str | None = "alice", revision: str | None = None, **kw: Any
) -> requests.Response:
    """GET the download route."""
    params = {"Revision": revision, "FilePath": path}
    return api(hub, "GET", f"/api/v1/models/{model_id}/repo", user, params=params, **kw)


def git_token(hub: Any, user: str = "alice") -> str:
    """The git token the hub hands out at login (to search logs and results for it)."""
    response = requests.post(f"{hub.url}/api/v1/login", json={"AccessToken": hub.tokens[user]}, timeout=30)
    response.raise_for_status()
    return response.json()["Data"]["AccessToken"]


# -- another user at work ----------------------------------------------------------------------------
class HubWriter:
    """Change local_hub the way another user or the website would: plain HTTP with `user`'s token, plus
    the control plane for branches."""

    def __init__(self, hub: RunningHub, user: str = "alice") -> None:
        self.hub = hub
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {hub.tokens[user]}"

    def _ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.request(method, f"{self.hub.url}{path}", json=body, timeout=30)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()["Data"]

    def create(self, model_id: str, visibility: int = 5, license: str | None = None) -> None:
        """An empty model."""
        owner, name = model_id.split("/")
        body: dict[str, Any] = {"Path": owner, "Name": name, "Visibility": visibility}
        if license:
            body["License"] = license
        self._ok("POST", "/api/v1/models", body)

    def commit(
        self, model_id: str, files: dict[str, bytes], branch: str = "master", delete: tuple[str, ...] = ()
    ) -> str:
        """One commit that writes `files` (inline) and deletes `delete`; returns its id."""
        actions = [normal(path, data) for path, data in files.items()]
        actions += [{"action": "delete", "path": path} for path in delete]
        data = self._ok(
            "POST", f"/api/v1/repos/models/{model_id}/commit/{branch}", {"commit_message": "test", "actions": actions}
        )
        return data["oid"]

    def tag(self, model_id: str, tag: str, ref: str = "master") -> str:
        """Tag `ref`; returns the commit id the tag points at."""
        return self._ok("POST", f"/api/v1/models/{model_id}/repo/tag", {"TagName": tag, "Ref": ref})["CommitId"]

    def branch(self, model_id: str, branch: str, revision: str = "master") -> str:
        """Create a branch (the HTTP API cannot; git push and the website can); returns its commit id."""
        return self.hub.control.create_branch(model_id, branch, revision)

    def update(self, model_id: str, **fields: Any) -> None:
        """Change Visibility, License, ... of a model."""
        self._ok("PUT", f"/api/v1/models/{model_id}", fields)

    def delete(self, model_id: str) -> None:
        self._ok("DELETE", f"/api/v1/models/{model_id}")

    def exists(self, model_id: str) -> bool:
        return self.session.get(f"{self.hub.url}/api/v1/models/{model_id}", timeout=30).status_code == 200

    def head(self, model_id: str, revision: str = "master") -> str | None:
        """The commit `revision` points at, None when the model has no such ref (or no commit)."""
        response = self.session.get(
            f"{self.hub.url}/api/v1/models/{model_id}/commits", params={"Ref": revision, "PageSize": 1}, timeout=30
        )
        if response.status_code != 200:
            return None
        commits = response.json()["Data"]["Commit"]
        return commits[0]["Id"] if commits else None


# -- datasets ----------------------------------------------------------------------------------------
def create_dataset(
    hub: Any, dataset_id: str, user: str | None = "alice", visibility: int | str = 5, **fields: Any
) -> requests.Response:
    """POST a dataset's create as SDK 1.40 sends it: a multipart form, each field a text part (§21.1);
    `fields` add or replace fields. The answer is returned unchecked."""
    owner, name = dataset_id.split("/")
    form = {"Owner": owner, "Name": name, "Visibility": visibility, "License": "Apache-2.0", **fields}
    return api(hub, "POST", "/api/v1/datasets", user, files={k: (None, str(v)) for k, v in form.items()})


def commit_to(
    hub: Any,
    repo_type: str,
    repo_id: str,
    actions: list[dict[str, Any]],
    revision: str = "master",
    user: str | None = "alice",
    message: str = "c",
) -> requests.Response:
    """POST a commit to a repo of `repo_type` (`model`, `dataset`): `/api/v1/repos/{type}s/...` (§10.5, §21.7)."""
    body = json.dumps({"commit_message": message, "actions": actions})
    return api(hub, "POST", f"/api/v1/repos/{repo_type}s/{repo_id}/commit/{revision}", user, data=body)
