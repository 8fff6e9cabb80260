"""What the server says about the deployments whose run forms the tier opens: their ids, the block they name.

Only ids and the block come from here. What the pages must show (labels, help texts) is written out in
`ui_tests.expected`, never read from the deployment's schema: the schema is the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

PUBLISH = "publish-model/manual"
SNAPSHOT = "snapshot-revisions/nightly"
CREDENTIALS_TYPE = "modelscope-credentials"


@dataclass(frozen=True)
class Deployments:
    """The facts the pages are opened with.

    Attributes:
        publish_id: The id of publish-model/manual (its run form's URL holds it).
        snapshot_id: The id of snapshot-revisions/nightly.
        block_name: Name of the credentials block the publish deployment's parameters name, if they name one.
        block_id: That block document's id.
    """

    publish_id: UUID
    snapshot_id: UUID
    block_name: str | None
    block_id: UUID | None


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


def read_deployments(client: SyncPrefectClient) -> Deployments:
    """Read both deployments and the block the publish deployment names.

    Args:
        client: A client of the stack's Prefect server.

    Returns:
        Their ids, and the credentials block's name and id.
    """
    publish = client.read_deployment_by_name(PUBLISH)
    name, block_id = _named_block(client, publish.parameters.get("modelscope_credentials"))
    return Deployments(publish.id, client.read_deployment_by_name(SNAPSHOT).id, name, block_id)


def run_ids(client: SyncPrefectClient, deployment_id: UUID) -> set[UUID]:
    """Ids of every flow run of the deployment (to prove that a refused submit created none)."""
    only = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    return {run.id for run in client.read_flow_runs(deployment_filter=only, limit=200)}
