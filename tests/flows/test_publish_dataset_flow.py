"""The `publish_dataset` flow (publish_model's body for a dataset) against local_hub and the Prefect test server:
a new dataset (no configuration.json needed) with its artifact, event and asset as the Prefect API returns them,
a no-op re-publish, the rollback of a dataset created by a failed run, and bad input refused before any request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prefect.exceptions import ParameterTypeError
from prefect.states import State
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools import validate

from flows.publish.flow import publish_dataset
from flows.publish.request import DatasetPublishRequest, Visibility
from hub_tasks import InvalidParameter, ModelScopeCredentials
from tests.helpers.clients import hub_client, make_block
from tests.helpers.folders import blob, manifest, without_hub_files, write_files
from tests.helpers.hub import RunningHub
from tests.helpers.prefect_api import events_settled, flow_task_runs, run_artifact, run_events

DATASET = "alice/corpus"
ARTIFACT = "publish-dataset-alice-corpus"
ASSET = "modelscope://datasets/alice/corpus"


def data_folder(root: Path, files: dict[str, str | bytes]) -> Path:
    """A dataset folder holding exactly `files` (no configuration.json: a dataset needs none)."""
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    write_files(root, files)
    return root


def publish(request: DatasetPublishRequest, block: ModelScopeCredentials) -> tuple[State, Any]:
    """Run the flow; returns its final state and the flow run id."""
    state = publish_dataset(request, block, return_state=True)
    return state, state.state_details.flow_run_id


def remote_files(hub: RunningHub, revision: str = "master") -> dict[str, tuple[str, int]]:
    """The dataset's files a publish put there (the hub's own .gitattributes left out)."""
    with hub_client(hub) as client:
        listed = client.get_dataset_files(DATASET, revision, recursive=True)
    return without_hub_files({f.path: (f.sha256, f.size) for f in listed if f.is_file})


def test_a_new_dataset_is_created_verified_reported_announced_and_recorded_as_an_asset(
    hub: RunningHub, credentials: ModelScopeCredentials, tmp_path: Path
) -> None:
    folder = data_folder(
        tmp_path / "corpus", {"README.md": "# corpus\n", "data/train.jsonl": '{"text": "hi"}\n', "img.bin": blob(3000)}
    )
    request = DatasetPublishRequest(
        dataset_id=DATASET,
        dataset_dir=str(folder),
        visibility=Visibility.private,
        chinese_name="语料",
        description="A tiny corpus.",
        tag="v1",
    )
    state, run = publish(request, credentials)
    assert state.is_completed(), state.message
    result = state.result()
    assert (result.repo_type, result.repo_id, result.created_repo, result.verified) == ("dataset", DATASET, True, True)
    assert result.repo_url == f"{hub.url}/datasets/{DATASET}" and result.tag == "v1"
    assert remote_files(hub) == remote_files(hub, "v1") == manifest(folder)
    with credentials.get_client() as client:
        dataset = client.get_dataset(DATASET)
        (head,) = client.list_commits(DATASET, "master", 1, 1, repo_type="dataset")
    assert dataset.visibility == 1 and head.id == result.commit_id and head.message == "upload dataset"

    artifact = run_artifact(run, ARTIFACT)
    assert (
        artifact is not None and artifact.type == "markdown" and artifact.description == f"Publish of dataset {DATASET}"
    )
    report = str(artifact.data)
    assert report.startswith(f"# Published [{DATASET}]({hub.url}/datasets/{DATASET})")
    assert f"| commit | `{result.commit_id}` |" in report and "| tag | `v1` |" in report
    assert "| files | 3 added, 0 changed, 0 deleted, 0 unchanged |" in report and "| new repo | yes |" in report

    events_settled()
    (event,) = run_events(run)
    assert event.event == "modelscope.dataset.published"
    assert dict(event.resource) == {
        "prefect.resource.id": f"modelscope.dataset.{DATASET}",
        "prefect.resource.name": DATASET,
        "modelscope.revision": "master",
    }
    assert event.payload["dataset_id"] == DATASET and event.payload["dataset_url"] == result.repo_url
    assert "model_id" not in event.payload
    assert (event.payload["commit_id"], event.payload["files_added"], event.payload["created_repo"]) == (
        result.commit_id, 3, True,
    )  # fmt: skip

    (asset,) = run_events(run, prefix="prefect.asset.materialization")
    assert asset.event == "prefect.asset.materialization.succeeded" and asset.resource.id == ASSET
    assert asset.resource.get("prefect.asset.url") == result.repo_url
    assert {r.id for r in asset.related if r.role == "asset"} == {folder.resolve().as_uri()}
    assert asset.payload["commit_id"] == result.commit_id
    # login, dataset_exists, push_folder and the asset record: every task of the flow carries the tag.
    runs = flow_task_runs(run, count=4)
    assert len(runs) == 4 and all("modelscope" in r.tags for r in runs), [(r.name, r.tags) for r in runs]
    assert {"Check a ModelScope dataset exists", "Record the dataset asset"} <= {r.name.rsplit("-", 1)[0] for r in runs}


def test_an_unchanged_folder_republishes_as_a_no_op_without_event_or_asset(
    hub: RunningHub, credentials: ModelScopeCredentials, tmp_path: Path
) -> None:
    folder = data_folder(tmp_path / "corpus", {"train.csv": "a,b\n1,2\n", "README.md": "# corpus\n"})
    first, _ = publish(DatasetPublishRequest(dataset_id=DATASET, dataset_dir=str(folder)), credentials)
    assert first.is_completed(), first.message
    commits = hub.control.stats()["commits_total"]

    again, run = publish(DatasetPublishRequest(dataset_id=DATASET, dataset_dir=str(folder)), credentials)
    assert again.is_completed(), again.message
    result = again.result()
    assert result.noop and result.commit_id is None and result.files_unchanged == 2 and not result.created_repo
    assert hub.control.stats()["commits_total"] == commits
    artifact = run_artifact(run, ARTIFACT)
    assert artifact is not None and "**No changes**" in str(artifact.data)
    events_settled()
    assert run_events(run) == [] and run_events(run, prefix="prefect.asset.materialization") == []


@pytest.mark.parametrize("hub", ["gitattributes-on-create", "gitattributes-off"], indirect=True)
def test_a_failed_publish_deletes_the_dataset_it_created_but_never_an_existing_one(
    hub: RunningHub, prefect_harness: None, fast_backoff: None, no_retry_delay: None, tmp_path: Path
) -> None:
    """The same rollback as a model's: a dataset the failed run created is deleted once the push has run out of
    retries (whether or not the hub wrote its own first commit); one that existed before is kept."""
    block = make_block(hub)
    folder = data_folder(tmp_path / "corpus", {"train.csv": "a,b\n1,2\n"})
    hub.control.set_faults([{"route": "commit", "effect": "status", "status": 500}], seed=1)
    try:
        state, _ = publish(DatasetPublishRequest(dataset_id=DATASET, dataset_dir=str(folder)), block)
        assert state.is_failed() and "500" in str(state.result(raise_on_failure=False))
        with hub_client(hub) as client:
            assert not client.dataset_exists(DATASET)
        statuses = hub.control.stats()["statuses"]
        assert (statuses.get("create_dataset 200"), statuses.get("delete_dataset 200")) == (1, 1), statuses

        with hub_client(hub) as client:
            client.create_dataset(DATASET)
        state, _ = publish(DatasetPublishRequest(dataset_id=DATASET, dataset_dir=str(folder)), block)
        assert state.is_failed()
    finally:
        hub.control.clear_faults()
    with hub_client(hub) as client:
        assert client.dataset_exists(DATASET)
    assert hub.control.stats()["statuses"].get("delete_dataset 200") == 1


def test_bad_input_fails_with_a_typed_error_before_any_request(
    hub: RunningHub, credentials: ModelScopeCredentials, tmp_path: Path
) -> None:
    """A missing or file-not-folder dataset_dir fails the run with InvalidParameter, and a bad id or tag is refused
    with the parameters, all before the hub sees a request."""
    hub.control.reset(state=False)
    file = tmp_path / "train.csv"
    file.write_text("a,b\n")
    for folder, words in ((tmp_path / "missing", "does not exist"), (file, "is a file, not a folder")):
        state, _ = publish(DatasetPublishRequest(dataset_id=DATASET, dataset_dir=str(folder)), credentials)
        assert state.is_failed()
        error = state.result(raise_on_failure=False)
        assert isinstance(error, InvalidParameter) and "dataset_dir" in str(error) and words in str(error), error
    for bad in ({"dataset_id": "no-slash"}, {"tag": "master"}, {"model_id": DATASET}):
        with pytest.raises(ParameterTypeError):
            publish_dataset.validate_parameters({"request": {"dataset_id": DATASET, "dataset_dir": "d", **bad}})
    assert hub.control.requests() == 0


def test_the_form_is_typed_and_refuses_a_bad_id_in_words() -> None:
    schema = parameter_schema(publish_dataset).model_dump_for_openapi()
    request = schema["definitions"]["DatasetPublishRequest"]
    props = request["properties"]
    assert set(request["required"]) == {"dataset_id", "dataset_dir"} and request["additionalProperties"] is False
    assert sorted(props, key=lambda name: props[name]["position"]) == [
        "dataset_id", "dataset_dir", "revision", "tag", "commit_message", "visibility", "license", "chinese_name",
        "description", "ignore_file_pattern", "ignore_patterns", "delete_missing", "allow_secret_files",
        "rollback_new_repo",
    ]  # fmt: skip
    assert props["commit_message"]["default"] == "upload dataset" and props["dataset_id"]["title"] == "Dataset ID"
    assert "no configuration.json needed" in props["dataset_dir"]["description"]
    lock = schema["definitions"]["DatasetPublishLock"]["properties"]
    assert lock["enabled"]["description"] == "Take the dataset's lock around the write phase."
    assert lock["name"]["description"].endswith("empty for the dataset's own, modelscope-publish-dataset-OWNER--NAME.")
    good = {"request": {"dataset_id": DATASET, "dataset_dir": "/data/corpus"}}
    assert validate(good, schema) == []
    errors = validate({"request": {**good["request"], "dataset_id": "not an id"}}, schema)
    assert [error.message for error in errors] == ["'owner/name, e.g. alice/my-dataset' was expected"]
