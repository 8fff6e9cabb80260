"""A deployment's credentials parameter by block document id, resolved at deploy time.

A deployment parameter written as `{"$ref": {"block_document_slug": "modelscope-credentials/NAME"}}`
loads the block at run time, but the Prefect UI's block selector cannot show a slug: the run form's
credentials field looks empty although a block will be used. The same reference by document id,
`{"$ref": {"block_document_id": "<uuid>"}}`, is what the selector itself writes, so the form shows the
block by name. The id is looked up when the deployment is created, which also makes a missing block
fail the deploy instead of the first run.

In deployments/prefect.yaml the whole parameter is one template, `"{{ credentials.parameter }}"`, filled
from this build step's output. It must not be written as a literal `$ref: {block_document_id: ...}`:
`prefect deploy` replaces such a reference with the block's data before it creates the deployment,
which would copy the token into the deployment's parameters.
"""

from __future__ import annotations

from typing import Any

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

BLOCK_TYPE_SLUG = "modelscope-credentials"


class CredentialsBlockMissing(LookupError):
    """No `ModelScopeCredentials` block has the name a deployment refers to."""


def credentials_reference(block_name: str = "modelscope") -> dict[str, Any]:
    """The deployment parameter that loads the `ModelScopeCredentials` block `block_name` by document id.

    It is also a `prefect deploy` build step: deployments/prefect.yaml runs it with `id: credentials` and
    sets `modelscope_credentials: "{{ credentials.parameter }}"`. Only the document's id is read, never
    its secrets.

    Args:
        block_name: Name the block was saved under.

    Returns:
        `{"parameter": {"$ref": {"block_document_id": "<uuid>"}}, "block_document_id": "<uuid>"}`.

    Raises:
        CredentialsBlockMissing: There is no such block on the Prefect server yet.

    Example:
        ```python
        from hub_tasks.prefect.references import credentials_reference

        parameters = {"modelscope_credentials": credentials_reference("modelscope")["parameter"]}
        ```
    """
    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(
                name=block_name, block_type_slug=BLOCK_TYPE_SLUG, include_secrets=False
            )
        except ObjectNotFound:
            raise CredentialsBlockMissing(
                f"no ModelScopeCredentials block named {block_name!r} on this Prefect server: create it first "
                "(README, Credentials), then deploy again"
            ) from None
    block_document_id = str(document.id)
    return {"parameter": {"$ref": {"block_document_id": block_document_id}}, "block_document_id": block_document_id}
