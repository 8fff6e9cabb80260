"""Deployments from deployments/prefect.yaml on a real server with a process worker, end to end."""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

import pytest
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import PrefectHTTPStatusError

from hub_tasks import HubClient
from hub_tasks.prefect.references import CredentialsBlockMissing
from tests.helpers.hub import RunningHub
from tests.helpers.polling import wait_for
from tests.helpers.stack import DEMO_TOKEN, PrefectStack, api, deployment_runs, finished_publish

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_training_event_triggers_the_publish_deployment(stack: PrefectStack, hub: RunningHub, tmp_path) -> None:
    out = tmp_path / "tiny-model"
    with api(stack) as client:
        training = run_deployment(
            "train-and-publish/example",
            parameters={"output_dir": str(out), "tag": "v1"},
            timeout=240,
            poll_interval=1,
            as_subflow=False,
        )
        assert training.state is not None and training.state.is_completed(), training.state

        run = wait_for(
            lambda: finished_publish(client, "publish-model/after-training", out),
            "the after-training publish run",
            timeout=180,
            interval=0.5,
        )
    assert run.state is not None and run.state.is_completed(), run.state
    request = run.parameters["request"]
    assert request["model_id"] == "demo/tiny-model"
    assert request["tag"] == "v1"
    assert request["commit_message"] == f"publish after training run {training.name}"
    with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as hub_client:
        files = {f.path for f in hub_client.get_model_files("demo/tiny-model", "v1", recursive=True)}
    assert files == {"configuration.json", "model.safetensors", "README.md"}


def test_manual_publish_runs_with_ui_parameters_and_has_a_form_schema(
    stack: PrefectStack, hub: RunningHub, tmp_path
) -> None:
    folder = tmp_path / "manual"
    folder.mkdir()
    (folder / "configuration.json").write_text('{"framework": "pytorch"}')
    (folder / "weights.bin").write_bytes(b"\x01" * 100_000)
    with api(stack) as client:
        deployment = client.read_deployment_by_name("publish-model/manual")
        schema = deployment.parameter_openapi_schema
        form = schema["definitions"]["PublishRequest"]["properties"]
        assert {"model_id", "model_dir", "revision", "tag", "visibility", "license", "delete_missing"} <= set(form)
        assert all(field.get("description") for field in form.values())
        assert schema["definitions"]["Visibility"]["enum"] == ["public", "internal", "private"]
        assert form["revision"]["default"] == "master"
        assert schema["properties"]["modelscope_credentials"]["anyOf"][0]["$ref"].endswith("ModelScopeCredentials")
        bad = {"request": {"model_id": "no-slash", "model_dir": str(folder)}}  # complete, but for the id
        with pytest.raises(PrefectHTTPStatusError) as refused:  # enforce_parameter_schema: the server refuses it
            client.create_flow_run_from_deployment(deployment.id, parameters=bad)
        answer = refused.value.response
        assert answer.status_code == 409, answer.text
        assert "Validation failed for field 'request.model_id'" in answer.text, answer.text
        assert "'owner/name, e.g. alice/my-model' was expected" in answer.text, answer.text
        request = {"model_id": "demo/manual-model", "model_dir": str(folder), "visibility": "private", "tag": "v1"}
        run = run_deployment(
            "publish-model/manual", parameters={"request": request}, timeout=240, poll_interval=1, as_subflow=False
        )
    assert run.state is not None and run.state.is_completed(), run.state
    with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as hub_client:
        model = hub_client.get_model("demo/manual-model")
        assert model.visibility == 1
        assert hub_client.resolve_ref("demo/manual-model", "v1") == hub_client.resolve_ref("demo/manual-model")


def test_nightly_snapshot_is_scheduled_by_cron_and_runs(stack: PrefectStack, hub: RunningHub) -> None:
    with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as hub_client:
        hub_client.create_model("demo/audited")
    with api(stack) as client:
        deployment = client.read_deployment_by_name("snapshot-revisions/nightly")
        (schedule,) = deployment.schedules
        assert schedule.schedule.cron == "0 3 * * *"
        assert schedule.schedule.timezone == "Asia/Shanghai"
        assert schedule.active

        def scheduled() -> list[FlowRun]:
            return [
                r for r in deployment_runs(client, "snapshot-revisions/nightly") if r.state and r.state.is_scheduled()
            ]

        upcoming = wait_for(scheduled, "the scheduler to create nightly runs", timeout=60, interval=0.5)
        for run in upcoming:
            local = run.expected_start_time.astimezone(ZoneInfo("Asia/Shanghai"))
            assert (local.hour, local.minute) == (3, 0), run.expected_start_time.astimezone(timezone.utc)
        run = run_deployment("snapshot-revisions/nightly", timeout=240, poll_interval=1, as_subflow=False)
    assert run.state is not None and run.state.is_completed(), run.state


def test_every_deployment_names_the_credentials_block_by_id_so_the_form_shows_it(stack: PrefectStack) -> None:
    """The run form's block selector shows a reference by document id, not by slug: prefect.yaml's build step
    and serve.py resolve it at deploy time. Trigger parameters keep the slug (rendered when the event comes)."""
    from deployments.serve import deployments  # imports the flows: only here, under the stack's settings

    with api(stack) as client:
        block = client.read_block_document_by_name("modelscope", "modelscope-credentials", include_secrets=False)
        by_id = {"$ref": {"block_document_id": str(block.id)}}
        for name in ("snapshot-revisions/nightly", "publish-model/after-training", "publish-model/manual"):
            assert client.read_deployment_by_name(name).parameters["modelscope_credentials"] == by_id, name
        served = {deployment.name: deployment for deployment in deployments("modelscope")}
        assert all(d.parameters["modelscope_credentials"] == by_id for d in served.values())
        (trigger,) = served["after-training"].triggers
        assert trigger.parameters is not None
        assert trigger.parameters["modelscope_credentials"]["$ref"] == {
            "block_document_slug": "modelscope-credentials/modelscope"
        }
        with pytest.raises(CredentialsBlockMissing, match="create it first"):
            deployments("no-such-block")
