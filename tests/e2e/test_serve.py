"""deployments/serve.py end to end: the four deployments served by one process (`serve()`, no work pool)
on a real Prefect server, run from the form, from a training event, and on the nightly schedule's flow.

This module is the floor tier's deployment test (`python3 dev.py test-prefect-floor`): `serve()` and the
module-path entrypoints it gives the runs work on every Prefect the project supports, where
deployments/prefect.yaml's module-path entrypoints need Prefect 3.6.23.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.deployments import run_deployment

from hub_tasks import HubClient
from tests.helpers.folders import make_folder, manifest, remote
from tests.helpers.hub import RunningHub
from tests.helpers.polling import wait_for
from tests.helpers.stack import DEMO_TOKEN, PrefectStack, api, finished_publish, running_server, served_deployments

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def served(hub_process: RunningHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    """A Prefect server, the credentials block, and `deployments/serve.py` serving against it."""
    with (
        running_server(hub_process, tmp_path_factory.mktemp("prefect-serve")) as stack,
        served_deployments(stack, "--credentials-block", "modelscope", "--owners", "demo"),
    ):
        yield stack


def test_served_deployments_import_their_flows_by_module_path(served: PrefectStack) -> None:
    with api(served) as client:
        for name, entrypoint in {
            "publish-model/manual": "flows.publish.flow.publish_model",
            "snapshot-revisions/nightly": "flows.snapshot.flow.snapshot_revisions",
        }.items():
            assert client.read_deployment_by_name(name).entrypoint == entrypoint


def test_served_manual_publish_runs_with_form_parameters(served: PrefectStack, hub: RunningHub, tmp_path) -> None:
    folder = make_folder(tmp_path / "manual", {"weights.bin": b"\x01" * 100_000})
    request = {"model_id": "demo/served-model", "model_dir": str(folder), "tag": "v1"}
    with api(served):
        run = run_deployment(
            "publish-model/manual", parameters={"request": request}, timeout=240, poll_interval=1, as_subflow=False
        )
    assert run.state is not None and run.state.is_completed(), run.state
    with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as client:
        assert remote(client, "demo/served-model", "v1") == manifest(folder)


def test_served_after_training_publishes_when_the_training_event_arrives(
    served: PrefectStack, hub: RunningHub, tmp_path
) -> None:
    out = tmp_path / "tiny-model"
    with api(served) as client:
        training = run_deployment(
            "train-and-publish/example",
            parameters={"output_dir": str(out), "tag": "v2"},
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
    with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as hub_client:
        files = {f.path for f in hub_client.get_model_files("demo/tiny-model", "v2", recursive=True)}
    assert files == {"configuration.json", "model.safetensors", "README.md"}


def test_an_event_without_a_run_name_still_gives_a_whole_commit_message(
    served: PrefectStack, hub: RunningHub, tmp_path
) -> None:
    """The README's emit_event, run as a script of its own, sends no flow_run_name: the commit message is then
    'publish after training'."""
    folder = make_folder(tmp_path / "from-event", {"weights.bin": b"\x02" * 50_000})
    script = (
        "import sys; from prefect.events import emit_event; emit_event("
        "event='modelscope.training.completed', resource={'prefect.resource.id': 'modelscope.model.demo/from-event'},"
        " payload={'model_id': 'demo/from-event', 'model_dir': sys.argv[1], 'tag': 'v1'})"
    )
    subprocess.run([sys.executable, "-c", script, str(folder)], env=served.env, check=True, timeout=120)
    with api(served) as client:
        run = wait_for(
            lambda: finished_publish(client, "publish-model/after-training", folder),
            "the publish the event triggered",
            timeout=180,
            interval=0.5,
        )
    assert run.state is not None and run.state.is_completed(), run.state
    assert run.parameters["request"]["commit_message"] == "publish after training"
    with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as client:
        (head,) = client.list_commits("demo/from-event", "v1", 1, 1)
    assert head.message == "publish after training"


def test_served_defaults_fit_the_blocks_own_user(served: PrefectStack) -> None:
    """No demo account baked in: the nightly snapshot covers the block's user, the examples publish there."""
    with api(served) as client:
        assert client.read_deployment_by_name("snapshot-revisions/nightly").parameters["owners"] == ["demo"]
        manual = client.read_deployment_by_name("publish-model/manual").parameters["request"]
        assert (manual["model_id"], manual["model_dir"]) == (
            "demo/tiny-model", "~/.prefect-modelscope/models/demo--tiny-model",
        )  # fmt: skip
        assert client.read_deployment_by_name("train-and-publish/example").parameters["model_id"] == "demo/tiny-model"


def test_served_nightly_snapshot_reads_the_owners_models(served: PrefectStack, hub: RunningHub, tmp_path) -> None:
    with HubClient(endpoint=hub.url, token=DEMO_TOKEN) as client:
        client.create_model("demo/audited")
    with api(served):
        run = run_deployment(
            "snapshot-revisions/nightly",
            parameters={"snapshot_dir": str(tmp_path)},
            timeout=240,
            poll_interval=1,
            as_subflow=False,
        )
    assert run.state is not None and run.state.is_completed(), run.state
    (snapshot,) = Path(tmp_path).glob("snapshot-*.json")
    assert set(json.loads(snapshot.read_text())["models"]) == {"demo/audited"}
