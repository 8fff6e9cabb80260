"""An example training flow: downloads a dataset (when given one), trains a tiny model on its files, then
publishes the model.

Run directly (or as a subflow) it publishes with `publish_model` as a subflow. Run as a
deployment it emits `modelscope.training.completed` instead, carrying the model id and folder,
and the `publish-model/after-training` deployment's trigger publishes it: training and
publishing then run (and retry) as separate flow runs.

Lineage: the training step materializes the model folder's asset with the dataset's asset
(`modelscope://datasets/owner/name`) upstream, and the publish materializes the model's asset
(`modelscope://owner/name`) with that folder upstream, so Prefect records dataset -> folder -> model.
"""

import hashlib
import json
import random
import struct
from array import array
from enum import Enum
from pathlib import Path
from typing import Annotated

from prefect import flow, runtime
from prefect.assets import Asset, materialize
from prefect.cache_policies import NO_CACHE
from pydantic import AfterValidator

from flows.events import TRAINING_COMPLETED, asset_key, emit_model_event
from flows.publish.flow import publish_model
from flows.publish.request import NAME, REF, PublishRequest, checked_model_id, checked_tag
from flows.snapshot.form import OptionalText, document_parameters, form_field
from hub_tasks import DownloadResult, ModelScopeCredentials, PushResult, download_dataset
from hub_tasks.prefect.runtime import run_logger
from hub_tasks.push.plan import managed


def checked_dataset_id(value: str) -> str:
    """`value` when it is empty (no dataset) or a valid "owner/name", else an `InvalidParameter` (a ValueError)."""
    return checked_model_id(value, "train_and_publish") if value else value


class PublishMode(str, Enum):
    """How the trained folder gets published."""

    auto = "auto"  # event when running as a deployment, subflow otherwise
    subflow = "subflow"
    event = "event"
    none = "none"


EXAMPLE_HOME = "~/.prefect-modelscope"


def example_model_dir(model_id: str) -> str:
    """Where the example writes a model, as a deployment parameter: `~` stays for the worker to expand.

    Example:
        >>> example_model_dir("alice/tiny-model")
        '~/.prefect-modelscope/models/alice--tiny-model'
    """
    return f"{EXAMPLE_HOME}/models/{model_id.replace('/', '--')}"


def example_dataset_dir(dataset_id: str) -> str:
    """Where the example dataset's own files are kept (what `publish-dataset/manual` publishes), as a deployment
    parameter.

    Example:
        >>> example_dataset_dir("alice/tiny-dataset")
        '~/.prefect-modelscope/datasets/alice--tiny-dataset'
    """
    return f"{EXAMPLE_HOME}/datasets/{dataset_id.replace('/', '--')}"


def default_output_dir(model_id: str) -> Path:
    """Where the example writes its model when no folder is given: a stable folder per model in the
    user's home (beside the snapshots), not a shared temp folder."""
    return Path(example_model_dir(model_id)).expanduser()


def default_data_dir(dataset_id: str) -> Path:
    """Where the training downloads a dataset when no folder is given: apart from the folder the dataset is
    published from, so a download never adds the hub's files to it."""
    return Path(f"{EXAMPLE_HOME}/downloads/{dataset_id.replace('/', '--')}").expanduser()


def read_dataset(download: DownloadResult) -> tuple[bytes, int]:
    """The downloaded revision's data files (the hub's own dot files left out), read in path order: a digest of
    paths and bytes, and how many non-empty lines they hold (the "examples")."""
    digest, examples = hashlib.sha256(), 0
    for file in sorted(download.files, key=lambda f: f.path):
        if not managed(file.path):
            continue
        data = (Path(download.local_dir) / file.path).read_bytes()
        digest.update(file.path.encode() + b"\0" + data)
        examples += sum(1 for line in data.splitlines() if line.strip())
    return digest.digest(), examples


