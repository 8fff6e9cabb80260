"""Model-level routes over HTTP: login, whoami, create/get/update/delete/list models, revisions, tags, commits."""

from __future__ import annotations

import json
import re

import pytest
import requests

from tests.helpers.hub import ADMIN_TOKEN
from tests.helpers.hub_http import ENVELOPE, OPENAPI_ERROR, api, create_model, list_files, push

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
COMMIT_KEYS = {
    "Id",
    "ShortId",
    "Title",
    "Message",
    "AuthorName",
    "AuthorEmail",
    "AuthoredDate",
    "CommitterName",
    "CommitterEmail",
    "CommittedDate",
    "CreatedAt",
}


def create(hub, body: dict, user: str | None = "alice"):
    """POST /api/v1/models with a JSON body sent without Content-Type (as the old client does)."""
    return api(hub, "POST", "/api/v1/models", user, data=json.dumps(body))


def assert_legacy_error(response, status: int, code: int | None = None) -> dict:
    """A legacy error: the real status, all five keys, Success false; returns the body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ENVELOPE and body["Success"] is False and body["Data"] is None
    assert body["Code"] == (status if code is None else code)
    assert isinstance(body["RequestId"], str) and body["RequestId"]
    return body


def assert_openapi_error(response, status: int, code: str) -> dict:
    """An OpenAPI error: the real status and `{success, code, message, request_id}`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == OPENAPI_ERROR and body["success"] is False and body["code"] == code
    return body


def revision_map(hub, model_id: str, user: str | None = "alice", **params) -> dict:
    response = api(hub, "GET", f"/api/v1/models/{model_id}/revisions", user, params=params)
    assert response.status_code == 200, response.text
    return response.json()["Data"]["RevisionMap"]


def tag(hub, model_id: str, name: str, ref: str | None = None, user: str | None = "alice"):
    body = {"TagName": name, **({"Ref": ref} if ref is not None else {})}
    return api(hub, "POST", f"/api/v1/models/{model_id}/repo/tag", user, data=json.dumps(body))


def legacy_list(hub, user: str | None = "alice", **body):
    return api(hub, "PUT", "/api/v1/models/", user, data=json.dumps(body))


def openapi_list(hub, user: str | None = "alice", **params):
    return api(hub, "GET", "/openapi/v1/models", user, params=params)


# -- login and whoami --------------------------------------------------------------------------
def test_login_returns_the_git_token_and_a_session_cookie(hub):
    token = hub.tokens["alice"]
    response = api(hub, "POST", "/api/v1/login", None, data=json.dumps({"AccessToken": token}))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ENVELOPE and body["Code"] == 200 and type(body["Code"]) is int and body["Success"] is True
    assert set(body["Data"]) == {"AccessToken", "Email", "Username"}
    assert body["Data"]["Username"] == "alice" and body["Data"]["Email"] == "alice@example.com"
    assert body["Data"]["AccessToken"] and body["Data"]["AccessToken"] != token
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"m_session_id={token};")
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert attributes["path"] == "Path=/"
    assert int(attributes["max-age"].split("=")[1]) >= 24 * 3600
    again = api(hub, "POST", "/api/v1/login", None, json={"AccessToken": token})
    assert again.json()["Data"]["AccessToken"] == body["Data"]["AccessToken"]  # the git token is stable


@pytest.mark.parametrize("body", [{"AccessToken": "ms-wrong"}, {"AccessToken": ""}, {}, {"AccessToken": 5}])
def test_login_with_a_bad_token_is_400_with_the_business_code(hub, body):
    response = api(hub, "POST", "/api/v1/login", None, data=json.dumps(body))
    assert_legacy_error(response, 400, 10010103009)
    assert "Set-Cookie" not in response.headers


