"""Task-level retries under injected faults: which failures are retried, how often, and what a retry does.

The tasks run inside real flows on the Prefect test server. Their client is built from a block with
`retry_attempts=1`, so one task attempt makes exactly one hub request: hub request counts (the local_hub
control plane) and task attempts (run counts and Running states read back from the Prefect API) must
then agree. `retry_delay_seconds=0` keeps the tasks' own back-off out of the test's wall time.

A flow run costs about a second of server time here, so each group of scenarios runs as the tasks of
one flow (a module-scoped fixture); the tests then check one scenario each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from prefect import flow
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from hub_tasks import (
    AlreadyExistsError,
    HubSettings,
    InvalidParameter,
    NotExistError,
    NotLoginError,
    RateLimitedError,
    ServerError,
    TransientHubError,
    create_model,
    create_tag,
    delete_model,
    get_model,
    login,
    retry_if_transient,
)
from tests.helpers.clients import fast_block, hub_client, make_block, seed_model
from tests.helpers.exported_tasks import NOT_OURS, TASK_NAMES, exported_tasks, public_tasks
from tests.helpers.prefect_api import attempts_of, task_run_of

DEMO = "alice/demo"


def fast(task: Any, **options: Any) -> Any:
    """`task` with no wait between its retries (every other default kept)."""
    return task.with_options(retry_delay_seconds=0, **options)


def status(code: int, **extra: Any) -> list[dict[str, Any]]:
    """A fault table: every get_model request answers `code`."""
    return [{"effect": "status", "status": code, "route": "get_model", **extra}]


@dataclass
class Scenario:
    """One task call under one fault table, and what must come of it."""

    task: Any
    args: tuple[Any, ...]
    route: str
    requests: int  # hub requests to `route`, which is also the number of task attempts
    error: type[BaseException] | None = None  # None: the task must complete
    faults: list[dict[str, Any]] | None = None
    block: dict[str, Any] | None = None  # knobs for fast_block
    token: str | None = None  # a token instead of alice's


@dataclass
class Outcome:
    state: State[Any]
    requests: int


# fast(...) copies are made at import time: with_options builds a new Task each time.
READS = {
    "503-retried": Scenario(fast(get_model), (DEMO,), "get_model", 4, ServerError, status(503)),
    "500-retried": Scenario(fast(get_model), (DEMO,), "get_model", 4, ServerError, status(500)),
    "429-retried": Scenario(fast(get_model), (DEMO,), "get_model", 4, RateLimitedError, status(429, retry_after=0)),
    "drop-retried": Scenario(
        fast(get_model), (DEMO,), "get_model", 4, TransientHubError, [{"effect": "drop", "route": "get_model"}]
    ),
    "404-not-retried": Scenario(fast(get_model), (DEMO,), "get_model", 1, NotExistError, status(404)),
    "400-not-retried": Scenario(fast(get_model), (DEMO,), "get_model", 1, InvalidParameter, status(400)),
    "401-not-retried": Scenario(fast(get_model), (DEMO,), "get_model", 1, NotLoginError, status(401)),
    "real-404-not-retried": Scenario(fast(get_model), ("alice/missing",), "get_model", 1, NotExistError),
    "503-twice-then-ok": Scenario(fast(get_model), (DEMO,), "get_model", 3, None, status(503, times=2)),
    "with-options-retries-1": Scenario(fast(get_model, retries=1), (DEMO,), "get_model", 2, ServerError, status(503)),
    "with-options-retries-0": Scenario(
        get_model.with_options(retries=0), (DEMO,), "get_model", 1, ServerError, status(503)
    ),
    # The written-down budget: (task retries + 1) x client attempts, here (2 + 1) x 2.
    "client-x-task-attempts": Scenario(
        fast(get_model, retries=2),
        (DEMO,),
        "get_model",
        6,
        ServerError,
        status(503),
        block={"retry_attempts": 2, "retry_max_total_wait_seconds": 0.2},
    ),
    "login-wrong-token": Scenario(fast(login), (), "login", 1, NotLoginError, token="ms-not-a-token"),
    "create-wrong-token": Scenario(
        fast(create_model), ("alice/x",), "create_model", 1, NotLoginError, token="ms-not-a-token"
    ),
}

LOST = {"effect": "apply_then_fail", "status": 503, "times": 1}
WRITES = {
    "create-503-once": Scenario(
        fast(create_model),
        ("alice/fresh-1",),
        "create_model",
        2,
        None,
        [{"effect": "status", "status": 503, "route": "create_model", "times": 1}],
    ),
    # The first attempt creates the repo but its answer is lost: the task retry must not turn that into
    # AlreadyExistsError (the docstring promises "safe to retry after a lost answer").
    "create-lost-answer": Scenario(
        fast(create_model), ("alice/fresh-2",), "create_model", 2, None, [{**LOST, "route": "create_model"}]
    ),
    "create-taken-name": Scenario(fast(create_model), (DEMO,), "create_model", 1, AlreadyExistsError),
    "delete-lost-answer": Scenario(
        fast(delete_model), ("alice/doomed",), "delete_model", 2, None, [{**LOST, "route": "delete_model"}]
    ),
    "delete-missing": Scenario(fast(delete_model), ("alice/missing",), "delete_model", 1, NotExistError),
    # create_tag checks where the tag points before sending: the retry finds it in place and sends nothing.
    "tag-lost-answer": Scenario(
        fast(create_tag), (DEMO, "v1.0"), "create_tag", 1, None, [{**LOST, "route": "create_tag"}]
    ),
}
# Where task attempts differ from requests to the route.
ATTEMPTS = {"client-x-task-attempts": 3, "tag-lost-answer": 2}


def run_scenarios(hub: Any, scenarios: dict[str, Scenario]) -> dict[str, Outcome]:
    """Run every scenario as a task of one flow; counters and faults are reset between them."""
    outcomes: dict[str, Outcome] = {}

    @flow(name="task-retry-scenarios")
    def scenarios_flow() -> None:
        for name, s in scenarios.items():
            block = fast_block(hub, **(s.block or {}))
            if s.token:
                block = make_block(hub, token=s.token, retry_attempts=1)
            hub.control.reset(state=False)
            if s.faults:
                hub.control.set_faults(s.faults, seed=1)
            kwargs = {"confirm": s.args[0]} if s.task.fn is delete_model.fn else {}
            state = s.task(*s.args, modelscope_credentials=block, return_state=True, **kwargs)
            outcomes[name] = Outcome(state, hub.control.requests(s.route))
        hub.control.reset(state=False)

    scenarios_flow()
    return outcomes


@pytest.fixture(scope="module")
def read_outcomes(hub_process, prefect_harness, tmp_path_factory) -> dict[str, Outcome]:
    hub_process.control.reset(state=True)
    seed_model(hub_process, tmp_path_factory.mktemp("demo"))
    return run_scenarios(hub_process, READS)


@pytest.fixture(scope="module")
def write_outcomes(hub_process, prefect_harness, tmp_path_factory) -> dict[str, Outcome]:
    hub_process.control.reset(state=True)
    seed_model(hub_process, tmp_path_factory.mktemp("demo"))
    with hub_client(hub_process) as client:
        client.create_model("alice/doomed")
    outcomes = run_scenarios(hub_process, WRITES)
    with hub_client(hub_process) as client:
        outcomes["_exists"] = {m: client.model_exists(m) for m in ("alice/fresh-1", "alice/fresh-2", "alice/doomed")}
        outcomes["_tags"] = client.list_model_revisions(DEMO)
    return outcomes


def check(outcome: Outcome, scenario: Scenario, attempts: int) -> None:
    state = outcome.state
    if scenario.error is None:
        assert state.is_completed(), state.result(raise_on_failure=False)
    else:
        assert state.is_failed()
        assert isinstance(state.result(raise_on_failure=False), scenario.error)
    assert outcome.requests == scenario.requests
    assert task_run_of(state).run_count == attempts
    assert attempts_of(state) == attempts


# -- the defaults ------------------------------------------------------------------------------------
def test_the_operations_are_exported_tasks() -> None:
    """TASK_NAMES is read from `hub_tasks.__all__`: at least the twelve operations this layer was written
    with, and the exclusions name tasks that really are exported (a stale name would exclude nothing)."""
    assert len(TASK_NAMES) >= 12, TASK_NAMES
    assert set(NOT_OURS) <= set(exported_tasks()) and not set(NOT_OURS) & set(TASK_NAMES)


@pytest.mark.parametrize("name", sorted(public_tasks()))
def test_every_task_has_the_documented_retry_budget(name: str) -> None:
    task = public_tasks()[name]
    assert task.retries == 3
    assert task.retry_delay_seconds == [2, 4, 8]  # exponential_backoff(2), evaluated for 3 retries
    assert task.retry_jitter_factor == 0.5
    assert task.retry_condition_fn is retry_if_transient
    # The task must outlive one client call that exhausts its own retries (310 s with the defaults).
    assert task.timeout_seconds > HubSettings().worst_case_call_seconds()


def test_retry_condition_consults_is_retryable() -> None:
    for exc in (ServerError("boom"), RateLimitedError("slow down"), TransientHubError("dropped"), TimeoutError()):
        assert retry_if_transient(get_model, None, Failed(data=exc)) is True, exc
    for exc in (NotExistError("gone"), InvalidParameter("bad"), NotLoginError("who"), ValueError("x")):
        assert retry_if_transient(get_model, None, Failed(data=exc)) is False, exc
    assert retry_if_transient(get_model, None, Completed(data=1)) is False


# -- request counts and attempts under faults ---------------------------------------------------------
@pytest.mark.parametrize("name", list(READS))
def test_read_task_retries(read_outcomes: dict[str, Outcome], name: str) -> None:
    scenario = READS[name]
    check(read_outcomes[name], scenario, attempts=ATTEMPTS.get(name, scenario.requests))


def test_a_cleared_fault_returns_the_model(read_outcomes: dict[str, Outcome]) -> None:
    assert read_outcomes["503-twice-then-ok"].state.result().model_id == DEMO


@pytest.mark.parametrize("name", list(WRITES))
def test_mutating_task_retries(write_outcomes: dict[str, Any], name: str) -> None:
    scenario = WRITES[name]
    check(write_outcomes[name], scenario, attempts=ATTEMPTS.get(name, scenario.requests))


def test_mutating_tasks_took_effect_exactly_once(write_outcomes: dict[str, Any]) -> None:
    assert write_outcomes["_exists"] == {"alice/fresh-1": True, "alice/fresh-2": True, "alice/doomed": False}
    assert write_outcomes["_tags"] == ["v1.0"]
    assert write_outcomes["create-lost-answer"].state.result().endswith("/models/alice/fresh-2")