def write_safetensors(path: Path, tensors: dict[str, array]) -> None:
    """Write float32 tensors in the safetensors layout: 8-byte header size, JSON header, raw data."""
    header, offset, blobs = {}, 0, []
    for name, values in tensors.items():
        raw = values.tobytes()
        header[name] = {"dtype": "F32", "shape": [len(values)], "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the format pads the header to 8 bytes
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def train(
    model_id: str, output_dir: Path, epochs: int, seed: int, data: DownloadResult | None = None
) -> dict[str, float]:
    """ "Train": a seeded random walk over a small weight vector, seeded by the dataset's bytes too when there
    is one (same data and seed, same weights); writes the model folder."""
    digest, examples = read_dataset(data) if data is not None else (b"", 0)
    rng = random.Random(f"{model_id}:{seed}" + (f":{digest.hex()}" if data is not None else ""))
    weights = array("f", (rng.gauss(0, 0.02) for _ in range(4096)))
    loss = 1.0
    for epoch in range(epochs):
        loss *= 0.6 + 0.1 * rng.random() - 0.05 * min(examples, 100) / 100
        for i in range(0, len(weights), 97):
            weights[i] += rng.gauss(0, 0.01) * (epoch + 1)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_safetensors(output_dir / "model.safetensors", {"dense.weight": weights})
    (output_dir / "configuration.json").write_text(
        json.dumps({"framework": "pytorch", "task": "text-classification", "model": {"type": "tiny-demo"}}, indent=2)
    )
    trained_on = f"- dataset: {data.model_id} at {data.commit_id} ({examples} examples)\n" if data is not None else ""
    (output_dir / "README.md").write_text(
        f"# {model_id}\n\nA tiny demo model trained by the prefect-modelscope example flow.\n\n"
        f"- epochs: {epochs}\n- seed: {seed}\n{trained_on}- final loss: {loss:.4f}\n"
    )
    return {"loss": round(loss, 6), "epochs": epochs, **({"examples": examples} if data is not None else {})}


@flow(name="train-and-publish")
@document_parameters
def train_and_publish(
    # Constraints go in Annotated (Prefect drops those of a `Field(...)` default on a direct call), and the
    # publish's own rules apply here, so that a bad id or tag fails before training, not after it. Labels and
    # help reach the run form through `form_field` and the generated docstring (see flows/snapshot/form.py).
    model_id: Annotated[
        str,
        form_field(
            "Model ID", "Hub id to publish to, as owner/name, e.g. alice/my-model.", pattern=rf"^{NAME}/{NAME}$"
        ),
        AfterValidator(checked_model_id),
    ] = "demo/tiny-model",
    # Optional texts are plain text, empty for none (None from Python callers reads as empty).
    output_dir: Annotated[
        OptionalText,
        form_field(
            "Output folder",
            "Folder the training writes; empty for ~/.prefect-modelscope/models/OWNER--NAME on the worker.",
            form_default="",
        ),
    ] = None,
    dataset_id: Annotated[
        OptionalText,
        form_field(
            "Dataset ID",
            "Hub dataset to train on, as owner/name, e.g. alice/my-dataset; empty to train without one.",
            form_default="",
            pattern=rf"^$|^{NAME}/{NAME}$",
        ),
        AfterValidator(checked_dataset_id),
    ] = None,
    data_dir: Annotated[
        OptionalText,
        form_field(
            "Data folder",
            "Folder the dataset is downloaded to; empty for ~/.prefect-modelscope/downloads/OWNER--NAME on the worker.",
            form_default="",
        ),
    ] = None,
    epochs: Annotated[int, form_field("Epochs", "Training epochs.", ge=1, le=100)] = 2,
    seed: Annotated[int, form_field("Seed", "Random seed (same seed, same weights).")] = 0,
    tag: Annotated[
        OptionalText,
        form_field(
            "Tag", "Tag the published commit, e.g. v1.0; empty for no tag.", form_default="", pattern=rf"^$|{REF}"
        ),
        AfterValidator(checked_tag),
    ] = None,
    publish: Annotated[
        PublishMode,
        form_field(
            "Publish how",
            "How the trained folder is published: auto sends an event when running as a deployment (the "
            "after-training deployment then publishes) and runs a subflow otherwise; subflow, event and none "
            "choose one way.",
        ),
    ] = PublishMode.auto,
    modelscope_credentials: Annotated[
        ModelScopeCredentials | None,
        form_field(
            "ModelScope credentials",
            "The ModelScope credentials block for the publish; empty for the MODELSCOPE_API_TOKEN and "
            "MODELSCOPE_ENDPOINT environment variables.",
        ),
    ] = None,
) -> PushResult | None:
    """Train a tiny model (on a hub dataset, when given one), then publish it (as a subflow, or through an event
    when deployed).

    Returns:
        The subflow's `PushResult`, or None when publishing is left to the event trigger.
    """
    folder = Path(output_dir).expanduser() if output_dir else default_output_dir(model_id)
    folder_asset = Asset(key=folder.resolve().as_uri())
    data, upstream = None, []
    if dataset_id:
        local = Path(data_dir).expanduser() if data_dir else default_data_dir(dataset_id)
        data = download_dataset(dataset_id, str(local), modelscope_credentials=modelscope_credentials)
        upstream = [Asset(key=asset_key("dataset", dataset_id))]

    @materialize(
        folder_asset,
        by="prefect-modelscope-example",
        asset_deps=upstream,  # the dataset the training read: the model's lineage starts there
        cache_policy=NO_CACHE,
        name="Train the model",
    )
    def train_step() -> dict[str, float]:
        return train(model_id, folder, epochs, seed, data)

    metrics = train_step()
    run_logger().info("trained %s into %s: %s", model_id, folder, metrics)
    mode = publish
    if mode is PublishMode.auto:
        mode = PublishMode.event if runtime.deployment.id else PublishMode.subflow
    if mode is PublishMode.event:
        emit_model_event(
            TRAINING_COMPLETED,
            model_id,
            {
                "model_id": model_id,
                "model_dir": str(folder),
                "tag": tag,
                "metrics": metrics,
                "flow_run_name": runtime.flow_run.name or "",
            },
        )
        return None
    if mode is PublishMode.subflow:
        return publish_model(PublishRequest(model_id=model_id, model_dir=str(folder), tag=tag), modelscope_credentials)
    return None