def test_whoami_with_bearer_or_cookie(hub):
    for headers in (
        {"Authorization": f"Bearer {hub.tokens['carol']}"},
        {"Cookie": f"m_session_id={hub.tokens['carol']}"},
    ):
        response = api(hub, "GET", "/openapi/v1/users/me", None, headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True and isinstance(body["request_id"], str)
        assert body["data"]["username"] == "carol" and body["data"]["email"] == "carol@example.com"


def test_whoami_without_a_valid_token_is_401(hub):
    assert_openapi_error(api(hub, "GET", "/openapi/v1/users/me", None), 401, "InvalidAuthentication")
    bad = api(hub, "GET", "/openapi/v1/users/me", None, headers={"Authorization": "Bearer ms-nobody"})
    assert_openapi_error(bad, 401, "InvalidAuthentication")
    assert "ms-nobody" not in bad.text


# -- create ------------------------------------------------------------------------------------
def test_create_answers_the_exact_success_envelope(hub):
    response = create(hub, {"Path": "alice", "Name": "m1", "Visibility": 5, "License": "apache-2.0"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ENVELOPE
    assert body["Code"] == 200 and type(body["Code"]) is int
    assert body["Success"] is True and body["Message"] == "success" and isinstance(body["RequestId"], str)
    assert isinstance(body["Data"], dict) and body["Data"]["Name"] == "m1"
    assert response.headers["x-request-id"] == body["RequestId"]


def test_create_tolerates_sdk_payloads(hub):
    body = {
        "Path": "alice",
        "Name": "m.v-1_x",
        "Visibility": "5",
        "License": "Apache License 2.0",
        "ChineseName": None,
        "Description": "d",
        "OriginalModelId": "",
        "TrainId": "",
        "original_model_id": "a/b",
        "ProtectedMode": 2,
    }
    assert create(hub, body).status_code == 200
    assert create(hub, {"Path": "alice", "Name": "defaults"}).status_code == 200
    data = api(hub, "GET", "/api/v1/models/alice/defaults").json()["Data"]
    assert data["Visibility"] == 5


def test_duplicate_create_is_400_with_the_business_code(hub):
    assert create(hub, {"Path": "alice", "Name": "dup"}).status_code == 200
    body = assert_legacy_error(create(hub, {"Path": "alice", "Name": "dup", "Visibility": 1}), 400, 10010101001)
    assert "already exists" in body["Message"] or "已被注册" in body["Message"]
    assert api(hub, "GET", "/api/v1/models/alice/dup").json()["Data"]["Visibility"] == 5  # not mutated


@pytest.mark.parametrize(
    "name", ["", " ", "a b", "..", ".", "a/b", "模型", "naïve", "abc\n", "tab\t", "x" * 129, None, 5]
)
def test_bad_model_names_are_400_without_exist(hub, name):
    body = assert_legacy_error(create(hub, {"Path": "alice", "Name": name}), 400)
    assert "exist" not in body["Message"].lower()


@pytest.mark.parametrize("owner", ["", "al ice", "a/b", "..", None])
def test_bad_owners_are_400_without_exist(hub, owner):
    body = assert_legacy_error(create(hub, {"Path": owner, "Name": "ok"}), 400)
    assert "exist" not in body["Message"].lower()


@pytest.mark.parametrize("visibility", [0, 2, 4, 6, -1, "abc", "private"])
def test_visibility_outside_1_3_5_is_400(hub, visibility):
    body = assert_legacy_error(create(hub, {"Path": "alice", "Name": "vis", "Visibility": visibility}), 400)
    assert "exist" not in body["Message"].lower()


def test_create_permissions(hub):
    assert_legacy_error(create(hub, {"Path": "bob", "Name": "m"}), 403)
    assert_legacy_error(create(hub, {"Path": "team", "Name": "m"}, user="bob"), 403)
    assert_legacy_error(create(hub, {"Path": "alice", "Name": "m"}, user=None), 401)
    bad = api(hub, "POST", "/api/v1/models", None, data="{}", headers={"Authorization": "Bearer ms-nobody"})
    assert_legacy_error(bad, 401)
    assert create(hub, {"Path": "team", "Name": "m"}).status_code == 200
    assert create(hub, {"Path": "team", "Name": "m2"}, user="carol").status_code == 200
    assert api(hub, "GET", "/api/v1/models/team/m").json()["Data"]["CreatedBy"] == "alice"


def test_create_with_a_malformed_body_is_400(hub):
    for raw in ("not json", "[1]", '"str"'):
        assert_legacy_error(api(hub, "POST", "/api/v1/models", data=raw), 400)


# -- get ---------------------------------------------------------------------------------------
def test_get_model_legacy_and_openapi(hub):
    create(hub, {"Path": "alice", "Name": "g", "Visibility": 5, "ChineseName": "中文", "Description": "desc"})
    push(hub, "alice/g", {"a.txt": b"12345"})
    legacy = api(hub, "GET", "/api/v1/models/alice/g", None)
    assert legacy.status_code == 200 and set(legacy.json()) == ENVELOPE
    data = legacy.json()["Data"]
    for key in ("Id", "Name", "Path", "ChineseName", "Visibility", "License", "Description", "CreatedTime"):
        assert key in data
    assert (data["Name"], data["Path"], data["Visibility"], data["ChineseName"]) == ("g", "alice", 5, "中文")
    assert isinstance(data["CreatedTime"], int) and isinstance(data["LastUpdatedTime"], int)
    openapi = api(hub, "GET", "/openapi/v1/models/alice/g", None)
    assert openapi.status_code == 200
    body = openapi.json()
    assert body["success"] is True and isinstance(body["request_id"], str)
    model = body["data"]
    for key in ("id", "downloads", "likes", "tasks", "created_at", "last_modified", "file_size", "params", "private"):
        assert key in model
    assert model["id"] == "alice/g" and model["private"] is False and model["gated"] is False
    assert model["file_size"] == 5 and model["description"] == "desc"
    assert ISO_Z.match(model["created_at"]) and ISO_Z.match(model["last_modified"])
    assert api(hub, "GET", "/api/v1/models/alice/g", params={"Revision": "master"}).status_code == 200
    assert_legacy_error(api(hub, "GET", "/api/v1/models/alice/g", params={"Revision": "nope"}), 404)


def test_get_missing_model_is_404_on_both_surfaces(hub):
    assert_legacy_error(api(hub, "GET", "/api/v1/models/alice/missing"), 404)
    body = assert_openapi_error(api(hub, "GET", "/openapi/v1/models/alice/missing"), 404, "ResourceNotFound")
    assert "alice/missing" in body["message"]


def test_private_team_model_is_visible_only_to_members(hub):
    create(hub, {"Path": "team", "Name": "p", "Visibility": 1})
    for path in ("/api/v1/models/team/p", "/openapi/v1/models/team/p"):
        for user in ("alice", "carol"):
            assert api(hub, "GET", path, user).status_code == 200, (path, user)
        for user in ("bob", None):
            assert api(hub, "GET", path, user).status_code == 404, (path, user)
    assert api(hub, "GET", "/openapi/v1/models/team/p", "carol").json()["data"]["private"] is True


def test_internal_model_is_visible_to_any_logged_in_user(hub):
    create(hub, {"Path": "alice", "Name": "i", "Visibility": 3})
    for user in ("alice", "bob", "carol"):
        assert api(hub, "GET", "/api/v1/models/alice/i", user).status_code == 200
    assert api(hub, "GET", "/api/v1/models/alice/i", None).status_code == 404
    assert api(hub, "GET", "/openapi/v1/models/alice/i", None).status_code == 404
    cookie = {"Cookie": f"m_session_id={hub.tokens['bob']}"}
    assert api(hub, "GET", "/api/v1/models/alice/i", None, headers=cookie).status_code == 200


# -- update and delete -------------------------------------------------------------------------
def test_update_flips_visibility(hub):
    create_model(hub, "alice/u")
    flipped = api(hub, "PUT", "/api/v1/models/alice/u", data=json.dumps({"Visibility": 1}))
    assert flipped.status_code == 200 and flipped.json()["Data"]["Visibility"] == 1
    assert api(hub, "GET", "/api/v1/models/alice/u", "bob").status_code == 404
    assert api(hub, "GET", "/api/v1/models/alice/u", None).status_code == 404
    back = api(hub, "PUT", "/api/v1/models/alice/u", json={"Visibility": 5, "Description": "now public"})
    assert back.status_code == 200
    data = api(hub, "GET", "/api/v1/models/alice/u", None).json()["Data"]
    assert (data["Visibility"], data["Description"]) == (5, "now public")


def test_update_permissions_and_validation(hub):
    create_model(hub, "alice/up")
    assert_legacy_error(api(hub, "PUT", "/api/v1/models/alice/up", "bob", json={"Visibility": 1}), 403)
    assert_legacy_error(api(hub, "PUT", "/api/v1/models/alice/up", None, json={"Visibility": 1}), 401)
    assert_legacy_error(api(hub, "PUT", "/api/v1/models/alice/up", json={"Visibility": 2}), 400)
    assert_legacy_error(api(hub, "PUT", "/api/v1/models/alice/none", json={"Visibility": 1}), 404)
    assert api(hub, "GET", "/api/v1/models/alice/up", None).json()["Data"]["Visibility"] == 5


def test_delete_model(hub):
    create_model(hub, "alice/d")
    push(hub, "alice/d", {"a.txt": b"a"})
    assert_legacy_error(api(hub, "DELETE", "/api/v1/models/alice/d", "bob"), 403)
    assert_legacy_error(api(hub, "DELETE", "/api/v1/models/alice/d", None), 401)
    response = api(hub, "DELETE", "/api/v1/models/alice/d")
    assert response.status_code == 200 and response.json()["Success"] is True
    assert_legacy_error(api(hub, "GET", "/api/v1/models/alice/d"), 404)
    assert_legacy_error(api(hub, "DELETE", "/api/v1/models/alice/d"), 404)
    create_model(hub, "alice/d")  # the name is free again, and the new repo is empty
    assert list_files(hub, "alice/d") == []
    assert revision_map(hub, "alice/d") == {"Branches": [], "Tags": []}


# -- listing -----------------------------------------------------------------------------------
def test_legacy_list_pages_with_body_without_content_type(hub):
    for name in ("l1", "l2", "l3"):
        create_model(hub, f"alice/{name}")
    create_model(hub, "alice/lp", visibility=1)
    create_model(hub, "bob/other", user="bob")
    first = legacy_list(hub, None, Path="alice", PageNumber=1, PageSize=2)
    assert first.status_code == 200 and set(first.json()) == ENVELOPE
    data = first.json()["Data"]
    assert [m["Name"] for m in data["Models"]] == ["l1", "l2"] and data["TotalCount"] == 3
    second = legacy_list(hub, None, Path="alice", PageNumber=2, PageSize=2).json()["Data"]
    assert [m["Name"] for m in second["Models"]] == ["l3"] and second["TotalCount"] == 3
    mine = legacy_list(hub, "alice", Path="alice", PageNumber=1, PageSize=10).json()["Data"]
    assert [m["Name"] for m in mine["Models"]] == ["l1", "l2", "l3", "lp"] and mine["TotalCount"] == 4
    everyone = legacy_list(hub, None).json()["Data"]  # defaults: all owners, page 1, size 10
    assert everyone["TotalCount"] == 4
    assert_legacy_error(legacy_list(hub, None, PageSize=101), 400)
    assert_legacy_error(legacy_list(hub, None, PageNumber=0), 400)


def test_openapi_list_pages_and_counts(hub):
    names = [f"o{i}" for i in range(5)]
    for name in names:
        create_model(hub, f"alice/{name}")
    create_model(hub, "bob/b1", user="bob")
    seen = []
    for number, expected in ((1, 2), (2, 2), (3, 1), (4, 0)):
        response = openapi_list(hub, None, owner="alice", page_number=number, page_size=2)
        assert response.status_code == 200
        data = response.json()["data"]
        assert set(data) == {"models", "total_count", "page_number", "page_size"}
        assert (data["total_count"], data["page_number"], data["page_size"]) == (5, number, 2)
        assert len(data["models"]) == expected
        seen += [m["id"] for m in data["models"]]
    assert seen == [f"alice/{n}" for n in names]
    everyone = openapi_list(hub, None, page_size=100).json()["data"]
    assert everyone["total_count"] == 6 and len(everyone["models"]) == 6
    model = everyone["models"][0]
    assert ISO_Z.match(model["created_at"]) and model["private"] is False


@pytest.mark.parametrize(
    "params", [{"page_size": 101}, {"page_number": 0}, {"page_size": 0}, {"page_number": "x"}, {"page_size": -1}]
)
def test_openapi_list_bad_paging_is_400(hub, params):
    assert_openapi_error(openapi_list(hub, None, **params), 400, "InputParameterError")


def test_private_models_are_hidden_from_other_listings(hub):
    create_model(hub, "alice/pub")
    create_model(hub, "alice/priv", visibility=1)
    create_model(hub, "alice/int", visibility=3)
    views = {
        "alice": ["alice/pub", "alice/priv", "alice/int"],
        "bob": ["alice/pub", "alice/int"],
        None: ["alice/pub"],
    }
    for user, expected in views.items():
        data = openapi_list(hub, user, owner="alice").json()["data"]
        assert [m["id"] for m in data["models"]] == expected and data["total_count"] == len(expected), user
        legacy = legacy_list(hub, user, Path="alice").json()["Data"]
        assert legacy["TotalCount"] == len(expected), user
    assert openapi_list(hub, "alice", owner="alice").json()["data"]["models"][1]["private"] is True


def test_listing_stops_at_the_search_window_but_counts_everything(hub):
    for i in range(6):
        create_model(hub, f"alice/w{i}")
    try:
        hub.control.configure(max_list_offset=4)
        for number, expected in ((1, ["w0", "w1"]), (2, ["w2", "w3"]), (3, [])):
            data = openapi_list(hub, None, owner="alice", page_number=number, page_size=2).json()["data"]
            assert [m["id"].split("/")[1] for m in data["models"]] == expected
            assert data["total_count"] == 6
        straddling = openapi_list(hub, None, owner="alice", page_number=2, page_size=3).json()["data"]
        assert [m["id"] for m in straddling["models"]] == ["alice/w3"] and straddling["total_count"] == 6
        legacy = legacy_list(hub, None, Path="alice", PageNumber=3, PageSize=2).json()["Data"]
        assert legacy == {"Models": [], "TotalCount": 6}
    finally:
        hub.control.configure(max_list_offset=10_000)
    assert len(openapi_list(hub, None, owner="alice", page_number=3, page_size=2).json()["data"]["models"]) == 2


# -- revisions ---------------------------------------------------------------------------------
def test_revisions_of_an_empty_repo_are_empty_lists(hub):
    create_model(hub, "alice/r0")
    response = api(hub, "GET", "/api/v1/models/alice/r0/revisions", None)
    assert response.status_code == 200 and set(response.json()) == ENVELOPE
    assert response.json()["Data"] == {"RevisionMap": {"Branches": [], "Tags": []}}


def test_revisions_list_branches_and_tags_newest_first(hub):
    create_model(hub, "alice/r")
    push(hub, "alice/r", {"a.txt": b"a"})
    hub.control.create_branch("alice/r", "dev")
    for name in ("v1", "v2", "v3"):
        assert tag(hub, "alice/r", name).status_code == 200
    revisions = revision_map(hub, "alice/r", None)
    assert [b["Revision"] for b in revisions["Branches"]] == ["master", "dev"]
    assert [t["Revision"] for t in revisions["Tags"]] == ["v3", "v2", "v1"]
    for detail in revisions["Branches"] + revisions["Tags"]:
        assert set(detail) >= {"Revision", "CreatedAt"} and type(detail["CreatedAt"]) is int


def test_revisions_name_each_refs_commit_unless_configured_not_to(hub):
    create_model(hub, "alice/rc")
    head = push(hub, "alice/rc", {"a.txt": b"a"})
    tag(hub, "alice/rc", "v1")
    listed = revision_map(hub, "alice/rc", None)
    assert [d["CommitId"] for d in listed["Branches"] + listed["Tags"]] == [head, head]
    try:
        assert hub.control.configure(revision_commit_ids=False)["revision_commit_ids"] is False
        silent = revision_map(hub, "alice/rc", None)
        assert [set(d) for d in silent["Branches"] + silent["Tags"]] == [{"Revision", "CreatedAt"}] * 2
        bad = requests.put(
            f"{hub.url}/_local_hub/config",
            json={"revision_commit_ids": "no"},
            headers={"X-Local-Hub-Admin": ADMIN_TOKEN},
            timeout=10,
        )
        assert bad.status_code == 400 and "true or false" in bad.text
    finally:
        hub.control.configure(revision_commit_ids=True)


def test_end_time_filters_tags_only(hub):
    create_model(hub, "alice/et")
    push(hub, "alice/et", {"a.txt": b"a"})
    for name in ("v1", "v2"):
        tag(hub, "alice/et", name)
    created = [t["CreatedAt"] for t in revision_map(hub, "alice/et")["Tags"]]
    before = revision_map(hub, "alice/et", EndTime=min(created) - 1)
    assert before["Tags"] == [] and [b["Revision"] for b in before["Branches"]] == ["master"]
    upto = revision_map(hub, "alice/et", EndTime=max(created))
    assert [t["Revision"] for t in upto["Tags"]] == ["v2", "v1"]
    assert_legacy_error(api(hub, "GET", "/api/v1/models/alice/et/revisions", params={"EndTime": "soon"}), 400)


def test_revisions_of_a_private_repo_are_404_to_others(hub):
    create_model(hub, "alice/rp", visibility=1)
    assert_legacy_error(api(hub, "GET", "/api/v1/models/alice/rp/revisions", "bob"), 404)
    assert_legacy_error(api(hub, "GET", "/api/v1/models/alice/nothing/revisions"), 404)


# -- tags --------------------------------------------------------------------------------------
def test_tag_points_at_the_ref_and_is_idempotent(hub):
    create_model(hub, "alice/t")
    first = push(hub, "alice/t", {"a.txt": b"1"})
    response = tag(hub, "alice/t", "v1")
    assert response.status_code == 200 and set(response.json()) == ENVELOPE
    assert response.json()["Data"]["CommitId"] == first
    assert tag(hub, "alice/t", "v1", ref="master").status_code == 200  # same tag, same commit
    second = push(hub, "alice/t", {"a.txt": b"2"})
    moved = assert_legacy_error(tag(hub, "alice/t", "v1"), 400)
    assert "already exists" in moved["Message"]
    assert tag(hub, "alice/t", "v1", ref=first).status_code == 200  # still the same commit
    assert tag(hub, "alice/t", "v2").json()["Data"]["CommitId"] == second
    assert tag(hub, "alice/t", "old", ref="v1").json()["Data"]["CommitId"] == first
    assert [t["Revision"] for t in revision_map(hub, "alice/t")["Tags"]] == ["old", "v2", "v1"]
    assert list_files(hub, "alice/t", Revision="v1")[0]["Revision"] == first
    assert_legacy_error(tag(hub, "alice/t", "v9", ref="nope"), 404)


@pytest.mark.parametrize("name", ["master", "main", "MASTER", "Main"])
def test_branch_names_are_not_tags(hub, name):
    create_model(hub, "alice/tm")
    push(hub, "alice/tm", {"a.txt": b"a"})
    assert_legacy_error(tag(hub, "alice/tm", name), 400)
    assert revision_map(hub, "alice/tm")["Tags"] == []


@pytest.mark.parametrize("name", ["", " v1", "v 1", "v1 ", "a..b", "v1\n", "-x", "a:b", "x~1", "a/", None])
def test_bad_tag_names_are_400(hub, name):
    create_model(hub, "alice/tb")
    push(hub, "alice/tb", {"a.txt": b"a"})
    body = assert_legacy_error(tag(hub, "alice/tb", name), 400)
    assert "exist" not in body["Message"].lower()


def test_tag_on_an_empty_repo_is_404_and_needs_write_permission(hub):
    create_model(hub, "alice/te")
    assert_legacy_error(tag(hub, "alice/te", "v1"), 404)
    push(hub, "alice/te", {"a.txt": b"a"})
    assert_legacy_error(tag(hub, "alice/te", "v1", user="bob"), 403)
    assert_legacy_error(tag(hub, "alice/te", "v1", user=None), 401)
    assert revision_map(hub, "alice/te")["Tags"] == []


# -- commits -----------------------------------------------------------------------------------
def test_commits_newest_first_with_top_level_total(hub):
    create_model(hub, "alice/h")
    ids = [push(hub, "alice/h", {f"{i}.txt": b"x"}, message=f"c{i}\n\ndetails {i}") for i in range(3)]
    response = api(hub, "GET", "/api/v1/models/alice/h/commits", None)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ENVELOPE | {"TotalCount"} and body["TotalCount"] == 3
    commits = body["Data"]["Commit"]
    assert [c["Id"] for c in commits] == ids[::-1]
    for commit in commits:
        assert set(commit) == COMMIT_KEYS
        assert commit["ShortId"] == commit["Id"][:8]
        assert commit["AuthorName"] == commit["CommitterName"] == "alice"
        assert commit["AuthorEmail"] == "alice@example.com"
    assert commits[0]["Title"] == "c2" and commits[0]["Message"] == "c2\n\ndetails 2"


def test_commits_paging(hub):
    create_model(hub, "alice/hp")
    ids = [push(hub, "alice/hp", {"a.txt": str(i).encode()}) for i in range(5)]
    pages = []
    for number in (1, 2, 3):
        body = api(hub, "GET", "/api/v1/models/alice/hp/commits", params={"PageNumber": number, "PageSize": 2}).json()
        assert body["TotalCount"] == 5
        pages.append([c["Id"] for c in body["Data"]["Commit"]])
    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    too_big = api(hub, "GET", "/api/v1/models/alice/hp/commits", params={"PageSize": 101})
    assert_legacy_error(too_big, 400)


def test_commits_by_branch_and_tag(hub):
    create_model(hub, "alice/hr")
    first = push(hub, "alice/hr", {"a.txt": b"1"})
    tag(hub, "alice/hr", "v1")
    hub.control.create_branch("alice/hr", "dev")
    on_master = push(hub, "alice/hr", {"a.txt": b"2"})
    on_dev = push(hub, "alice/hr", {"d.txt": b"d"}, revision="dev")

    def history(ref: str) -> list[str]:
        body = api(hub, "GET", "/api/v1/models/alice/hr/commits", params={"Ref": ref}).json()
        return [c["Id"] for c in body["Data"]["Commit"]]

    assert history("master") == [on_master, first]
    assert history("dev") == [on_dev, first]
    assert history("v1") == [first]
    assert history(first) == [first]
    assert_legacy_error(api(hub, "GET", "/api/v1/models/alice/hr/commits", params={"Ref": "nope"}), 404)


def test_commits_of_an_empty_repo(hub):
    create_model(hub, "alice/he")
    body = api(hub, "GET", "/api/v1/models/alice/he/commits").json()
    assert body["Data"] == {"Commit": []} and body["TotalCount"] == 0
