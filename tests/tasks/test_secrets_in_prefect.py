"""No secret reaches the Prefect server: run every task (successes, hub refusals, transient faults with
retries, a login that saves the git token into a Secret block), persist every result, then read back
everything the server holds and search it for alice's SDK token and her git token.

Searched: every flow run (its parameters, which include a credentials block here, and its states),
every task run (its inputs and every state, messages included), the persisted result of every task
run of this test (read with `state.result()`) and the raw bytes of every file in result storage, every
log line, every artifact, every event, and the block documents as the API lists them without secrets.
The Secret block the caller named is the one place the git token is meant to be (checked separately).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.events.filters import EventFilter
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH

from hub_tasks import ModelScopeCredentials
from tests.helpers.clients import fast_block
from tests.helpers.exported_tasks import public_tasks
from tests.helpers.folders import model_dir
from tests.helpers.hub_http import git_token
from tests.helpers.prefect_api import (
    all_events,
    events_settled,
    flow_task_runs,
    logs_settled,
    paged,
    task_run_of,
    wait_for_event,
)
from tests.helpers.stack import free_port

MODEL = "alice/secret-scan"
# A positive control: the flow deliberately writes this into a log line, an artifact and a persisted
# result, so that the scan must find it there; a scan that finds nothing at all proves nothing.
DECOY = "decoy-7c1f0b9e-not-a-real-token"


@task(name="echo a decoy")
def echo(value: str) -> str:
    return value


def find(secrets: dict[str, str], where: str, text: str | bytes, found: list[str]) -> None:
    """Record (without the secret itself) where a secret appears."""
    for name, secret in secrets.items():
        needle: str | bytes = secret.encode() if isinstance(text, bytes) else secret
        if needle in text:
            found.append(f"{name} in {where}")


def persist(task: Any) -> Any:
    """`task` with its results written to result storage. `persist_result=True` alone is not enough for
    these tasks: with their NO_CACHE policy a run has no transaction key, and Prefect writes only the
    exceptions of failed runs. A storage key of the task run's own id persists every result and can never
    turn into a cache hit."""
    return task.with_options(persist_result=True, cache_policy=None, result_storage_key="{task_run.id}")


def run_everything(hub: Any, block: ModelScopeCredentials, folder: Path) -> tuple[Any, list[Any]]:
    """Every task, persisted, in one flow that takes the credentials block as a flow parameter."""
    persisted = {name: persist(task) for name, task in public_tasks().items()}
    states: list[Any] = []

    @flow(name="secret-scan")
    def everything(modelscope_credentials: ModelScopeCredentials) -> None:
        creds = {"modelscope_credentials": modelscope_credentials}

        def call(name: str, *args: Any, task: Any = None, **kwargs: Any) -> Any:
            state = (task or persisted[name])(*args, return_state=True, **{**creds, **kwargs})
            states.append(state)
            return state

        call("login", git_token_secret_block="scan-git-token")
        call("login", access_token=hub.tokens["alice"])  # a token passed as a task parameter
        call("create_model", MODEL, visibility=1)
        call("push_model", MODEL, str(folder), tag="v1.0")
        call("get_model", MODEL)
        call("model_exists", MODEL)
        call("list_models", "alice")
        call("list_all_models", "alice")
        call("list_model_revisions", MODEL)
        call("get_model_branches_and_tags", MODEL)
        call("get_model_files", MODEL, recursive=True)
        call("create_tag", MODEL, "v1.1")
        call("create_branch", MODEL, "dev")  # over git, with the git token as the Basic password
        call("push_model", MODEL, str(folder), revision="feature")  # a missing branch: created the same way
        call("create_branch", MODEL, "v1.1")  # refused: a tag's name
        # Refusals and faults: failed states carry exception messages (and their pickles are persisted).
        call("get_model", "alice/missing")
        call("delete_model", MODEL)  # not confirmed
        call("login", modelscope_credentials=ModelScopeCredentials(token="ms-wrong-token", endpoint=hub.url))
        hub.control.set_faults([{"effect": "status", "status": 503, "route": "get_model", "times": 2}], seed=1)
        flaky = persisted["get_model"].with_options(retry_delay_seconds=0)
        call("get_model", MODEL, task=flaky, modelscope_credentials=fast_block(hub))
        hub.control.set_faults([{"effect": "status", "status": 429, "retry_after": 0, "route": "get_model"}], seed=1)
        call("get_model", MODEL, task=flaky, modelscope_credentials=fast_block(hub))
        # Transport failures: their tracebacks (logged by Prefect) chain the underlying requests error.
        hub.control.set_faults([{"effect": "drop", "route": "get_model"}], seed=1)
        call("get_model", MODEL, task=flaky, modelscope_credentials=fast_block(hub))
        hub.control.clear_faults()
        refused = ModelScopeCredentials(  # a loopback port nothing listens on: connection refused
            token=hub.tokens["alice"], endpoint=f"http://127.0.0.1:{free_port()}", retry_attempts=1
        )
        call("get_model", MODEL, task=flaky, modelscope_credentials=refused)
        call("delete_model", MODEL, confirm=MODEL)

        get_run_logger().info("control: %s", DECOY)
        create_markdown_artifact(f"control: {DECOY}", key="secret-scan-control")
        emit_event("secret-scan.control", resource={"prefect.resource.id": "secret-scan.control"}, payload={"v": DECOY})
        states.append(persist(echo)(DECOY, return_state=True))

    flow_state = everything(block, return_state=True)
    return flow_state, states


def test_no_token_reaches_the_prefect_server(hub, credentials, tmp_path) -> None:
    secrets = {"SDK token": hub.tokens["alice"], "git token": git_token(hub), "decoy": DECOY}
    folder = model_dir(tmp_path / "model", {"README.md": "# scan\n", "weights/w.safetensors": b"\x01" * 300_000})
    block = ModelScopeCredentials.load("test-hub")  # a saved block, passed as a flow parameter

    flow_state, states = run_everything(hub, block, folder)
    assert flow_state.is_completed()
    assert len(states) == 24
    # missing model, unconfirmed delete, a branch named as a tag, wrong token, and 429, dropped and refused
    # connections (4 attempts each)
    assert sum(s.is_failed() for s in states) == 7
    assert Secret.load("scan-git-token").get() == secrets["git token"]  # where the caller asked for it

    found: list[str] = []
    flow_run_id = flow_state.state_details.flow_run_id
    # The server records task runs, events and logs asynchronously: wait until it holds all of this flow's
    # (its task runs, each in its final state), then a barrier for logs and one for events, so that a
    # secret written late cannot escape the scan.
    task_runs = flow_task_runs(flow_run_id, count=len(states))
    assert len(task_runs) == len(states), sorted(run.name for run in task_runs)
    wait_for_event("prefect.flow-run.Completed", f"prefect.flow-run.{flow_run_id}")
    logs_settled()
    events_settled()

    # Results: each task run's final state as the API has it, its value read back from result storage.
    for state in states:
        api_state = task_run_of(state).state
        assert api_state is not None and api_state.type == state.type
        value = api_state.result(raise_on_failure=False)
        if state.is_completed():
            assert value == state.result()
        find(secrets, f"result of {state.name}", repr(value), found)
        if hasattr(value, "model_dump_json"):
            find(secrets, "result JSON", value.model_dump_json(), found)
    storage = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    stored = [p for p in storage.rglob("*") if p.is_file()]
    assert len(stored) >= len(states)
    for path in stored:
        find(secrets, f"result file {path.name}", path.read_bytes(), found)

    with get_client(sync_client=True) as client:
        flow_runs = list(paged(client.read_flow_runs))
        ours = [r for r in flow_runs if r.id == flow_run_id]
        assert ours and ours[0].parameters["modelscope_credentials"]  # the block parameter was recorded ...
        for run in flow_runs:  # ... and nothing of any flow run holds a secret
            find(secrets, f"flow run {run.name}", run.model_dump_json(), found)
            for state in client.read_flow_run_states(run.id):
                find(secrets, f"flow run state {state.name}", state.model_dump_json(), found)

        for run in paged(client.read_task_runs):
            find(secrets, f"task run {run.name}", run.model_dump_json(), found)
            for state in client.read_task_run_states(run.id):
                find(secrets, f"task run state {state.name}", state.model_dump_json(), found)

        logs = list(paged(client.read_logs))
        assert any("logged in to" in log.message for log in logs)
        for log in logs:
            find(secrets, f"log line {log.message[:60]!r}", log.model_dump_json(), found)

        artifacts = list(paged(client.read_artifacts))
        assert any(a.type == "progress" for a in artifacts)
        for artifact in artifacts:
            find(secrets, f"artifact {artifact.key}", artifact.model_dump_json(), found)

        events = all_events(EventFilter())
        assert any(e.event.startswith("prefect.task-run.") for e in events)
        for event in events:
            find(secrets, f"event {event.event}", event.model_dump_json(), found)

        for document in client.read_block_documents(include_secrets=False):
            find(secrets, f"block document {document.name}", document.model_dump_json(), found)

    controls = {where.split(" ")[2] for where in found if where.startswith("decoy in ")}
    assert {"log", "artifact", "result", "event"} <= controls, found  # the scan does look everywhere
    leaks = sorted({where for where in found if not where.startswith("decoy in ")})
    assert not leaks, f"secrets reached the Prefect server: {leaks}"
