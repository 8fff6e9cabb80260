"""HubClient under injected faults: which failures are retried and how often (counted by local_hub),
Retry-After, timeouts on every request, and create/tag/delete when the hub applied a request whose answer was lost."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hub_tasks import (
    HubClient,
    HubConnectionError,
    InvalidParameter,
    NotExistError,
    NotLoginError,
    PermissionDeniedError,
    RateLimitedError,
    RequestError,
    ServerError,
    is_retryable,
)
from tests.helpers.clients import make_client
from tests.helpers.hub_http import commit_files
from tests.helpers.secret_scan import SCAN, leak_guard, raises, secret_values
from tests.helpers.stack import free_port


@pytest.fixture(autouse=True)
def _no_token_leaks(hub: Any, caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    yield from leak_guard(hub, caplog)


@pytest.fixture
def alice(hub: Any) -> Iterator[HubClient]:
    with make_client(hub, "alice") as client:
        yield client


@pytest.fixture
def repo(hub: Any, alice: HubClient) -> str:
    """alice/r with one commit on master; counters zeroed afterwards."""
    alice.create_model("alice/r")
    commit_files(hub, "alice/r", {"a.txt": "a", "d/b.txt": "b"})
    hub.control.reset()
    return "alice/r"


def faults(hub: Any, *rules: dict[str, Any], seed: int | None = None) -> None:
    hub.control.set_faults(list(rules), seed=seed)


# -- transient faults are retried, and counted ----------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_are_retried_until_they_clear(hub: Any, alice: HubClient, repo: str, status: int) -> None:
    faults(hub, {"route": "get_model", "effect": "status", "status": status, "times": 2})
    assert alice.get_model(repo).model_id == repo
    assert hub.control.requests("get_model") == 3


def test_server_errors_that_persist_fail_after_the_attempt_budget(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "get_model", "effect": "status", "status": 503})
    with raises(ServerError) as err:
        alice.get_model(repo)
    assert err.value.status_code == 503 and err.value.request_id and is_retryable(err.value)
    assert hub.control.requests("get_model") == 4


def test_retries_are_logged_with_operation_attempt_and_request_id(
    hub: Any, alice: HubClient, repo: str, caplog: pytest.LogCaptureFixture
) -> None:
    faults(hub, {"route": "repo_files", "effect": "status", "status": 503, "times": 1})
    alice.get_model_files(repo)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "hub_tasks.client"]
    assert len(warnings) == 1
    assert "get_model_files alice/r" in warnings[0] and "ServerError" in warnings[0] and "attempt 1/4" in warnings[0]
    assert "request id None" not in warnings[0]


def test_429_honours_retry_after(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "get_model", "effect": "status", "status": 429, "retry_after": 0.2, "times": 1})
    started = time.monotonic()
    alice.get_model(repo)
    assert time.monotonic() - started >= 0.2
    assert hub.control.requests("get_model") == 2


def test_429_without_retry_after_backs_off_and_retries(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "list_models", "effect": "status", "status": 429, "times": 2})
    assert alice.list_models("alice").total_count == 1
    assert hub.control.requests("list_models") == 3


def test_429_asking_for_longer_than_the_cap_fails_at_once(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "get_model", "effect": "status", "status": 429, "retry_after": 30})
    started = time.monotonic()
    with raises(RateLimitedError) as err:
        alice.get_model(repo)
    assert err.value.retry_after == 30 and err.value.status_code == 429
    assert time.monotonic() - started < 5
    assert hub.control.requests("get_model") == 1


def test_dropped_connections_are_retried(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "commits", "effect": "drop", "times": 2})
    assert len(alice.list_commits(repo)) == 1
    assert hub.control.requests("commits") == 3


def test_connections_that_always_drop_fail_as_connection_errors(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "revisions", "effect": "drop"})
    with raises(HubConnectionError, match="connection failed") as err:
        alice.get_model_branches_and_tags(repo)
    assert err.value.retryable and err.value.operation == "get_model_branches_and_tags"
    assert hub.control.requests("revisions") == 4


def test_a_response_cut_mid_body_is_retried(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "repo_files", "effect": "drop_mid_body", "times": 1})
    assert [f.path for f in alice.get_model_files(repo, recursive=True)] == ["a.txt", "d", "d/b.txt"]
    assert hub.control.requests("repo_files") == 2


def test_latency_below_the_read_timeout_is_just_slow(hub: Any, repo: str) -> None:
    faults(hub, {"route": "get_model", "effect": "latency", "seconds": 0.3})
    with make_client(hub, "alice", read_timeout=2.0) as client:
        started = time.monotonic()
        client.get_model(repo)
        assert time.monotonic() - started >= 0.3
    assert hub.control.requests("get_model") == 1


def test_latency_past_the_read_timeout_is_retried(hub: Any, repo: str) -> None:
    faults(hub, {"route": "get_model", "effect": "latency", "seconds": 1.5, "times": 1})
    with make_client(hub, "alice", read_timeout=0.3) as client:
        client.get_model(repo)
    assert hub.control.requests("get_model") == 2


def test_mixed_seeded_faults_cost_exactly_one_request_per_fault(hub: Any, repo: str) -> None:
    faults(
        hub,
        {"route": "get_model", "effect": "status", "status": 503, "rate": 0.2},
        {"route": "get_model", "effect": "status", "status": 429, "retry_after": 0.01, "rate": 0.1},
        {"route": "get_model", "effect": "drop", "rate": 0.05},
        seed=7,
    )
    with make_client(hub, "alice", retry_attempts=10) as client:
        for _ in range(25):
            client.get_model(repo)
    fired = sum(rule["fired"] for rule in hub.control.faults())
    assert fired > 0
    assert hub.control.requests("get_model") == 25 + fired


def test_the_total_wait_is_bounded_as_well_as_the_attempts(hub: Any, repo: str) -> None:
    faults(hub, {"route": "get_model", "effect": "status", "status": 503})
    settings = {"retry_attempts": 20, "retry_backoff_seconds": 0.05, "retry_max_total_wait_seconds": 0.15}
    with make_client(hub, "alice", **settings) as client, raises(ServerError):
        client.get_model(repo)
    assert 2 <= hub.control.requests("get_model") < 20


# -- permanent errors are never retried -----------------------------------------------------------
PERMANENT = [(400, InvalidParameter), (401, NotLoginError), (403, PermissionDeniedError), (404, NotExistError)]


@pytest.mark.parametrize(("status", "error"), PERMANENT)
@pytest.mark.parametrize(
    ("route", "call"),
    [
        ("get_model", lambda c: c.get_model("alice/r")),  # legacy envelope
        ("list_models", lambda c: c.list_models("alice")),  # OpenAPI envelope
        ("repo_files", lambda c: c.get_model_files("alice/r")),
    ],
    ids=["get_model", "list_models", "repo_files"],
)
def test_client_errors_are_not_retried(
    hub: Any, alice: HubClient, repo: str, status: int, error: type, route: str, call: Callable
) -> None:
    faults(hub, {"route": route, "effect": "status", "status": status})
    with raises(error) as err:
        call(alice)
    assert err.value.status_code == status and not is_retryable(err.value)
    assert hub.control.requests(route) == 1


def test_an_unexpected_4xx_is_a_request_error_and_not_retried(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "get_model", "effect": "status", "status": 418})
    with raises(RequestError) as err:
        alice.get_model(repo)
    assert type(err.value) is RequestError and err.value.status_code == 418
    assert hub.control.requests("get_model") == 1


@pytest.mark.parametrize(("status", "error"), PERMANENT)
def test_a_refused_create_is_neither_checked_nor_resent(hub: Any, alice: HubClient, status: int, error: type) -> None:
    faults(hub, {"route": "create_model", "effect": "status", "status": status})
    with raises(error):
        alice.create_model("alice/refused")
    assert hub.control.requests("create_model") == 1
    assert hub.control.requests("get_model") == 0


# -- non-idempotent calls: check, then retry -------------------------------------------------------
@pytest.mark.parametrize("then", ["status", "drop", "hang"])
def test_create_model_whose_answer_was_lost_succeeds_without_resending(hub: Any, then: str) -> None:
    faults(hub, {"route": "create_model", "effect": "apply_then_fail", "then": then, "status": 503, "seconds": 3})
    with make_client(hub, "alice", read_timeout=0.5) as client:
        assert client.create_model("alice/lost", visibility=1) == f"{hub.url}/models/alice/lost"
        assert client.get_model("alice/lost").visibility == 1
    assert hub.control.requests("create_model") == 1


def test_create_model_refused_by_a_503_is_sent_again_after_checking(hub: Any, alice: HubClient) -> None:
    faults(hub, {"route": "create_model", "effect": "status", "status": 503, "times": 1})
    alice.create_model("alice/again")
    assert alice.model_exists("alice/again")
    assert hub.control.requests("create_model") == 2
    assert hub.control.requests("get_model") == 2  # the check between the attempts, and ours


@pytest.mark.parametrize("then", ["status", "drop"])
def test_create_tag_whose_answer_was_lost_succeeds_without_resending(
    hub: Any, alice: HubClient, repo: str, then: str
) -> None:
    head = alice.resolve_ref(repo)
    faults(hub, {"route": "create_tag", "effect": "apply_then_fail", "then": then, "status": 502})
    assert alice.create_tag(repo, "v1") == head
    assert alice.resolve_ref(repo, "v1") == head
    assert hub.control.requests("create_tag") == 1


def test_create_tag_refused_by_a_503_is_sent_again_after_checking(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "create_tag", "effect": "status", "status": 503, "times": 1})
    assert alice.create_tag(repo, "v1") == alice.resolve_ref(repo)
    assert hub.control.requests("create_tag") == 2


def test_delete_model_whose_answer_was_lost_succeeds(hub: Any, alice: HubClient, repo: str) -> None:
    faults(hub, {"route": "delete_model", "effect": "apply_then_fail", "then": "drop"})
    alice.delete_model(repo, confirm=repo)
    assert not alice.model_exists(repo)
    assert hub.control.requests("delete_model") == 1


# -- timeouts on every request ---------------------------------------------------------------------
def test_a_hanging_hub_fails_quickly_with_a_connection_error(hub: Any, repo: str) -> None:
    faults(hub, {"route": "get_model", "effect": "hang", "seconds": 3})
    with make_client(hub, "alice", read_timeout=0.3) as client:
        started = time.monotonic()
        with raises(HubConnectionError, match="timed out"):
            client.get_model(repo)
        assert time.monotonic() - started < 2.5  # 4 attempts x 0.3 s, plus short back-offs
    assert hub.control.requests("get_model") == 4


HANGING_CALLS: list[tuple[str, Callable[[HubClient], Any]]] = [
    ("login", lambda c: c.login()),
    ("create_model", lambda c: c.create_model("alice/new")),
    ("get_model", lambda c: c.get_model("alice/r")),
    ("list_models", lambda c: c.list_models("alice")),
    ("revisions", lambda c: c.list_model_revisions("alice/r")),
    ("commits", lambda c: c.resolve_ref("alice/r")),
    ("repo_files", lambda c: c.get_model_files("alice/r", recursive=True)),
    ("create_tag", lambda c: c.create_tag("alice/r", "v1")),
    ("delete_model", lambda c: c.delete_model("alice/r", confirm="alice/r")),
]


@pytest.mark.parametrize(("route", "call"), HANGING_CALLS, ids=[i for i, _ in HANGING_CALLS])
def test_every_operation_has_a_read_timeout(hub: Any, repo: str, route: str, call: Callable) -> None:
    faults(hub, {"route": route, "effect": "hang", "seconds": 3})
    with make_client(hub, "alice", read_timeout=0.2, retry_attempts=1) as client:
        started = time.monotonic()
        with raises(HubConnectionError, match="timed out"):
            call(client)
        assert time.monotonic() - started < 1.5
    assert hub.control.requests(route) == 1


def test_create_model_that_hangs_before_applying_is_checked_and_resent(hub: Any) -> None:
    faults(hub, {"route": "create_model", "effect": "hang", "seconds": 3, "times": 1})
    with make_client(hub, "alice", read_timeout=0.3) as client:
        client.create_model("alice/slow")
        assert client.model_exists("alice/slow")
    assert hub.control.requests("create_model") == 2


def test_an_unreachable_hub_is_a_connection_error(hub: Any) -> None:
    with make_client(hub, "alice", endpoint=f"http://127.0.0.1:{free_port()}") as client:
        with raises(HubConnectionError, match="connection failed") as err:
            client.get_model("alice/r")
        assert err.value.__cause__ is not None


# -- secrets: every log record and exception of these calls is scanned ----------------------------
def test_no_token_in_any_log_record_or_exception(hub: Any, repo: str, caplog: pytest.LogCaptureFixture) -> None:
    faults(
        hub,
        {"route": "login", "effect": "status", "status": 503, "times": 1},
        {"route": "get_model", "effect": "status", "status": 429, "retry_after": 0.01, "times": 1},
        {"route": "create_model", "effect": "apply_then_fail", "then": "drop", "times": 1},
        {"route": "commits", "effect": "drop", "times": 4},
    )
    with make_client(hub, "alice") as client:
        client.login()
        client.get_model(repo)
        client.create_model("alice/swept")
        with raises(HubConnectionError):
            client.resolve_ref(repo)
        with raises(NotExistError):
            client.get_model("alice/none")
    with make_client(hub, "bob") as bob, raises(PermissionDeniedError):
        bob.delete_model(repo, confirm=repo)
    with make_client(hub, None) as anon:
        with raises(NotLoginError):
            anon.login(hub.tokens["alice"] + "-wrong")
        with raises(NotLoginError):
            anon.create_model("alice/anon")
    # The leak guard checks these texts after the test; here we check it had something to check.
    assert client.git_token is not None and len(secret_values(hub)) == 4
    assert len(SCAN.exceptions) == 5
    assert sum(r.name == "hub_tasks.client" and r.levelno == logging.WARNING for r in caplog.records) >= 5
    assert any(r.name.startswith("urllib3") for r in caplog.records)
