"""Item 7, secrets: publish (with a tag), snapshot, and downloads (a model mirror, a dataset published and
mirrored, and a meta file) run with a token unique to this test, together with refusals and transient faults
that exhaust their retries, with every task and flow result persisted. Then everything is searched for the
token, the `m_session_id` cookie value the hub hands out at login, and the git token: every log line,
exception text, task and flow result, parameter, state, artifact and event the Prefect server stores, the
persisted result files, the files the flows wrote, the test process's own log records, and local_hub's
access log.

A decoy string is written on purpose into a log line, an artifact, an event, a persisted result and the
hub's log (a request for a model named after it): the scan must find it in each, or it proves nothing.
"""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentTaskRunId
from prefect.events import emit_event
from prefect.events.filters import EventFilter, EventOccurredFilter
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings

from flows.publish.flow import PublishRequest, publish_model
from flows.snapshot.flow import snapshot_revisions
from hub_tasks import (
    ModelScopeCredentials,
    download_dataset,
    download_model,
    fetch_meta_files_from_url,
    get_model,
    push_dataset,
)
from tests.helpers.flow_tasks import swap_flow_tasks
from tests.helpers.folders import blob, make_folder
from tests.helpers.hub import RunningHub
from tests.helpers.prefect_api import (
    all_events,
    events_settled,
    flow_task_runs,
    logs_settled,
    paged,
    task_run_of,
    wait_for_event,
)

pytestmark = pytest.mark.reliability

USER = "relsecret"
TOKEN = f"ms-{USER}-{uuid.uuid4().hex}-SECRET"
DECOY = f"decoy-{uuid.uuid4().hex[:12]}"  # the positive control; valid as a model name, so the hub logs it
MODEL = f"{USER}/secret-model"
DATASET = f"{USER}/secret-data"


def persisted(task_: Any) -> Any:
    """The task with its result written to result storage. NO_CACHE runs have no transaction key, so
    Prefect would persist only failures; a storage key of the task run's id persists every result and
    can never become a cache hit. No wait between retries."""
    return task_.with_options(
        persist_result=True, cache_policy=None, result_storage_key="{task_run.id}", retry_delay_seconds=0
    )


@task(name="echo a decoy")
def echo(value: str) -> str:
    return value


