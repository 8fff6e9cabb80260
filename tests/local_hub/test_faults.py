"""Fault injection through the control plane (PUT /_local_hub/faults), its auth, stats and reset."""

from __future__ import annotations

import os
import time

import pytest
import requests

from tests.helpers.hub import ADMIN_TOKEN
from tests.helpers.hub_http import (
    ENVELOPE,
    OPENAPI_ERROR,
    TIMEOUT,
    api,
    commit,
    create_model,
    download,
    is_stored,
    list_files,
    normal,
    paths,
    push,
    put_blob,
    sha,
)

MODEL = "/api/v1/models/alice/f"


@pytest.fixture
def repo(hub) -> bytes:
    """alice/f with one 256 KiB file, data.bin; returns its bytes."""
    create_model(hub, "alice/f")
    content = os.urandom(256 * 1024)
    push(hub, "alice/f", {"data.bin": content}, lfs_paths=["data.bin"])
    return content


def statuses(hub, count: int, path: str = MODEL) -> list[int]:
    return [api(hub, "GET", path, None).status_code for _ in range(count)]


# -- effects -----------------------------------------------------------------------------------
def test_status_on_the_legacy_surface_with_retry_after(hub, repo):
    hub.control.set_faults([{"effect": "status", "route": "get_model", "status": 503, "retry_after": 7}])
    response = api(hub, "GET", MODEL, None)
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    body = response.json()
    assert set(body) == ENVELOPE and body["Code"] == 503 and body["Success"] is False and body["Data"] is None
    assert response.headers["x-request-id"] == body["RequestId"]


def test_status_on_the_openapi_surface(hub, repo):
    hub.control.set_faults([{"effect": "status", "route": "get_model_openapi", "status": 429, "retry_after": 1.5}])
    response = api(hub, "GET", "/openapi/v1/models/alice/f", None)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1.5"
    body = response.json()
    assert set(body) == OPENAPI_ERROR and body["success"] is False and body["code"] == "RateLimitExceed"
    hub.control.set_faults([{"effect": "status", "route": "get_model", "status": 500}])
    plain = api(hub, "GET", MODEL, None)
    assert plain.status_code == 500 and "Retry-After" not in plain.headers


def test_status_on_a_commit_does_not_apply_it(hub, repo):
    hub.control.set_faults([{"effect": "status", "route": "commit", "status": 502}])
    assert commit(hub, "alice/f", [normal("x.txt", b"x")]).status_code == 502
    assert paths(list_files(hub, "alice/f")) == ["data.bin"]
    assert hub.control.stats()["commits_total"] == 1


def test_latency_delays_then_serves(hub, repo):
    hub.control.set_faults([{"effect": "latency", "route": "get_model", "seconds": 0.3}])
    started = time.monotonic()
    response = api(hub, "GET", MODEL, None)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_drop_closes_the_connection(hub, repo):
    hub.control.set_faults([{"effect": "drop", "route": "get_model", "times": 1}])
    with pytest.raises(requests.ConnectionError):
        api(hub, "GET", MODEL, None)
    assert api(hub, "GET", MODEL, None).status_code == 200


def test_drop_mid_body_on_an_upload_stores_nothing(hub, repo):
    content = os.urandom(3 * 1024 * 1024)
    before = hub.control.stats()
    hub.control.set_faults([{"effect": "drop_mid_body", "route": "blob_put"}])
    with pytest.raises(requests.ConnectionError):
        put_blob(hub, "alice/f", content)
    hub.control.clear_faults()
    assert not is_stored(hub, "alice/f", content)
    counters = hub.control.stats()
    assert counters["blob_puts"] == before["blob_puts"]
    assert counters["blob_bytes_received"] - before["blob_bytes_received"] < len(content)
    assert put_blob(hub, "alice/f", content).status_code == 200  # the retry works
    assert is_stored(hub, "alice/f", content)


def test_drop_mid_body_on_a_small_upload_applies_nothing(hub, repo):
    """A commit body small enough to arrive in one piece is still cut: the commit must not land."""
    hub.control.set_faults([{"effect": "drop_mid_body", "route": "commit"}])
    with pytest.raises(requests.ConnectionError):
        commit(hub, "alice/f", [normal("x.txt", b"x")])
    hub.control.clear_faults()
    assert paths(list_files(hub, "alice/f")) == ["data.bin"]
    assert hub.control.stats()["commits_total"] == 1


