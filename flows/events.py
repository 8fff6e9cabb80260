"""The Prefect event names and resource ids the flows emit, in one place.

Deployment triggers (`deployments/prefect.yaml`) match these strings; a test checks they agree.
"""

from __future__ import annotations

from typing import Any

from prefect.events import emit_event

PREFIX = "modelscope"
MODEL_PUBLISHED = f"{PREFIX}.model.published"
TRAINING_COMPLETED = f"{PREFIX}.training.completed"


def change_event(kind: str) -> str:
    """The event name of a snapshot change kind.

    Example:
        >>> change_event("tag.moved")
        'modelscope.tag.moved'
    """
    return f"{PREFIX}.{kind}"


def model_resource(model_id: str, **labels: str) -> dict[str, str]:
    """The event resource of one model: `modelscope.model.<owner>/<name>`, named after it, plus `labels`.

    Example:
        >>> model_resource("alice/demo")["prefect.resource.id"]
        'modelscope.model.alice/demo'
    """
    return {"prefect.resource.id": f"{PREFIX}.model.{model_id}", "prefect.resource.name": model_id, **labels}


def model_asset_key(model_id: str) -> str:
    """The Prefect asset key of a model.

    Example:
        >>> model_asset_key("alice/demo")
        'modelscope://alice/demo'
    """
    return f"{PREFIX}://{model_id}"


def emit_model_event(event: str, model_id: str, payload: dict[str, Any], **labels: str) -> None:
    """Emit `event` about one model."""
    emit_event(event=event, resource=model_resource(model_id, **labels), payload=payload)
