"""Serve the project's deployments from one long-running process, for setups without a work pool.

    python deployments/serve.py [--credentials-block modelscope] [--owners alice my-org]

The same six deployments as deployments/prefect.yaml: snapshot-revisions/nightly (cron),
publish-model/after-training (triggered by modelscope.training.completed), publish-model/manual
(run from the UI), publish-dataset/when-ready (triggered by modelscope.dataset.ready),
publish-dataset/manual (run from the UI) and train-and-publish/example.

`pause_on_shutdown=False`, deliberately: with Prefect's default, stopping this process (an
upgrade, a crash, a reboot) pauses the nightly schedule, and the audit silently stops until
someone resumes it in the UI. Left unpaused, runs due while the process is down show up as Late
in the UI (a visible signal) and the schedule continues once the process is back.
"""

from __future__ import annotations

import argparse

from prefect import serve
from prefect.events import DeploymentEventTrigger
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from flows.events import DATASET_READY, TRAINING_COMPLETED
from flows.publish.flow import DatasetPublishRequest, PublishRequest, publish_dataset, publish_model
from flows.snapshot.flow import snapshot_revisions
from flows.train_and_publish import PublishMode, example_dataset_dir, example_model_dir, train_and_publish
from hub_tasks.prefect.references import credentials_reference, hub_identity

# The runs import the flows by module path (`flows.publish.flow.publish_model`), as installed: a file-path
# entrypoint is relative to the working directory, which an installed package is not under.
MODULE = EntrypointType.MODULE_PATH


def credentials_ref(block_name: str) -> dict:
    """A parameter value that makes Prefect load the credentials block at run time, by its document id.

    By id rather than by name, so the run form's block selector shows the block (see
    hub_tasks.prefect.references); a missing block stops `serve` here, before anything is deployed.
    """
    return credentials_reference(block_name)["parameter"]


def credentials_by_name(block_name: str) -> dict:
    """The same reference by name: trigger parameters are rendered when the event arrives."""
    return {"$ref": {"block_document_slug": f"modelscope-credentials/{block_name}"}}


def deployments(block_name: str = "modelscope", owners: list[str] | None = None) -> list:
    """The six deployments, as `RunnerDeployment`s for `serve`: the nightly snapshot covers `owners` (by
    default MODELSCOPE_SNAPSHOT_OWNERS, else the block's own user), the examples publish to the block's user."""
    credentials = credentials_ref(block_name)
    identity = hub_identity(block_name)
    owners = owners or identity["owners"]
    example_model = f"{identity['user']}/tiny-model"
    example_dataset = f"{identity['user']}/tiny-dataset"
    return [
        snapshot_revisions.to_deployment(
            name="nightly",
            entrypoint_type=MODULE,
            tags=["modelscope", "audit"],
            schedules=[Cron("0 3 * * *", timezone="Asia/Shanghai")],
            parameters={"owners": owners, "modelscope_credentials": credentials},
        ),
        publish_model.to_deployment(
            name="after-training",
            entrypoint_type=MODULE,
            tags=["modelscope", "publish"],
            parameters={"modelscope_credentials": credentials},
            triggers=[
                DeploymentEventTrigger(
                    expect={TRAINING_COMPLETED},
                    match={"prefect.resource.id": "modelscope.model.*"},
                    parameters={
                        "request": {
                            "model_id": "{{ event.payload.model_id }}",
                            "model_dir": "{{ event.payload.model_dir }}",
                            "tag": "{{ (event.payload.tag or '') }}",
                            "commit_message": (
                                "{{ event.payload.commit_message or ('publish after training run ' ~ "
                                "event.payload.flow_run_name if event.payload.flow_run_name else "
                                "'publish after training') }}"
                            ),
                        },
                        "modelscope_credentials": credentials_by_name(block_name),
                    },
                )
            ],
        ),
        publish_model.to_deployment(
            name="manual",
            entrypoint_type=MODULE,
            tags=["modelscope", "publish"],
            parameters={
                "request": PublishRequest(
                    model_id=example_model, model_dir=example_model_dir(example_model)
                ).model_dump(mode="json"),
                "modelscope_credentials": credentials,
            },
        ),
        publish_dataset.to_deployment(
            name="when-ready",
            entrypoint_type=MODULE,
            tags=["modelscope", "publish", "dataset"],
            parameters={"modelscope_credentials": credentials},
            triggers=[
                DeploymentEventTrigger(
                    expect={DATASET_READY},
                    match={"prefect.resource.id": "modelscope.dataset.*"},
                    parameters={
                        "request": {
                            "dataset_id": "{{ event.payload.dataset_id }}",
                            "dataset_dir": "{{ event.payload.dataset_dir }}",
                            "tag": "{{ (event.payload.tag or '') }}",
                            "commit_message": (
                                "{{ event.payload.commit_message or 'publish when the dataset was ready' }}"
                            ),
                        },
                        "modelscope_credentials": credentials_by_name(block_name),
                    },
                )
            ],
        ),
        publish_dataset.to_deployment(
            name="manual",
            entrypoint_type=MODULE,
            tags=["modelscope", "publish", "dataset"],
            parameters={
                "request": DatasetPublishRequest(
                    dataset_id=example_dataset, dataset_dir=example_dataset_dir(example_dataset)
                ).model_dump(mode="json"),
                "modelscope_credentials": credentials,
            },
        ),
        train_and_publish.to_deployment(
            name="example",
            entrypoint_type=MODULE,
            tags=["modelscope", "example"],
            parameters={
                "model_id": example_model,
                "publish": PublishMode.auto.value,
                "modelscope_credentials": credentials,
            },
        ),
    ]


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--credentials-block", default="modelscope", help="name of the ModelScopeCredentials block")
    parser.add_argument(
        "--owners",
        nargs="+",
        help="owners the nightly snapshot covers (default: MODELSCOPE_SNAPSHOT_OWNERS, else the block's user)",
    )
    args = parser.parse_args()
    serve(*deployments(args.credentials_block, args.owners), pause_on_shutdown=False)


if __name__ == "__main__":
    main()
