"""Each task inside a flow against local_hub: typed results, no caching, the delete confirmation, the git
token going into a Secret block, push progress as a Prefect artifact and log lines, the `.fn()` path,
and the fallback to the official SDK's environment variables when no block is given."""

from __future__ import annotations

import inspect
import logging
import os
import subprocess
import sys
from typing import Any

import pytest
from prefect import flow
from prefect.blocks.system import Secret
from prefect.cache_policies import INPUTS, NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterTaskRunId,
)
from prefect.logging import disable_run_logger
from prefect.settings import PREFECT_API_URL
from pydantic import SecretStr

from hub_tasks import (
    InvalidParameter,
    LoginResult,
    ModelInfo,
    ModelPage,
    NotExistError,
    NotLoginError,
    ProgressEvent,
    PushResult,
    RepoFile,
    ServerError,
    create_branch,
    create_model,
    create_tag,
    delete_model,
    get_model,
    get_model_branches_and_tags,
    get_model_files,
    list_all_models,
    list_model_revisions,
    list_models,
    login,
    model_exists,
    push_model,
)
from hub_tasks.prefect.transfer_tasks import _ProgressReporter
from tests.helpers.clients import fast_block, seed_model
from tests.helpers.exported_tasks import public_tasks
from tests.helpers.folders import model_dir
from tests.helpers.hub_http import git_token
from tests.helpers.prefect_api import flow_task_runs, run_logs, task_run_of

DEMO = "alice/demo"


def weights() -> bytes:
    """300 KB the hub has never seen (its blob store outlives resets): an LFS blob the push must upload."""
    return os.urandom(300_000)


# -- declarations --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(public_tasks()))
def test_task_declarations(name: str) -> None:
    task = public_tasks()[name]
    assert task.name and task.name[0].isupper() and "ModelScope" in task.name
    assert "modelscope" in task.tags
    assert task.cache_policy is NO_CACHE  # mutating tasks must not cache; reads show fresh hub state
    assert not inspect.iscoroutinefunction(task.fn)
    parameter = inspect.signature(task.fn).parameters["modelscope_credentials"]
    assert parameter.default is None
    doc = inspect.getdoc(task.fn) or ""
    for section in ("Args:", "Returns:", "Example:"):
        assert section in doc or (section == "Returns:" and name == "delete_model"), (name, section)


