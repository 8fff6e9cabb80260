"""What the server says about the `publish-model/manual` deployment: the form's schema, the block it names.

The browser checks compare the page with these facts, so a label or help text is checked against
what the code declares (the deployment's parameter schema), not against a copy kept here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

DEPLOYMENT = "publish-model/manual"
CREDENTIALS_TYPE = "modelscope-credentials"


@dataclass(frozen=True)
class Section:
    """One pydantic-model parameter of the flow, as the form's schema describes it.

    Attributes:
        title: The label of the parameter's own group in the form (its schema title, else its name).
        fields: Field name -> its schema property (`title`, `description`, constraints), in schema order.
    """

    title: str
    fields: dict[str, dict[str, Any]]

    def title_of(self, key: str) -> str:
        """The label the form shows for field `key` (pydantic always writes a title; the name otherwise)."""
        return self.fields[key].get("title", key)

    def key_of(self, label: str) -> str | None:
        """The field whose title is `label`, if any."""
        return next((key for key in self.fields if self.title_of(key) == label), None)


@dataclass(frozen=True)
class FormSpec:
    """The deployment's facts the browser checks need.

    Attributes:
        deployment_id: The deployment's id (the run form's URL holds it).
        request: The `request` parameter (`PublishRequest`).
        lock: The `lock` parameter (`PublishLock`).
        credentials_title: The label of the `modelscope_credentials` parameter's group.
        block_name: Name of the credentials block the deployment's parameters name, if they name one.
        block_id: That block document's id.
    """

    deployment_id: UUID
    request: Section
    lock: Section
    credentials_title: str
    block_name: str | None
    block_id: UUID | None


def _definition(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """The definition a property's `$ref` points at (empty without one)."""
    ref = prop.get("$ref")
    return schema["definitions"][ref.rsplit("/", 1)[-1]] if ref else {}


def _section(schema: dict[str, Any], parameter: str) -> Section:
    """The schema of a model-typed parameter, with its `$ref` resolved to the model's definition; a field
    that is itself a `$ref` (an enum) and has no title of its own is labelled with the definition's."""
    prop = schema["properties"][parameter]
    fields = {}
    for key, field in _definition(schema, prop)["properties"].items():
        title = field.get("title") or _definition(schema, field).get("title")
        fields[key] = {**field, "title": title} if title else dict(field)
    return Section(prop.get("title", parameter), fields)


def _named_block(client: SyncPrefectClient, value: Any) -> tuple[str | None, UUID | None]:
    """(name, id) of the block a parameter value refers to: `{"$ref": {"block_document_slug": "type/name"}}`,
    `{"$ref": {"block_document_id": id}}` or `{"$ref": id}`; (None, None) for anything else."""
    ref = value.get("$ref") if isinstance(value, dict) else None
    if isinstance(ref, dict) and "block_document_slug" in ref:
        block_type, name = ref["block_document_slug"].split("/", 1)
        document = client.read_block_document_by_name(name, block_type)
        return document.name, document.id
    block_id = ref.get("block_document_id") if isinstance(ref, dict) else ref
    if block_id:
        document = client.read_block_document(UUID(str(block_id)))
        return document.name, document.id
    return None, None


def read_spec(client: SyncPrefectClient) -> FormSpec:
    """Read the deployment from the server.

    Args:
        client: A client of the stack's Prefect server.

    Returns:
        The sections, labels and credentials block the run form should show.
    """
    deployment = client.read_deployment_by_name(DEPLOYMENT)
    schema = deployment.parameter_openapi_schema or {}
    name, block_id = _named_block(client, deployment.parameters.get("modelscope_credentials"))
    credentials = schema["properties"]["modelscope_credentials"]
    return FormSpec(
        deployment_id=deployment.id,
        request=_section(schema, "request"),
        lock=_section(schema, "lock"),
        credentials_title=credentials.get("title", "modelscope_credentials"),
        block_name=name,
        block_id=block_id,
    )


def run_ids(client: SyncPrefectClient, deployment_id: UUID) -> set[UUID]:
    """Ids of every flow run of the deployment (to prove that a refused submit created none)."""
    only = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    return {run.id for run in client.read_flow_runs(deployment_filter=only, limit=200)}
