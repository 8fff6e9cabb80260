"""The Prefect event names, resource ids and asset keys the flows use, in one place, for both repo types.

Deployment triggers (`deployments/prefect.yaml`, `deployments/serve.py`) match these strings. A model and
a dataset differ here only in the type's word in the names and the asset key's path segment
(`ASSET_SEGMENT`); everything else is built the same way from the repo type.
"""

from __future__ import annotations

from typing import Any

from prefect.events import emit_event

from hub_tasks.repo_types import RepoType

PREFIX = "modelscope"
# A model's asset key keeps the form it had before datasets (modelscope://owner/name); a dataset's carries
# a segment, so a model and a dataset of the same name never share a key.
ASSET_SEGMENT: dict[RepoType, str] = {"model": "", "dataset": "datasets/"}


def published_event(repo_type: RepoType) -> str:
    """The event a publish that changed the hub emits.

    Example:
        >>> published_event("dataset")
        'modelscope.dataset.published'
    """
    return f"{PREFIX}.{repo_type}.published"


MODEL_PUBLISHED = published_event("model")
DATASET_PUBLISHED = published_event("dataset")
TRAINING_COMPLETED = f"{PREFIX}.training.completed"
# Sent by whatever prepares a dataset folder; the `publish-dataset/when-ready` deployment's trigger publishes it.
DATASET_READY = f"{PREFIX}.dataset.ready"


def change_event(kind: str) -> str:
    """The event name of a snapshot change kind.

    Example:
        >>> change_event("tag.moved")
        'modelscope.tag.moved'
    """
    return f"{PREFIX}.{kind}"


def repo_resource(repo_type: RepoType, repo_id: str, **labels: str) -> dict[str, str]:
    """The event resource of one repo: `modelscope.<type>.<owner>/<name>`, named after it, plus `labels`.

    Example:
        >>> repo_resource("dataset", "alice/corpus")["prefect.resource.id"]
        'modelscope.dataset.alice/corpus'
    """
    return {"prefect.resource.id": f"{PREFIX}.{repo_type}.{repo_id}", "prefect.resource.name": repo_id, **labels}


def model_resource(model_id: str, **labels: str) -> dict[str, str]:
    """The event resource of one model: `modelscope.model.<owner>/<name>`, named after it, plus `labels`.

    Example:
        >>> model_resource("alice/demo")["prefect.resource.id"]
        'modelscope.model.alice/demo'
    """
    return repo_resource("model", model_id, **labels)


def asset_key(repo_type: RepoType, repo_id: str) -> str:
    """The Prefect asset key of a repo.

    Example:
        >>> asset_key("model", "alice/demo"), asset_key("dataset", "alice/corpus")
        ('modelscope://alice/demo', 'modelscope://datasets/alice/corpus')
    """
    return f"{PREFIX}://{ASSET_SEGMENT[repo_type]}{repo_id}"


def model_asset_key(model_id: str) -> str:
    """The Prefect asset key of a model.

    Example:
        >>> model_asset_key("alice/demo")
        'modelscope://alice/demo'
    """
    return asset_key("model", model_id)


def emit_repo_event(event: str, repo_type: RepoType, repo_id: str, payload: dict[str, Any], **labels: str) -> None:
    """Emit `event` about one repo."""
    emit_event(event=event, resource=repo_resource(repo_type, repo_id, **labels), payload=payload)


def emit_model_event(event: str, model_id: str, payload: dict[str, Any], **labels: str) -> None:
    """Emit `event` about one model."""
    emit_repo_event(event, "model", model_id, payload, **labels)