# -- every operation in one flow -----------------------------------------------------------------------
def test_every_operation_inside_a_flow(hub, credentials, tmp_path) -> None:
    blob = weights()
    folder = model_dir(tmp_path / "model", {"README.md": "# demo\n", "weights/model.safetensors": blob})
    cached_get_model = get_model.with_options(cache_policy=INPUTS - "modelscope_credentials")

    out: dict[str, Any] = {}  # filled by the flow (a flow returning task states would take them as its own)

    @flow(name="every-operation")
    def every_operation() -> None:
        block = credentials
        out["login"] = login(modelscope_credentials=block)
        out["exists_before"] = model_exists(DEMO, modelscope_credentials=block)
        out["create"] = create_model(DEMO, visibility=1, chinese_name="演示", modelscope_credentials=block)
        out["exists_after"] = model_exists(DEMO, modelscope_credentials=block)
        out["push"] = push_model(DEMO, str(folder), tag="v1.0", modelscope_credentials=block)
        out["model"] = get_model(DEMO, modelscope_credentials=block)
        out["files"] = get_model_files(DEMO, recursive=True, modelscope_credentials=block)
        out["top_files"] = get_model_files(DEMO, revision="v1.0", modelscope_credentials=block)
        out["tag"] = create_tag(DEMO, "v1.1", modelscope_credentials=block)
        out["branch"] = create_branch(DEMO, "dev", from_revision="v1.1", modelscope_credentials=block)
        out["revisions"] = list_model_revisions(DEMO, modelscope_credentials=block)
        out["refs"] = get_model_branches_and_tags(DEMO, modelscope_credentials=block)
        out["other"] = create_model("alice/other", modelscope_credentials=block)
        out["page"] = list_models("alice", page_size=1, modelscope_credentials=block)
        out["all"] = list_all_models("alice", page_size=1, modelscope_credentials=block)
        out["delete"] = delete_model("alice/other", confirm="alice/other", modelscope_credentials=block)
        out["other_after"] = model_exists("alice/other", modelscope_credentials=block)
        requests_before = hub.control.requests("get_model")
        out["cached"] = [cached_get_model(DEMO, modelscope_credentials=block, return_state=True) for _ in range(2)]
        out["cached_requests"] = hub.control.requests("get_model") - requests_before

    flow_state = every_operation(return_state=True)
    assert flow_state.is_completed()

    assert out["login"] == LoginResult(username="alice", email=out["login"].email, git_token_issued=True)
    assert (out["exists_before"], out["exists_after"]) == (False, True)  # a read re-run sees the change
    assert out["create"] == f"{hub.url}/models/{DEMO}"

    push = out["push"]
    assert isinstance(push, PushResult) and push.commit_id and push.verified and push.tag == "v1.0"
    assert push.bytes_uploaded == len(blob)
    model = out["model"]
    assert isinstance(model, ModelInfo)
    assert (model.model_id, model.visibility, model.display_name) == (DEMO, 1, "演示")

    assert all(isinstance(f, RepoFile) for f in out["files"])
    paths = {f.path for f in out["files"] if f.is_file}
    assert {"configuration.json", "README.md", "weights/model.safetensors"} <= paths
    assert "weights/model.safetensors" not in {f.path for f in out["top_files"]}  # not recursive

    assert out["tag"] == push.commit_id
    assert sorted(out["revisions"]) == ["v1.0", "v1.1"]
    assert out["branch"] == push.commit_id
    branches, tags = out["refs"]
    assert branches == ["master", "dev"] and sorted(tags) == ["v1.0", "v1.1"]

    assert out["other"] == f"{hub.url}/models/alice/other"
    page = out["page"]
    assert isinstance(page, ModelPage) and page.total_count == 2 and len(page.models) == 1
    assert sorted(m.model_id for m in out["all"]) == ["alice/demo", "alice/other"]  # across two pages
    assert out["delete"] is None and out["other_after"] is False

    # Reads can be cached on request, as the tasks module documents.
    first, second = out["cached"]
    assert first.is_completed() and second.name == "Cached"
    assert out["cached_requests"] == 1, [state.name for state in out["cached"]]

    # The flow returns before the server has recorded all of its task runs (they arrive as events).
    task_runs = flow_task_runs(flow_state.state_details.flow_run_id, count=19)
    assert len(task_runs) == 19, sorted(run.name for run in task_runs)
    by_name = {run.name.rsplit("-", 1)[0] for run in task_runs}
    assert {task.name for task in (login, create_model, push_model, list_all_models, delete_model)} <= by_name
    assert all(run.state_type.value == "COMPLETED" for run in task_runs)


# -- delete_model ----------------------------------------------------------------------------------------
def test_delete_model_refuses_without_confirmation(hub, tmp_path) -> None:
    seed_model(hub, tmp_path / "demo")
    hub.control.reset(state=False)
    block = fast_block(hub)
    states: list[Any] = []

    @flow(name="unconfirmed-delete")
    def unconfirmed() -> None:
        states.append(delete_model(DEMO, modelscope_credentials=block, return_state=True))
        states.append(delete_model(DEMO, confirm="alice/other", modelscope_credentials=block, return_state=True))

    unconfirmed()
    for state in states:
        error = state.result(raise_on_failure=False)
        assert isinstance(error, InvalidParameter) and f"confirm={DEMO!r}" in str(error)
        assert task_run_of(state).run_count == 1
    assert hub.control.requests() == 0  # no request of any kind reached the hub
    with fast_block(hub).get_client() as client:
        assert client.model_exists(DEMO)


# -- login -------------------------------------------------------------------------------------------------
def test_login_saves_the_git_token_into_a_named_secret_block(hub, credentials) -> None:
    expected = git_token(hub)

    @flow(name="login-with-git-token")
    def login_flow() -> LoginResult:
        return login(modelscope_credentials=credentials, git_token_secret_block="alice-git-token")

    result = login_flow()
    assert result.username == "alice" and result.git_token_issued
    assert set(LoginResult.model_fields) == {"username", "email", "git_token_issued"}
    for text in (result.model_dump_json(), repr(result)):
        assert expected not in text and hub.tokens["alice"] not in text
    assert Secret.load("alice-git-token").get() == expected


