"""The request journal over HTTP: each API request's shape in arrival order, and never a value.

A scenario full of distinctive values (tokens, a session cookie, model and file names, commit messages,
file content inline and as a blob, query values) goes through plain `requests`; the journal, served by
the control plane, must hold the shapes and none of those values.
"""

from __future__ import annotations

import base64
import json
import os

import requests

from tests.helpers.hub import ADMIN_TOKEN
from tests.helpers.hub_http import TIMEOUT, api, commit, create_model, download, lfs, normal, sha, upload_blob

MODEL = "alice/journal-marker-model"
MESSAGE = "commit-message-marker-7f3a"
INLINE = b"inline-content-marker-91c2\n"
INLINE_PATH = "secret-dir-marker/notes-marker.txt"


def test_the_journal_holds_shapes_and_no_value(hub):
    token = hub.tokens["alice"]
    login = requests.post(f"{hub.url}/api/v1/login", json={"AccessToken": token}, timeout=TIMEOUT)
    git_token = login.json()["Data"]["AccessToken"]
    create_model(hub, MODEL)
    weights = os.urandom(4096)
    upload_blob(hub, MODEL, weights)  # LFS batch, then the blob PUT with a session cookie
    assert commit(hub, MODEL, [normal(INLINE_PATH, INLINE), lfs("w.bin", weights)], message=MESSAGE).ok
    cookie = {"Cookie": f"m_session_id={token}"}
    got = download(hub, MODEL, INLINE_PATH, None, revision="master", headers={**cookie, "Range": "bytes=0-3"})
    assert got.status_code == 206
    assert api(hub, "GET", f"/api/v1/models/{MODEL}/repo/files", params={"Root": "secret-dir-marker"}).ok

    entries = hub.control.journal()
    text = json.dumps(entries)
    values = [token, git_token, "journal-marker", MESSAGE, "marker", INLINE.decode(), base64.b64encode(INLINE).decode()]
    values += [sha(weights), weights.hex()[:32], "master", "bytes=0-3", "Bearer", ADMIN_TOKEN]
    assert not [value for value in values if value in text]

    assert [e["route"] for e in entries] == [
        "login",
        "create_model",
        "lfs_batch",
        "blob_put",
        "commit",
        "download",
        "repo_files",
    ]
    by_route = {e["route"]: e for e in entries}
    assert by_route["login"]["body"] == {"AccessToken": "str"}
    assert by_route["login"]["headers"] == ["content-type", "user-agent"]
    assert by_route["blob_put"]["body"] == "bytes" and by_route["blob_put"]["headers"] == ["cookie", "user-agent"]
    action = {"action": "str", "content": "str", "encoding": "str", "path": "str", "sha256": "str", "size": "int"}
    assert by_route["commit"]["body"] == {"actions": [{**action, "type": "str"}], "commit_message": "str"}
    assert by_route["download"] == {
        "route": "download",
        "method": "GET",
        "query": ["FilePath", "Revision"],
        "headers": ["cookie", "user-agent"],
        "body": None,
    }
    assert by_route["repo_files"]["query"] == ["Root"]


def test_the_journal_is_served_and_cleared_by_the_control_plane_only(hub):
    api(hub, "GET", "/api/v1/models/alice/none")  # a 404 is journaled like any request
    url, admin = f"{hub.url}/_local_hub/journal", {"X-Local-Hub-Admin": ADMIN_TOKEN}
    assert requests.get(url, timeout=TIMEOUT).status_code == 403
    served = requests.get(url, headers=admin, timeout=TIMEOUT).json()
    assert served == {
        "entries": [
            {
                "route": "get_model",
                "method": "GET",
                "query": [],
                "headers": ["authorization", "user-agent"],
                "body": None,
            }
        ],
        "dropped": 0,
    }  # and the control plane's own calls are not in it
    assert requests.delete(url, headers=admin, timeout=TIMEOUT).json() == {"entries": [], "dropped": 0}
    api(hub, "GET", "/api/v1/models/alice/none")
    hub.control.reset()
    assert hub.control.journal() == []