class Scan:
    """Where each secret (and the decoy) was found; `where` strings never contain the secret itself."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = {**secrets, "decoy": DECOY}
        self.found: list[str] = []
        self.searched: dict[str, int] = {}

    def __call__(self, kind: str, where: str, text: str | bytes) -> None:
        self.searched[kind] = self.searched.get(kind, 0) + 1
        for name, secret in self.secrets.items():
            needle: str | bytes = secret.encode() if isinstance(text, bytes) else secret
            if needle in text:
                self.found.append(f"{name} in {kind}: {where}")

    def leaks(self) -> list[str]:
        return sorted({f for f in self.found if not f.startswith("decoy in ")})

    def decoy_kinds(self) -> set[str]:
        return {f.split(" in ", 1)[1].split(":", 1)[0] for f in self.found if f.startswith("decoy in ")}


def exception_texts(state: Any) -> list[str]:
    error = state.result(raise_on_failure=False)
    if not isinstance(error, BaseException):
        return []
    return [str(error), repr(error), "".join(traceback.format_exception(type(error), error, error.__traceback__))]


def test_no_token_or_session_cookie_is_stored_anywhere(
    hub_idle: RunningHub, prefect_harness: None, fast_backoff: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    hub = hub_idle
    started = datetime.now(timezone.utc) - timedelta(seconds=5)
    caplog.set_level(logging.DEBUG)
    hub.control.add_user(USER, TOKEN)
    login = requests.post(f"{hub.url}/api/v1/login", json={"AccessToken": TOKEN}, timeout=30)
    assert login.ok
    secrets = {
        "token": TOKEN,
        "m_session_id cookie": login.cookies["m_session_id"],
        "git token": login.json()["Data"]["AccessToken"],
    }
    ModelScopeCredentials(token=TOKEN, endpoint=hub.url, retry_attempts=2).save("reliability-secrets", overwrite=True)
    block = ModelScopeCredentials.load("reliability-secrets")  # a saved block, passed as a flow parameter

    folder = make_folder(tmp_path / "model", {"README.md": "# secret\n", "weights/w.safetensors": blob(300_000)})
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    data_dir = str(make_folder(tmp_path / "dataset", {"README.md": "# rows\n", "train.jsonl": blob(500)}, config=None))
    storage = tmp_path / "results"
    assert swap_flow_tasks(monkeypatch, persisted), "the flows hold no task to persist"
    fetch_url = f"{hub.url}/api/v1/models/{MODEL}/repo?Revision=master&FilePath=data.csv"

    @flow(name="reliability-secret-downloads", persist_result=True)
    def downloads(modelscope_credentials: ModelScopeCredentials, local_dir: str, meta_dir: str) -> list[str]:
        states = [
            # a dataset published (with a tag, over LFS for its .jsonl) and downloaded at that tag
            persisted(push_dataset)(
                DATASET, data_dir, tag="v1", modelscope_credentials=modelscope_credentials, return_state=True
            ),
            persisted(download_dataset)(
                DATASET, f"{local_dir}-data", "v1", modelscope_credentials=modelscope_credentials, return_state=True
            ),
            persisted(download_model)(
                MODEL, local_dir, modelscope_credentials=modelscope_credentials, return_state=True
            ),
            persisted(fetch_meta_files_from_url)(
                fetch_url, meta_dir, modelscope_credentials=modelscope_credentials, return_state=True
            ),
            # refusals: not found, and a model named after the decoy (so that the hub's log holds the decoy)
            persisted(get_model)(f"{USER}/{DECOY}", modelscope_credentials=modelscope_credentials, return_state=True),
            persisted(download_model)(
                f"{USER}/missing", local_dir, modelscope_credentials=modelscope_credentials, return_state=True
            ),
        ]
        # transient faults that outlast every retry: 503s, then dropped connections
        for effect in ({"effect": "status", "status": 503}, {"effect": "drop"}):
            hub.control.set_faults([{"route": "get_model", **effect}])
            flaky = persisted(get_model).with_options(retries=1)
            states.append(flaky(MODEL, modelscope_credentials=modelscope_credentials, return_state=True))
        hub.control.clear_faults()
        get_run_logger().info("control: %s", DECOY)
        create_markdown_artifact(f"control: {DECOY}", key="reliability-secret-control")
        emit_event("reliability.secret.control", resource={"prefect.resource.id": "reliability.secret"},
                   payload={"value": DECOY})  # fmt: skip
        states.append(persisted(echo)(DECOY, return_state=True))
        downloads_states.extend(states)
        return [s.type.value for s in states]

    downloads_states: list[Any] = []
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: str(storage), PREFECT_RESULTS_PERSIST_BY_DEFAULT: True}):
        published = publish_model.with_options(persist_result=True)(
            PublishRequest(model_id=MODEL, model_dir=str(folder), tag="v1", visibility="private"), block,
            return_state=True,
        )  # fmt: skip
        assert published.is_completed(), published.message
        # a data file for fetch_meta_files_from_url, committed beside the model
        with block.get_client() as client:
            client.push_model(MODEL, make_folder(tmp_path / "v2", {"data.csv": "a,b\n1,2\n"}), hash_cache=None)
        snapshot = snapshot_revisions.with_options(persist_result=True)(
            owners=[USER], include_files=True, snapshot_dir=str(tmp_path / "snapshots"),
            modelscope_credentials=block, return_state=True,
        )  # fmt: skip
        assert snapshot.is_completed(), snapshot.message
        fetched = downloads(block, str(tmp_path / "mirror"), str(tmp_path / "meta"), return_state=True)
        assert fetched.is_completed(), fetched.message
        expected = ["COMPLETED"] * 4 + ["FAILED"] * 4 + ["COMPLETED"]
        assert fetched.result() == expected
        flow_states = [published, snapshot, fetched]
        results = [s.result() for s in flow_states]

    scan = Scan(secrets)
    flow_run_ids = [s.state_details.flow_run_id for s in flow_states]
    # The server records task runs, events and logs asynchronously: wait until it holds all of them, or a
    # secret written late would escape the scan. The download tasks ran last: each one's final state, then
    # every task run of the three flows in a final state; then a barrier for logs and one for events.
    for state in downloads_states:
        task_run_of(state)
    for flow_run_id in flow_run_ids:
        flow_task_runs(flow_run_id, count=1)
        wait_for_event("prefect.flow-run.Completed", f"prefect.flow-run.{flow_run_id}")
    logs_settled()
    events_settled()

    # In this process: the flows' results, every exception, every log record (DEBUG and up).
    for result in results:
        scan("flow result", type(result).__name__, repr(result))
        if hasattr(result, "model_dump_json"):
            scan("flow result", type(result).__name__, result.model_dump_json())
    for state in downloads_states:
        for text in exception_texts(state):
            scan("exception", state.name, text)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        scan("log", f"local {record.name}", formatter.format(record))
        if record.exc_info:
            scan("exception", f"logged by {record.name}", formatter.formatException(record.exc_info))
    # Files: persisted results, the snapshot, the meta file's sidecar, the mirror; local_hub's own log.
    stored = [p for p in storage.rglob("*") if p.is_file()]
    # 3 flow results, the 3 tasks of the publish (login, model_exists, push_folder), 2 of the snapshot (one
    # batch), 9 of the downloads (the dataset's publish and download among them)
    assert len(stored) >= 3 + 3 + 2 + 9, f"only {len(stored)} results were persisted"
    for path in stored:
        scan("result", f"file {path.name}", path.read_bytes())
    for written in ("snapshots", "meta", "mirror", "mirror-data"):
        for path in (tmp_path / written).rglob("*"):
            if path.is_file():
                scan("file", path.name, path.read_bytes())
    scan("hub log", hub.log_file.name, hub.log_file.read_bytes())

    # The Prefect server: runs (parameters and states), results read back through the API, logs,
    # artifacts, events since this test began, and the block documents as listed without secrets.
    with get_client(sync_client=True) as client:
        ours = FlowRunFilter(id=FlowRunFilterId(any_=flow_run_ids))
        recorded = client.read_flow_runs(flow_run_filter=ours)
        assert len(recorded) == 3 and all(r.parameters for r in recorded)
        assert any("modelscope_credentials" in r.parameters for r in recorded)
        subflows = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_task_run_id=FlowRunFilterParentTaskRunId(is_null_=False))
        )
        for run in [*paged(client.read_flow_runs), *subflows]:
            scan("flow run", run.name, run.model_dump_json())
            for state in client.read_flow_run_states(run.id):
                scan("flow run state", f"{run.name} {state.name}", state.model_dump_json())
        read_back = 0
        with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: str(storage)}):
            for run in client.read_task_runs(flow_run_filter=ours):
                try:
                    value = run.state.result(raise_on_failure=False) if run.state is not None else None
                except ValueError:  # a task left unpersisted (NO_CACHE): its result was never stored
                    continue
                read_back += 1
                scan("result", f"of task run {run.name}", repr(value))
        assert read_back >= 5 + 9, read_back
        for run in paged(client.read_task_runs):
            scan("task run", run.name, run.model_dump_json())
            for state in client.read_task_run_states(run.id):
                scan("task run state", f"{run.name} {state.name}", state.model_dump_json())
        for line in paged(client.read_logs):
            scan("log", f"server {line.message[:60]!r}", line.model_dump_json())
        for artifact in paged(client.read_artifacts):
            scan("artifact", str(artifact.key), artifact.model_dump_json())
        events = all_events(EventFilter(occurred=EventOccurredFilter(since=started)))
        assert any(e.event == "modelscope.model.published" for e in events)
        for event in events:
            scan("event", event.event, event.model_dump_json())
        for document in client.read_block_documents(include_secrets=False):
            scan("block document", str(document.name), document.model_dump_json())

    assert {"log", "artifact", "event", "result", "hub log"} <= scan.decoy_kinds(), (scan.decoy_kinds(), scan.searched)
    assert not scan.leaks(), f"a secret was stored: {json.dumps(scan.leaks(), indent=1)}"
