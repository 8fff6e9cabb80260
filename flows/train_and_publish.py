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
from pydantic import AfterValidator, Field

from flows.events import TRAINING_COMPLETED, emit_model_event
from flows.publish.flow import publish_model
from flows.publish.request import NAME, REF, PublishRequest, checked_model_id, checked_tag
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
def train_and_publish(
    # Constraints go in Annotated (Prefect drops those of a `Field(...)` default on a direct call), and the
    # publish's own rules apply here, so that a bad id or tag fails before training, not after it.
    model_id: Annotated[
        str,
        Field(pattern=rf"^{NAME}/{NAME}$", description="Hub id, owner/name."),
        AfterValidator(checked_model_id),
    ] = "demo/tiny-model",
    output_dir: Annotated[
        str | None,
        Field(description="Folder to write; ~/.prefect-modelscope/models/OWNER--NAME on the worker if empty."),
    ] = None,
    epochs: Annotated[int, Field(ge=1, le=100, description="Training epochs.")] = 2,
    seed: Annotated[int, Field(description="Random seed (same seed, same weights).")] = 0,
    tag: Annotated[
        str | None,
        Field(pattern=REF, description="Tag the published commit, e.g. v1.0."),
        AfterValidator(checked_tag),
    ] = None,
    publish: Annotated[PublishMode, Field(description="Subflow, event, both by context, or none.")] = PublishMode.auto,
    modelscope_credentials: ModelScopeCredentials | None = None,
) -> PushResult | None:
    """Train a tiny model, then publish it (as a subflow, or through an event when deployed).

    Args:
        model_id: Where to publish.
        output_dir: The folder training writes.
        epochs: Training epochs.
        seed: Random seed.
        tag: Tag for the published commit.
        publish: `auto` emits `modelscope.training.completed` when running as a deployment and runs
            `publish_model` as a subflow otherwise.
        modelscope_credentials: Credentials block for the subflow.

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