def test_login_verifies_a_token_given_as_a_secret_str(hub, credentials) -> None:
    """A token passed to the task directly may be a SecretStr; it is used, and the result never shows it."""

    @flow(name="login-with-secret-str")
    def login_flow() -> LoginResult:
        return login(SecretStr(hub.tokens["bob"]), modelscope_credentials=credentials)

    result = login_flow()
    assert result.username == "bob"
    assert hub.tokens["bob"] not in result.model_dump_json()


# -- push_model progress ---------------------------------------------------------------------------------
def test_push_model_reports_progress_as_an_artifact_and_log_lines(hub, credentials, tmp_path) -> None:
    big = model_dir(tmp_path / "big", {"README.md": "v1\n", "weights/model.safetensors": weights()})
    small = model_dir(tmp_path / "small", {"README.md": "v2\n"})

    states: list[Any] = []

    @flow(name="push-progress")
    def publish() -> None:
        states.append(push_model(DEMO, str(big), tag="v1.0", modelscope_credentials=credentials, return_state=True))
        # Only a small file changed: no blob to upload, so no upload phase.
        states.append(push_model(DEMO, str(small), modelscope_credentials=credentials, return_state=True))

    publish()
    # The worker's line names the revision, the commit and the tag, and what changed.
    lines = [
        "published {model}@master: commit {commit}, tag v1.0; 3 added, 0 changed, 0 deleted, 0 unchanged;",
        "published {model}@master: commit {commit}; 0 added, 1 changed, 1 deleted, 1 unchanged; 0 B sent",
    ]
    with get_client(sync_client=True) as client:
        for state, line in zip(states, lines, strict=True):
            result = state.result()
            task_run_id = task_run_of(state).id
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(task_run_id=ArtifactFilterTaskRunId(any_=[task_run_id]))
            )
            assert [a.type for a in artifacts] == ["progress"]
            assert artifacts[0].data == 100  # finished, also when there was no blob to upload
            assert DEMO.replace("/", "-") in (artifacts[0].key or "")

            messages = run_logs("published", task_run_id=task_run_id)
            assert any(m.startswith(f"{DEMO} hash:") and "%" in m for m in messages), messages
            expected = line.format(model=DEMO, commit=result.commit_id)
            assert any(m.startswith(expected) for m in messages), messages
    upload_lines = run_logs("published", task_run_id=task_run_of(states[0]).id)
    assert any(m.startswith(f"{DEMO} upload: 100%") for m in upload_lines), upload_lines


def test_progress_is_throttled_per_phase_while_hashing_and_uploading_overlap(caplog) -> None:
    """Hashing and uploading report side by side; each phase is logged once when it starts, once when it
    finishes, and at most every PROGRESS_EVERY_SECONDS in between, however their chunks alternate (one
    line, and one artifact update, per chunk would keep the Prefect server busy for the whole push)."""
    reporter = _ProgressReporter(DEMO)  # outside a run: no artifact, the tasks' own logger
    total = 400 * 2**20
    with caplog.at_level(logging.INFO, logger="hub_tasks.prefect.tasks"):
        for step in range(1, 401):  # 400 chunks of 1 MiB per phase, alternating
            for phase in ("hash", "upload"):
                files = 1 if step == 400 else 0
                reporter(
                    ProgressEvent(
                        phase=phase, bytes_done=step * 2**20, bytes_total=total, files_done=files, files_total=1
                    )
                )
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4, lines
    assert lines[0].startswith(f"{DEMO} hash: 0%") and lines[1].startswith(f"{DEMO} upload: 0%"), lines
    assert lines[2] == f"{DEMO} hash: 100% (400.0 MiB of 400.0 MiB, 1 of 1 files)", lines
    assert lines[3] == f"{DEMO} upload: 100% (400.0 MiB of 400.0 MiB, 1 of 1 files)", lines


def test_progress_of_empty_and_small_files_reads_in_their_own_units(caplog) -> None:
    """An empty file is 0 B of 0 B and counts by files, not "99% (0.0 of 0.0 MiB, 0 of 1 files)"."""
    reporter = _ProgressReporter(DEMO)
    with caplog.at_level(logging.INFO, logger="hub_tasks.prefect.tasks"):
        reporter(ProgressEvent(phase="upload", bytes_done=0, bytes_total=0, files_done=0, files_total=2))
        reporter(ProgressEvent(phase="hash", bytes_done=700, bytes_total=1500, files_done=1, files_total=2))
        reporter(ProgressEvent(phase="upload", bytes_done=0, bytes_total=0, files_done=2, files_total=2))
    assert [r.getMessage() for r in caplog.records] == [
        f"{DEMO} upload: 0% (0 B of 0 B, 0 of 2 files)",
        f"{DEMO} hash: 47% (700 B of 1.5 KiB, 1 of 2 files)",
        f"{DEMO} upload: 100% (0 B of 0 B, 2 of 2 files)",
    ]