def test_drop_mid_body_on_a_download_truncates_it(hub, repo):
    hub.control.set_faults([{"effect": "drop_mid_body", "route": "download"}])
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        download(hub, "alice/f", "data.bin")
    response = download(hub, "alice/f", "data.bin", stream=True)
    received = bytearray()
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        for chunk in response.iter_content(64 * 1024):
            received += chunk
    assert 0 < len(received) < len(repo) and repo.startswith(bytes(received))


def test_apply_then_fail_lands_the_commit_but_answers_an_error(hub, repo):
    before = hub.control.stats()["commits_total"]
    hub.control.set_faults([{"effect": "apply_then_fail", "route": "commit", "status": 500}])
    response = commit(hub, "alice/f", [normal("landed.txt", b"yes")])
    assert response.status_code == 500 and response.json()["Success"] is False
    hub.control.clear_faults()
    assert hub.control.stats()["commits_total"] == before + 1
    assert paths(list_files(hub, "alice/f")) == ["data.bin", "landed.txt"]


def test_apply_then_fail_with_a_drop(hub, repo):
    hub.control.set_faults([{"effect": "apply_then_fail", "route": "commit", "then": "drop"}])
    with pytest.raises(requests.ConnectionError):
        commit(hub, "alice/f", [normal("landed.txt", b"yes")])
    hub.control.clear_faults()
    assert hub.control.stats()["commits_total"] == 2
    assert download(hub, "alice/f", "landed.txt").content == b"yes"


def test_hang_until_the_client_times_out(hub, repo):
    hub.control.set_faults([{"effect": "hang", "route": "get_model", "seconds": 5}])
    with pytest.raises(requests.exceptions.ReadTimeout):
        api(hub, "GET", MODEL, None, timeout=(TIMEOUT, 0.3))
    hub.control.clear_faults()
    assert api(hub, "GET", MODEL, None).status_code == 200


def test_slow_body_still_delivers_every_byte(hub, repo):
    hub.control.set_faults([{"effect": "slow_body", "route": "download", "seconds": 0.2}])
    response = download(hub, "alice/f", "data.bin")
    assert response.status_code == 200 and response.content == repo
    assert hub.control.faults()[0]["fired"] == 1


def test_corrupt_body_keeps_the_length_but_not_the_bytes(hub, repo):
    hub.control.set_faults([{"effect": "corrupt_body", "route": "download"}])
    response = download(hub, "alice/f", "data.bin")
    assert response.status_code == 200
    assert len(response.content) == len(repo) and response.content != repo
    assert sha(response.content) != sha(repo)
    assert response.headers["X-Linked-ETag"] == f'"{sha(repo)}"'  # the header still names the real blob
    assert response.content[1:] == repo[1:]


# -- rates, counters and filters ---------------------------------------------------------------
def test_a_seeded_rate_is_deterministic(hub, repo):
    def run(seed: int) -> list[int]:
        hub.control.set_faults([{"effect": "status", "route": "get_model", "rate": 0.5}], seed=seed)
        return statuses(hub, 24)

    first = run(7)
    assert set(first) == {200, 503}
    assert run(7) == first
    assert run(8) != first


def test_times_and_after(hub, repo):
    hub.control.set_faults([{"effect": "status", "route": "get_model", "times": 2}])
    assert statuses(hub, 4) == [503, 503, 200, 200]
    rule = hub.control.faults()[0]
    assert (rule["matched"], rule["fired"]) == (4, 2)
    hub.control.set_faults([{"effect": "status", "route": "get_model", "status": 500, "after": 2, "times": 1}])
    assert statuses(hub, 5) == [200, 200, 500, 200, 200]


def test_route_glob(hub, repo):
    hub.control.set_faults([{"effect": "status", "route": "get_model*"}])
    assert api(hub, "GET", MODEL, None).status_code == 503
    assert api(hub, "GET", "/openapi/v1/models/alice/f", None).status_code == 503
    assert api(hub, "GET", "/openapi/v1/models", None).status_code == 200
    assert api(hub, "GET", f"{MODEL}/revisions", None).status_code == 200


def test_route_names_follow_the_method(hub, repo):
    """Routes sharing a path are told apart by method, for fault rules as for counters."""
    hub.control.set_faults([{"effect": "status", "route": "update_model"}, {"effect": "status", "route": "list*"}])
    assert api(hub, "PUT", MODEL, json={"Visibility": 5}).status_code == 503
    assert api(hub, "PUT", "/api/v1/models/", data="{}").status_code == 503
    assert api(hub, "GET", MODEL).status_code == 200
    assert api(hub, "POST", "/api/v1/models", json={"Path": "alice", "Name": "g2"}).status_code == 200


