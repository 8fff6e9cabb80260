"""The `publish_model` flow against local_hub and the Prefect test server: a new repo, an update, a no-op
(no event; the artifact says so), a tag (never moved), the rollback of a repo created by a failed run, the
artifact and event contents as the Prefect API returns them, and the typed parameters with their schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from prefect.exceptions import ParameterTypeError
from prefect.states import State
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools import validate

from flows.publish.flow import publish_model
from flows.publish.request import PublishLock, PublishRequest, Visibility
from hub_tasks import ModelScopeCredentials, PushResult
from tests.helpers.clients import hub_client, make_block
from tests.helpers.folders import remote
from tests.helpers.hub import RunningHub
from tests.helpers.hub_http import HubWriter
from tests.helpers.prefect_api import events_settled, flow_task_runs, run_artifact, run_events

MODEL = "alice/demo"
ARTIFACT = "publish-alice-demo"
PUBLISHED = "modelscope.model.published"
# What the event carries (a subset of PushResult); the rest stays in the artifact and the result.
PAYLOAD = (
    "model_id", "model_url", "commit_id", "revision", "tag", "files_added", "files_changed", "files_deleted",
    "bytes_uploaded", "bytes_reused", "created_repo", "created_branch",
)  # fmt: skip


def folder(root: Path, files: dict[str, str | bytes]) -> Path:
    """A publishable folder holding exactly configuration.json and `files` (earlier content is removed)."""
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    root.mkdir(parents=True, exist_ok=True)
    (root / "configuration.json").write_text('{"framework": "pytorch", "task": "text-generation"}')
    for rel, content in files.items():
        (root / rel).write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def publish(request: PublishRequest, block: ModelScopeCredentials) -> tuple[State, Any]:
    """Run the flow; returns its final state and the flow run id."""
    state = publish_model(request, block, return_state=True)
    return state, state.state_details.flow_run_id


def markdown(flow_run_id: Any) -> str:
    artifact = run_artifact(flow_run_id, ARTIFACT)
    assert artifact is not None and artifact.type == "markdown", artifact
    assert artifact.description == f"Publish of {MODEL}"
    return str(artifact.data)


def published_payload(result: PushResult) -> dict[str, Any]:
    return json.loads(result.model_dump_json(include=set(PAYLOAD)))


def test_new_update_noop_and_tag_report_what_changed_in_the_artifact_and_the_event(
    hub: RunningHub, credentials: ModelScopeCredentials, tmp_path: Path
) -> None:
    """Each publish leaves a markdown artifact with link, commit, tag, counts and changed files; a publish that
    changed the hub emits `modelscope.model.published`, a no-op emits nothing and its artifact says so, and a
    tag is set on the new commit and never moved afterwards."""
    writer = HubWriter(hub)
    weights = b"\x01" * 3000
    work = tmp_path / "model"

    # 1. A new repo, created with the request's settings.
    new_state, new_run = publish(
        PublishRequest(
            model_id=MODEL,
            model_dir=str(folder(work, {"README.md": "# v1\n", "w.bin": weights})),
            visibility=Visibility.private,
            license="MIT",
            chinese_name="演示",
            commit_message="first",
        ),
        credentials,
    )
    assert new_state.is_completed(), new_state.message
    new = new_state.result()
    assert new.commit_id and new.verified and new.revision == "master" and new.tag is None
    assert (new.files_added, new.files_changed, new.files_deleted) == (3, 0, 0)
    assert new.created_repo, "the run created the repo: its result, artifact and event must say so"
    with credentials.get_client() as client:
        model = client.get_model(MODEL)
    assert (model.visibility, model.license, model.display_name) == (1, "MIT", "演示")
    assert writer.head(MODEL) == new.commit_id
    report = markdown(new_run)
    assert report.startswith(f"# Published [{MODEL}]({hub.url}/models/{MODEL})")
    # The link works: the model's page, for its owner's logged-in browser (the model is private).
    page = requests.get(f"{hub.url}/models/{MODEL}", cookies={"m_session_id": hub.tokens["alice"]}, timeout=10)
    assert page.status_code == 200 and f"<h1>{MODEL}</h1>" in page.text
    assert f"| commit | `{new.commit_id}` |" in report and "| tag | `-` |" in report
    assert "| files | 3 added, 0 changed, 0 deleted, 0 unchanged |" in report
    assert "| new repo | yes |" in report and "No changes" not in report
    assert "| added | `w.bin` | 3,000 | lfs |" in report and "| added | `README.md` | 5 | inline |" in report

    # 2. An update: one file changed, one added, one gone from the folder (deleted on the hub).
    update_state, update_run = publish(
        PublishRequest(model_id=MODEL, model_dir=str(folder(work, {"README.md": "# v2\n", "notes.txt": "n"}))),
        credentials,
    )
    assert update_state.is_completed(), update_state.message
    update = update_state.result()
    assert update.commit_id not in (None, new.commit_id) and not update.created_repo
    assert (update.files_added, update.files_changed, update.files_deleted, update.files_unchanged) == (1, 1, 1, 1)
    with credentials.get_client() as client:
        files = set(remote(client, MODEL))  # the hub's own .gitattributes, if any, is not ours
    assert files == {"configuration.json", "README.md", "notes.txt"}
    report = markdown(update_run)
    assert f"| commit | `{update.commit_id}` |" in report and "| new repo | no |" in report
    for row in ("| added | `notes.txt` |", "| changed | `README.md` |", "| deleted | `w.bin` |"):
        assert row in report, report

    # 3. A no-op: the folder already matches; no commit, the artifact says so, no event (checked below).
    commits_before = hub.control.stats()["commits_total"]
    noop_state, noop_run = publish(PublishRequest(model_id=MODEL, model_dir=str(work)), credentials)
    assert noop_state.is_completed(), noop_state.message
    noop = noop_state.result()
    assert noop.noop and noop.commit_id is None and noop.files_unchanged == 3
    assert hub.control.stats()["commits_total"] == commits_before
    report = markdown(noop_run)
    assert "**No changes**: the revision already matched the folder, so no commit was made." in report
    assert "| commit | `none (no-op)` |" in report and "| change | path |" not in report

    # 4. A tag on the new commit.
    tag_state, tag_run = publish(
        PublishRequest(model_id=MODEL, model_dir=str(folder(work, {"README.md": "# v3\n"})), tag="v1.0"),
        credentials,
    )
    assert tag_state.is_completed(), tag_state.message
    tagged = tag_state.result()
    assert tagged.tag == "v1.0" and tagged.commit_id
    assert writer.head(MODEL, "v1.0") == writer.head(MODEL) == tagged.commit_id
    assert "| tag | `v1.0` |" in markdown(tag_run)

    # 5. The same tag on new content: refused before any commit; the tag stays where it was.
    commits_before = hub.control.stats()["commits_total"]
    moved_state, moved_run = publish(
        PublishRequest(model_id=MODEL, model_dir=str(folder(work, {"README.md": "# v4\n"})), tag="v1.0"),
        credentials,
    )
    assert moved_state.is_failed()
    assert "tags are never moved" in str(moved_state.result(raise_on_failure=False))
    assert hub.control.stats()["commits_total"] == commits_before
    assert writer.head(MODEL, "v1.0") == writer.head(MODEL) == tagged.commit_id
    assert run_artifact(moved_run, ARTIFACT) is None

    # The events, read back from the Prefect API: one per publish that changed the hub, with its numbers.
    events_settled()
    for run, result in ((new_run, new), (update_run, update), (tag_run, tagged)):
        (event,) = run_events(run)
        assert event.event == PUBLISHED
        assert dict(event.resource) == {
            "prefect.resource.id": f"modelscope.model.{MODEL}",
            "prefect.resource.name": MODEL,
            "modelscope.revision": "master",
        }
        assert event.payload == published_payload(result)
    assert run_events(new_run)[0].payload["created_repo"] is True
    assert run_events(tag_run)[0].payload["tag"] == "v1.0"
    assert run_events(noop_run) == [] and run_events(moved_run) == []

    # The asset: modelscope://alice/demo, materialized with the published folder upstream (the lineage).
    (asset,) = run_events(new_run, prefix="prefect.asset.materialization")
    assert asset.resource.id == f"modelscope://{MODEL}"
    assert {r.id for r in asset.related if r.role == "asset"} == {work.resolve().as_uri()}
    assert asset.payload["commit_id"] == new.commit_id
    assert run_events(noop_run, prefix="prefect.asset.materialization") == []


def test_a_failed_publish_deletes_the_repo_it_created_but_never_content_or_an_existing_repo(
    hub: RunningHub, prefect_harness: None, fast_backoff: None, no_retry_delay: None, tmp_path: Path
) -> None:
    """The repo a failed run created is deleted again while it is still empty; kept when the run left a
    commit in it, when it existed before the run, or when `rollback_new_repo=False`."""
    writer = HubWriter(hub)
    block = make_block(hub)
    work = folder(tmp_path / "model", {"README.md": "# demo\n"})
    commit_fails = [{"route": "commit", "effect": "status", "status": 500}]

    def failed_publish(rules: list[dict[str, Any]], **request: Any) -> State:
        hub.control.set_faults(rules, seed=1)
        try:
            state, _ = publish(PublishRequest(model_dir=str(work), **request), block)
        finally:
            rules_after = hub.control.faults()
            hub.control.clear_faults()
        assert state.is_failed(), state
        assert all(rule["fired"] > 0 for rule in rules_after), rules_after
        return state

    # Created by this run, and the push failed before any commit: rolled back.
    state = failed_publish(commit_fails, model_id="alice/rolled")
    assert "500" in str(state.result(raise_on_failure=False))
    assert not writer.exists("alice/rolled")
    statuses = hub.control.stats()["statuses"]
    # Deleted once, after push_model's last retry: no retry re-created it (the engine creates missing repos).
    assert (statuses.get("create_model 200"), statuses.get("delete_model 200")) == (1, 1)

    # Created by this run, which committed and then failed (tagging): the content is kept.
    failed_publish([{"route": "create_tag", "effect": "status", "status": 500}], model_id="alice/kept", tag="v1")
    head = writer.head("alice/kept")
    assert writer.exists("alice/kept") and head is not None and writer.head("alice/kept", "v1") is None

    # Existing before the run: never deleted, whatever fails.
    folder(work, {"README.md": "# changed\n"})
    failed_publish(commit_fails, model_id="alice/kept")
    assert writer.exists("alice/kept") and writer.head("alice/kept") == head

    # Created by this run, but the request opted out of the rollback: kept (empty).
    failed_publish(commit_fails, model_id="alice/opt-out", rollback_new_repo=False)
    assert writer.exists("alice/opt-out")
    if writer.head("alice/opt-out") is not None:  # the hub's own first commit (on-create), nothing of ours
        with hub_client(hub) as client:
            assert remote(client, "alice/opt-out") == {}
    assert hub.control.stats()["statuses"].get("delete_model 200") == 1  # only the first run deleted anything


def test_a_publish_to_a_missing_branch_creates_it_from_master(
    hub: RunningHub, credentials: ModelScopeCredentials, tmp_path: Path
) -> None:
    """The seed's promise, through the flow: the branch starts at master's head, master is untouched."""
    writer = HubWriter(hub)
    writer.create(MODEL)
    base = writer.commit(MODEL, {"configuration.json": b"{}", "README.md": b"# base\n"})
    request = PublishRequest(
        model_id=MODEL, model_dir=str(folder(tmp_path / "model", {"README.md": "# rc\n"})), revision="release/1.x"
    )
    state, run = publish(request, credentials)
    assert state.is_completed(), state.message
    result = state.result()
    assert result.created_branch and not result.created_repo and result.revision == "release/1.x"
    assert writer.head(MODEL, "release/1.x") == result.commit_id and writer.head(MODEL) == base
    report = markdown(run)
    assert "| new branch | yes |" in report and "| publish | value |\n|---|---|" in report  # a real header
    events_settled()
    assert run_events(run)[0].payload["created_branch"] is True
    # login, model_exists, push_folder and the asset record: every task of the flow carries the tag.
    runs = flow_task_runs(run, count=4)
    assert len(runs) == 4 and all("modelscope" in task_run.tags for task_run in runs), [r.tags for r in runs]


def test_typed_parameters_validate_and_render_a_json_schema_with_descriptions() -> None:
    """The flow's parameters are typed models: the schema the UI renders has a description for every field,
    the enum and the bounds; the same checks refuse bad values, and plain JSON becomes the typed models."""
    schema = parameter_schema(publish_model).model_dump_for_openapi()
    assert schema["required"] == ["request"]
    assert all(prop.get("description") for prop in schema["properties"].values())
    definitions = schema["definitions"]
    for name in ("PublishRequest", "PublishLock"):
        assert definitions[name]["description"] and definitions[name]["additionalProperties"] is False
        fields = definitions[name]["properties"]
        assert all(field.get("description") for field in fields.values()), name
    request = definitions["PublishRequest"]
    assert set(request["required"]) == {"model_id", "model_dir"}
    # The form reads like the task: every field numbered, in this order; labels say "ID"; an empty optional
    # text means none, so no field is a "str | None" toggle.
    props = request["properties"]
    assert sorted(props, key=lambda name: props[name]["position"])[:5] == [
        "model_id",
        "model_dir",
        "revision",
        "tag",
        "commit_message",
    ]
    assert sorted(p["position"] for p in props.values()) == list(range(len(props)))
    assert (props["model_id"]["title"], props["original_model_id"]["title"]) == ("Model ID", "Original model ID")
    # One style of label, sentence case ("Commit message", not "Commit Message"), with "ID" as the one capital.
    for definition in ("PublishRequest", "PublishLock"):
        for name, field in definitions[definition]["properties"].items():
            words = field.get("title", "Visibility").split()  # a $ref field shows its definition's title
            assert words[0][0].isupper() and all(w == "ID" or w.islower() for w in words[1:]), (name, words)
    for definition in ("PublishRequest", "PublishLock"):
        for name, field in definitions[definition]["properties"].items():
            assert "anyOf" not in field or all(t.get("type") != "null" for t in field["anyOf"]), (definition, name)
            assert "<" not in field["description"], (definition, name)  # the UI would strip it as HTML
    assert request["properties"]["revision"]["default"] == "master"
    assert definitions["Visibility"]["enum"] == ["public", "internal", "private"]
    lease = definitions["PublishLock"]["properties"]["lease_seconds"]
    # The UIs append " (Optional)" to a label, so a unit is a word ("Timeout in seconds", not "Timeout (s)").
    lock_titles = [field["title"] for field in definitions["PublishLock"]["properties"].values()]
    assert lock_titles == ["Enabled", "Lock name", "Timeout in seconds", "Lease in seconds"]
    assert (lease["minimum"], lease["maximum"], lease["default"]) == (60, 86400, 300)

    good = {"request": {"model_id": MODEL, "model_dir": "/models/demo", "visibility": "internal", "tag": "v1"}}
    assert validate(good, schema) == []  # what the server checks for a deployment with enforce_parameter_schema
    bad = [
        {"request": {"model_id": MODEL}},  # no model_dir
        {"request": {**good["request"], "visibility": "secret"}},
        {"request": {**good["request"], "owner": "alice"}},  # unknown field
        {**good, "lock": {"lease_seconds": 10}},
    ]
    for parameters in bad:
        assert validate(parameters, schema), parameters
    # What the UI shows next to a bad id is the server's jsonschema message: words, never the regex.
    for field in ("model_id", "original_model_id"):
        errors = validate({"request": {**good["request"], field: "not a model id"}}, schema)
        assert [error.message for error in errors] == [
            f"'{'' if field == 'model_id' else 'empty, or '}owner/name, e.g. alice/my-model' was expected"
        ]

    typed = publish_model.validate_parameters(good)
    assert isinstance(typed["request"], PublishRequest) and typed["request"].visibility is Visibility.internal
    assert typed["request"].visibility.code == 3 and typed["request"].delete_missing is True
    assert publish_model.validate_parameters({**good, "lock": {"enabled": False}})["lock"] == PublishLock(enabled=False)
    for parameters in bad:
        with pytest.raises(ParameterTypeError):
            publish_model.validate_parameters(parameters)