# -- the .fn() path ----------------------------------------------------------------------------------------
def test_fn_path_runs_without_the_engine(hub, tmp_path) -> None:
    """`.fn` is the plain function: no flow, no retries, no artifact (there is no run to attach one to)."""
    block = fast_block(hub)
    folder = model_dir(tmp_path / "model")
    with disable_run_logger():
        assert login.fn(modelscope_credentials=block).username == "alice"
        assert create_model.fn(DEMO, modelscope_credentials=block).endswith(DEMO)
        result = push_model.fn(DEMO, str(folder), tag="v1.0", modelscope_credentials=block)
        assert result.commit_id and result.verified
        assert get_model.fn(DEMO, modelscope_credentials=block).model_id == DEMO
        assert list_model_revisions.fn(DEMO, modelscope_credentials=block) == ["v1.0"]
        assert model_exists.fn(DEMO, modelscope_credentials=block) is True

        hub.control.reset(state=False)
        hub.control.set_faults([{"effect": "status", "status": 503, "route": "get_model"}], seed=1)
        with pytest.raises(ServerError):
            get_model.fn(DEMO, modelscope_credentials=block)
        assert hub.control.requests("get_model") == 1  # no task retries outside the engine
        hub.control.clear_faults()

        delete_model.fn(DEMO, confirm=DEMO, modelscope_credentials=block)
        with pytest.raises(NotExistError):
            get_model.fn(DEMO, modelscope_credentials=block)


def test_fn_outside_a_run_logs_to_the_module_logger(hub, caplog) -> None:
    block = fast_block(hub)
    caplog.set_level(logging.INFO, logger="hub_tasks.prefect.tasks")
    create_model.fn(DEMO, modelscope_credentials=block)
    delete_model.fn(DEMO, confirm=DEMO, modelscope_credentials=block)
    assert [(r.name, r.getMessage()) for r in caplog.records if r.name == "hub_tasks.prefect.tasks"] == [
        ("hub_tasks.prefect.tasks", f"deleted {DEMO}")
    ]


# -- no block: the official SDK's environment variables ----------------------------------------------------
def test_without_a_block_the_sdk_environment_variables_are_used(hub, prefect_harness, monkeypatch) -> None:
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", hub.tokens["alice"])
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", hub.url)

    out: dict[str, Any] = {}

    @flow(name="env-fallback")
    def from_env() -> None:
        out.update(login=login(), create=create_model("alice/env-model"), get=get_model("alice/env-model"))
        monkeypatch.delenv("MODELSCOPE_API_TOKEN")
        out["anonymous"] = create_model("alice/no-token", return_state=True)

    from_env()
    assert out["login"].username == "alice"
    assert out["create"] == f"{hub.url}/models/alice/env-model"
    assert out["get"].owner == "alice"
    assert isinstance(out["anonymous"].result(raise_on_failure=False), NotLoginError)
    assert hub.control.requests("create_model") == 1  # the anonymous call was refused before any request

    with disable_run_logger():  # and on the .fn path
        monkeypatch.setenv("MODELSCOPE_API_TOKEN", hub.tokens["bob"])
        assert login.fn().username == "bob"


MY_FLOW = """
from prefect import flow
from hub_tasks import create_model, login, model_exists

@flow
def my_flow() -> str:
    create_model("alice/from-script")
    return f"{login().username} {model_exists('alice/from-script')}"

if __name__ == "__main__":
    print("RESULT", my_flow())
"""


def test_modelscope_api_token_python_my_flow_py_works(hub, prefect_harness, tmp_path) -> None:
    """The promise, literally: `MODELSCOPE_API_TOKEN=... python my_flow.py`, no block anywhere."""
    script = tmp_path / "my_flow.py"
    script.write_text(MY_FLOW)
    env = {
        **os.environ,
        "MODELSCOPE_API_TOKEN": hub.tokens["alice"],
        "MODELSCOPE_ENDPOINT": hub.url,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    result = subprocess.run(
        [sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RESULT alice True" in result.stdout
    assert hub.tokens["alice"] not in result.stdout + result.stderr