def test_methods_and_path_filters(hub, repo):
    hub.control.set_faults([{"effect": "status", "methods": ["put"]}])
    assert api(hub, "PUT", "/api/v1/models/", data="{}").status_code == 503
    assert api(hub, "GET", MODEL).status_code == 200
    assert api(hub, "POST", "/api/v1/models", json={"Path": "alice", "Name": "g3"}).status_code == 200
    hub.control.set_faults([{"effect": "status", "path": r"/repo/files$", "status": 504}])
    assert api(hub, "GET", f"{MODEL}/repo/files").status_code == 504
    assert download(hub, "alice/f", "data.bin").status_code == 200


@pytest.mark.parametrize(
    "rule",
    [
        {"effect": "explode"},
        {"effect": "status", "rate": 1.5},
        {"effect": "status", "colour": "red"},
        {"effect": "status", "path": "("},
        {"effect": "apply_then_fail", "then": "bogus"},
        "status",
    ],
)
def test_bad_fault_rules_are_400_and_change_nothing(hub, rule):
    hub.control.set_faults([{"effect": "latency", "route": "get_model"}])
    with pytest.raises(requests.HTTPError) as raised:
        hub.control.set_faults([rule])
    assert raised.value.response.status_code == 400
    assert [r["effect"] for r in hub.control.faults()] == ["latency"]


# -- control plane -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer ALICE"},
        {"X-Local-Hub-Admin": "ALICE"},
        {"X-Local-Hub-Admin": ADMIN_TOKEN + "x"},
        {"X-Local-Hub-Admin": ""},
    ],
)
def test_control_plane_needs_the_admin_token(hub, headers):
    headers = {k: v.replace("ALICE", hub.tokens["alice"]) for k, v in headers.items()}
    calls = [
        ("GET", "stats", None),
        ("GET", "faults", None),
        ("PUT", "faults", {"rules": [{"effect": "drop"}]}),
        ("DELETE", "faults", None),
        ("POST", "reset", {"state": True}),
        ("PUT", "config", {"tree_limit": 1}),
        ("POST", "branches", {"model_id": "alice/x", "branch": "b"}),
        ("POST", "users", {"name": "mallory", "token": "ms-mallory"}),
    ]
    for method, path, body in calls:
        response = requests.request(method, f"{hub.url}/_local_hub/{path}", json=body, headers=headers, timeout=TIMEOUT)
        assert response.status_code == 403, (method, path)
    assert hub.control.faults() == []
    mallory = {"Authorization": "Bearer ms-mallory"}  # the users call above did not add her
    assert api(hub, "GET", "/openapi/v1/users/me", None, headers=mallory).status_code == 401
    assert requests.get(f"{hub.url}/_local_hub/health", timeout=TIMEOUT).status_code == 200


def test_stats_count_requests_per_route_name(hub, repo):
    hub.control.reset()
    api(hub, "GET", MODEL)
    api(hub, "GET", f"{MODEL}/")
    api(hub, "PUT", "/api/v1/models/", data="{}")
    api(hub, "PUT", MODEL, json={"Visibility": 5})
    api(hub, "GET", "/api/v1/nowhere")
    api(hub, "DELETE", "/openapi/v1/models")
    download(hub, "alice/f", "data.bin")
    hub.control.faults()  # control-plane calls are not counted
    counters = hub.control.stats()
    assert counters["requests"] == {
        "get_model": 2,
        "list_models_legacy": 1,
        "update_model": 1,
        "unmatched": 1,
        "list_models": 1,
        "download": 1,
    }
    assert counters["statuses"] == {
        "get_model 200": 2,
        "list_models_legacy 200": 1,
        "update_model 200": 1,
        "unmatched 404": 1,
        "list_models 405": 1,
        "download 200": 1,
    }
    assert counters["download_bytes_sent"] == len(repo)
    assert hub.control.requests("get_model") == 2 and hub.control.requests() == 7


def test_reset(hub, repo):
    hub.control.set_faults([{"effect": "latency", "route": "nothing"}])
    api(hub, "GET", MODEL)
    hub.control.reset(faults=False)
    counters = hub.control.stats()
    assert counters["requests"] == {} and counters["commits"] == 0 and counters["blob_bytes_received"] == 0
    assert counters["commits_total"] == 1  # stats reset does not touch state
    assert len(hub.control.faults()) == 1
    hub.control.reset()
    assert hub.control.faults() == []
    assert api(hub, "GET", MODEL).status_code == 200
    hub.control.reset(state=True)
    assert api(hub, "GET", MODEL).status_code == 404
    assert hub.control.stats()["commits_total"] == 0
    assert api(hub, "GET", "/openapi/v1/users/me").status_code == 200  # users survive a state reset
