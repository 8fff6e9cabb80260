"""Strict mode over HTTP: a query or JSON body no official client sends is a 400 in the hub's envelope that
names the field; what the SDK and the old client send (protocol.md) passes; `--lenient` (or the control
plane's `strict: false`) turns the check off.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_hub.__main__ import hub_options, parser
from tests.helpers.hub_http import api, commit, create_model, normal, push, sha

MODEL = "alice/strict"
LENIENT = "start local_hub with --lenient"


def refused(response, field: str, code: int = 400) -> str:
    """Assert a strict-mode 400 in the legacy envelope whose message names `field`; returns the message."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["Success"] is False and body["Code"] == code and body["Data"] is None
    assert field in body["Message"] and LENIENT in body["Message"] and "exist" not in body["Message"]
    return body["Message"]


def test_unknown_missing_and_mistyped_body_keys_are_refused_by_name(hub):
    create_model(hub, MODEL)
    extra = {**normal("a.txt", b"a"), "mode": "100644"}
    message = refused(commit(hub, MODEL, [extra]), "body.actions[0].mode")
    assert "official clients send action, content, encoding, path, sha256, size, type" in message
    missing = api(hub, "POST", f"/api/v1/repos/models/{MODEL}/info/lfs/objects/batch", json={"operation": "upload"})
    refused(missing, "missing required key body.objects")
    mistyped = api(hub, "POST", f"/api/v1/models/{MODEL}/repo/tag", json={"TagName": 1, "Ref": "master"})
    refused(mistyped, "body.TagName must be str, got int")
    assert hub.control.stats()["commits"] == 0  # nothing refused took effect


def test_unknown_and_mistyped_query_keys_are_refused_in_each_surfaces_envelope(hub):
    create_model(hub, MODEL)
    refused(api(hub, "GET", f"/api/v1/models/{MODEL}/repo/files", params={"Recursve": "True"}), "'Recursve'")
    refused(api(hub, "GET", f"/api/v1/models/{MODEL}/repo/files", params={"Recursive": "yes"}), "'Recursive'")
    refused(api(hub, "GET", f"/api/v1/models/{MODEL}/repo"), "missing required query key 'FilePath'")
    refused(api(hub, "GET", f"/api/v1/models/{MODEL}", data=b"{}"), "no body")
    openapi = api(hub, "GET", "/openapi/v1/models", params={"owner": "alice", "page": 2}).json()
    assert openapi["success"] is False and openapi["code"] == "InputParameterError" and "'page'" in openapi["message"]


def test_the_route_answers_first_when_it_turns_the_caller_away(hub):
    bad = {"Path": "alice", "Name": "m", "Colour": "red"}
    unknown = api(hub, "POST", "/api/v1/models", None, json=bad, headers={"Authorization": "Bearer ms-nobody"})
    assert unknown.status_code == 401  # the hub authenticates before it reads a body
    assert api(hub, "POST", "/api/v1/models", None, json=bad).status_code == 401
    assert api(hub, "POST", "/api/v1/repos/studios/alice/d/info/lfs/objects/batch", json={}).status_code == 501
    assert api(hub, "POST", "/api/v1/repos/datasets/alice/d/info/lfs/objects/batch", json={}).status_code == 404
    # A login the hub cannot read is a failed login, with login's own business code.
    refused(api(hub, "POST", "/api/v1/login", None, json={"AccessToken": 5}), "body.AccessToken", 10010103009)


def test_what_the_old_client_sends_is_accepted(hub):
    """The old (1804ac6b) client's shapes from protocol.md, sent as it sends them (JSON without a
    Content-Type, str(bool) flags, the `update` action, per-file deletes)."""
    old_create = {
        "Path": "alice",
        "Name": "old",
        "ChineseName": None,
        "Visibility": 5,
        "License": "Apache License 2.0",
        "OriginalModelId": "",
        "TrainId": "",
    }
    assert api(hub, "POST", "/api/v1/models", data=json.dumps(old_create)).status_code == 200
    content = b"old client\n"
    batch = {"operation": "upload", "objects": [{"oid": sha(content), "size": len(content)}]}
    path = "/api/v1/repos/models/alice/old"
    assert api(hub, "POST", f"{path}/info/lfs/objects/batch", data=json.dumps(batch)).status_code == 200
    update = {**normal("sub/a.txt", content), "action": "update"}
    assert commit(hub, "alice/old", [update, normal("b.txt", b"b")]).status_code == 200
    listing = "PUT", "/api/v1/models/", {"data": '{"Path":"alice", "PageNumber":1, "PageSize": 10}'}
    for method, route, kwargs in [
        listing,
        ("GET", "/api/v1/models/alice/old", {"params": {"Revision": "master"}}),
        ("GET", "/api/v1/models/alice/old/revisions", {"params": {"EndTime": 4102444800}}),
        (
            "GET",
            "/api/v1/models/alice/old/repo/files",
            {"params": {"Revision": "master", "Recursive": "False", "Root": "sub"}},
        ),
        ("GET", "/api/v1/models/alice/old/commits", {"params": {"Ref": "master", "PageNumber": 1, "PageSize": 10}}),
        ("GET", "/api/v1/models/alice/old/repo", {"params": {"Revision": "master", "FilePath": "sub/a.txt"}}),
        ("DELETE", "/api/v1/models/alice/old/file", {"params": {"Revision": "master", "FilePath": "b.txt"}}),
        ("POST", "/api/v1/models/alice/old/repo/tag", {"data": '{"TagName": "v1", "Ref": "master"}'}),
        ("PUT", "/api/v1/models/alice/old", {"json": {"Visibility": 1, "ProtectedMode": 2, "Tasks": []}}),
    ]:
        response = api(hub, method, route, **kwargs)
        assert response.status_code == 200, (method, route, response.text)


def test_lenient_accepts_what_strict_refuses(hub):
    create_model(hub, MODEL)
    foreign = {**normal("a.txt", b"a"), "mode": "100644"}
    hub.control.configure(strict=False)
    try:
        assert commit(hub, MODEL, [foreign]).status_code == 200
        assert api(hub, "GET", f"/api/v1/models/{MODEL}/repo/files", params={"Recursve": "True"}).status_code == 200
        assert hub.control.journal()[-1]["query"] == ["Recursve"]  # journaled all the same
    finally:
        assert hub.control.configure(strict=True)["strict"] is True
    assert push(hub, MODEL, {"b.txt": b"b"})


@pytest.mark.parametrize(("argv", "strict"), [(["serve"], True), (["serve", "--lenient"], False)])
def test_the_lenient_flag(argv, strict, tmp_path: Path):
    assert hub_options(parser().parse_args(argv), tmp_path).strict is strict
