"""What a deployment needs from the credentials block, resolved at deploy time: the credentials parameter
by block document id, and whose models the deployments' defaults are about.

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

import os
import re
from typing import Any

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from hub_tasks.prefect.credentials import ModelScopeCredentials

BLOCK_TYPE_SLUG = "modelscope-credentials"
OWNERS_VARIABLE = "MODELSCOPE_SNAPSHOT_OWNERS"


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


def hub_identity(block_name: str = "modelscope") -> dict[str, Any]:
    """Whose models a project's deployments are about: the credentials block's own user, and the owners its
    nightly snapshot covers.

    Also a `prefect deploy` build step (deployments/prefect.yaml: `id: hub`): the nightly snapshot's
    `owners` are `"{{ hub.owners }}"`, and the examples publish to `"{{ hub.user }}/tiny-model"`, so the
    defaults fit whoever deploys, not one demo account. The owners are `MODELSCOPE_SNAPSHOT_OWNERS` when
    set at deploy time (names separated by commas or spaces, e.g. `alice,my-org`), else the block's user.

    Args:
        block_name: Name the block was saved under.

    Returns:
        `{"user": "<the token's user>", "owners": ["<owner>", ...]}`.

    Raises:
        CredentialsBlockMissing: There is no such block on the Prefect server yet.
        NotLoginError: The hub refuses the block's token.

    Example:
        ```python
        from hub_tasks.prefect.references import hub_identity

        print(hub_identity("modelscope")["owners"])
        ```
    """
    credentials_reference(block_name)  # the same clear error when the block is missing
    with ModelScopeCredentials.load(block_name).get_client() as client:
        user = client.login().username
    owners = [name for name in re.split(r"[\s,]+", os.environ.get(OWNERS_VARIABLE, "")) if name]
    return {"user": user, "owners": owners or [user]}
