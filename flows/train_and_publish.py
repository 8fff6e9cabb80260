"""An example training flow: writes a tiny model folder, then publishes it.

Run directly (or as a subflow) it publishes with `publish_model` as a subflow. Run as a
deployment it emits `modelscope.training.completed` instead, carrying the model id and folder,
and the `publish-model/after-training` deployment's trigger publishes it: training and
publishing then run (and retry) as separate flow runs.
"""

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

from flows.events import TRAINING_COMPLETED, emit_model_event
from flows.publish.flow import publish_model
from flows.publish.request import NAME, REF, PublishRequest, checked_model_id, checked_tag
from flows.snapshot.form import OptionalText, document_parameters, form_field
from hub_tasks import ModelScopeCredentials, PushResult
from hub_tasks.prefect.runtime import run_logger


class PublishMode(str, Enum):
    """How the trained folder gets published."""

    auto = "auto"  # event when running as a deployment, subflow otherwise
    subflow = "subflow"
    event = "event"
    none = "none"


EXAMPLE_MODELS_DIR = "~/.prefect-modelscope/models"


def example_model_dir(model_id: str) -> str:
    """Where the example writes a model, as a deployment parameter: `~` stays for the worker to expand.

    Example:
        >>> example_model_dir("alice/tiny-model")
        '~/.prefect-modelscope/models/alice--tiny-model'
    """
    return f"{EXAMPLE_MODELS_DIR}/{model_id.replace('/', '--')}"


def default_output_dir(model_id: str) -> Path:
    """Where the example writes its model when no folder is given: a stable folder per model in the
    user's home (beside the snapshots), not a shared temp folder."""
    return Path(example_model_dir(model_id)).expanduser()


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


def train(model_id: str, output_dir: Path, epochs: int, seed: int) -> dict[str, float]:
    """ "Train": a seeded random walk over a small weight vector; writes the model folder."""
    rng = random.Random(f"{model_id}:{seed}")
    weights = array("f", (rng.gauss(0, 0.02) for _ in range(4096)))
    loss = 1.0
    for epoch in range(epochs):
        loss *= 0.6 + 0.1 * rng.random()
        for i in range(0, len(weights), 97):
            weights[i] += rng.gauss(0, 0.01) * (epoch + 1)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_safetensors(output_dir / "model.safetensors", {"dense.weight": weights})
    (output_dir / "configuration.json").write_text(
        json.dumps({"framework": "pytorch", "task": "text-classification", "model": {"type": "tiny-demo"}}, indent=2)
    )
    (output_dir / "README.md").write_text(
        f"# {model_id}\n\nA tiny demo model trained by the prefect-modelscope example flow.\n\n"
        f"- epochs: {epochs}\n- seed: {seed}\n- final loss: {loss:.4f}\n"
    )
    return {"loss": round(loss, 6), "epochs": epochs}


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
    """Train a tiny model, then publish it (as a subflow, or through an event when deployed).

    Returns:
        The subflow's `PushResult`, or None when publishing is left to the event trigger.
    """
    folder = Path(output_dir).expanduser() if output_dir else default_output_dir(model_id)
    folder_asset = Asset(key=folder.resolve().as_uri())

    @materialize(folder_asset, by="prefect-modelscope-example", cache_policy=NO_CACHE, name="Train the model")
    def train_step() -> dict[str, float]:
        return train(model_id, folder, epochs, seed)

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
