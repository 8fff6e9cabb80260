"""The dataset deployments of deployments/prefect.yaml on the e2e tier's server and process workers:
publish-dataset/manual run with form parameters, and publish-dataset/when-ready started by a
`modelscope.dataset.ready` event, its parameters taken from the payload. Both runs are started before
either is awaited, so the two workers run them side by side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prefect.deployments import run_deployment
from prefect.exceptions import PrefectHTTPStatusError

from hub_tasks import HubClient
from tests.helpers.folders import manifest, without_hub_files, write_files
from tests.helpers.hub import RunningHub
from tests.helpers.polling import wait_for
from tests.helpers.stack import DEMO_TOKEN, PrefectStack, api, finished_publish

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# What a data-preparation job of the user's runs when its folder is ready (as the README shows it).
READY = (
    "import sys; from prefect.events import emit_event; emit_event(event='modelscope.dataset.ready', "
    "resource={'prefect.resource.id': 'modelscope.dataset.demo/ready-data'}, "
    "payload={'dataset_id': 'demo/ready-data', 'dataset_dir': sys.argv[1], 'tag': 'v1'})"
)


def dataset_files(hub: RunningHub, dataset_id: str, revision: str) -> dict[str, tuple[str, int]]:
    with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as client:
        listed = client.get_dataset_files(dataset_id, revision, recursive=True)
    return without_hub_files({f.path: (f.sha256, f.size) for f in listed if f.is_file})


def test_the_dataset_deployments_publish_from_the_form_and_from_the_ready_event(
    stack: PrefectStack, hub: RunningHub, tmp_path: Path
) -> None:
    ready, manual = tmp_path / "ready", tmp_path / "manual"
    write_files(ready, {"train.jsonl": '{"text": "a"}\n', "README.md": "# ready\n"})
    write_files(manual, {"data/test.csv": "x,y\n1,2\n"})
    subprocess.run([sys.executable, "-c", READY, str(ready)], env=stack.env, check=True, timeout=120)
    with api(stack) as client:
        deployment = client.read_deployment_by_name("publish-dataset/manual")
        form = deployment.parameter_openapi_schema["definitions"]["DatasetPublishRequest"]["properties"]
        assert {"dataset_id", "dataset_dir", "description", "tag", "visibility"} <= set(form)
        assert "model_id" not in form and "original_model_id" not in form
        bad = {"request": {"dataset_id": "no-slash", "dataset_dir": str(manual)}}
        with pytest.raises(PrefectHTTPStatusError) as refused:  # enforce_parameter_schema, in words
            client.create_flow_run_from_deployment(deployment.id, parameters=bad)
        assert "'owner/name, e.g. alice/my-dataset' was expected" in refused.value.response.text

        request = {"dataset_id": "demo/manual-data", "dataset_dir": str(manual), "visibility": "private", "tag": "v1"}
        run = run_deployment(
            "publish-dataset/manual", parameters={"request": request}, timeout=240, poll_interval=1, as_subflow=False
        )
        assert run.state is not None and run.state.is_completed(), run.state
        triggered = wait_for(
            lambda: finished_publish(client, "publish-dataset/when-ready", ready, "dataset_dir"),
            "the publish the dataset.ready event triggered",
            timeout=180,
            interval=0.5,
        )
    assert triggered.state is not None and triggered.state.is_completed(), triggered.state
    assert triggered.parameters["request"] == {
        "dataset_id": "demo/ready-data",
        "dataset_dir": str(ready),
        "tag": "v1",
        "commit_message": "publish when the dataset was ready",
    }
    assert dataset_files(hub, "demo/ready-data", "v1") == manifest(ready)
    assert dataset_files(hub, "demo/manual-data", "v1") == manifest(manual)
    with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as client:
        assert client.get_dataset("demo/manual-data").visibility == 1
        (head,) = client.list_commits("demo/ready-data", "v1", 1, 1, repo_type="dataset")
    assert head.message == "publish when the dataset was ready"


def test_serve_py_offers_the_same_dataset_deployments(stack: PrefectStack) -> None:
    """deployments/serve.py's dataset deployments match prefect.yaml's: the form's defaults fit the block's user,
    and the trigger names the block by slug (rendered when the event arrives)."""
    from deployments.serve import deployments  # imports the flows: only here, under the stack's settings

    with api(stack) as client:
        served = {d.full_name: d for d in deployments("modelscope")}
        deployed = client.read_deployment_by_name("publish-dataset/manual").parameters
    manual, ready = served["publish-dataset/manual"], served["publish-dataset/when-ready"]
    assert manual.parameters["request"]["dataset_id"] == deployed["request"]["dataset_id"] == "demo/tiny-dataset"
    assert manual.parameters["request"]["dataset_dir"] == "~/.prefect-modelscope/datasets/demo--tiny-dataset"
    (trigger,) = ready.triggers
    assert trigger.expect == {"modelscope.dataset.ready"} and trigger.parameters is not None
    assert trigger.parameters["request"]["dataset_dir"] == "{{ event.payload.dataset_dir }}"
    assert trigger.parameters["modelscope_credentials"]["$ref"] == {
        "block_document_slug": "modelscope-credentials/modelscope"
    }
