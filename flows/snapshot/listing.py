"""Listing every model of an owner for a snapshot: the first page gives the total, then the other pages
are fetched in parallel, and the result is checked to be complete and consistent.

On a real network each page costs a round trip; an owner with 2,000 models has 20 pages, 0.6 s one
after another at 30 ms each, and about two round trips in parallel. Offset paging is not a stable view:
a model created or deleted while the pages are read shifts the others. Parallel pages shorten that
window; the check below closes it: every page must report the same total, and the pages together must
hold exactly that many distinct models, or the listing is read again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from prefect import task

from flows.snapshot.reading import SNAPSHOT_TASK
from hub_tasks import HubClient, ListingLimitError, ModelInfo, ModelPage, ModelScopeCredentials
from hub_tasks.prefect.runtime import hub_client

PAGE_SIZE = 100  # the hub's largest page
ATTEMPTS = 3  # listings read when models keep being created or deleted while the pages are read


def _pages(client: HubClient, owner: str, concurrency: int, page_size: int) -> list[ModelPage]:
    """Every page of `owner`'s listing: the first, then the rest at most `concurrency` at a time."""
    first = client.list_models(owner, 1, page_size)
    client.require_complete_listing(owner, first.total_count, "list_models")
    count = -(-first.total_count // page_size)
    if count <= 1:
        return [first]
    with ThreadPoolExecutor(max(1, min(concurrency, count - 1)), thread_name_prefix="list-models") as pool:
        rest = list(pool.map(lambda number: client.list_models(owner, number, page_size), range(2, count + 1)))
    return [first, *rest]


def list_every_page(client: HubClient, owner: str, concurrency: int = 8, page_size: int = PAGE_SIZE) -> list[ModelInfo]:
    """Every model of `owner`, pages fetched in parallel once the total is known; never silently partial.

    Args:
        client: The hub client (its own retries apply to each page).
        owner: User or group.
        concurrency: Pages fetched at the same time.
        page_size: Models per page, 1..100.

    Returns:
        The owner's models in listing order, each once.

    Raises:
        ListingLimitError: More models than the hub can page through, or the listing changed while it
            was read, `ATTEMPTS` times in a row.

    Example:
        ```python
        with ModelScopeCredentials.load("BLOCK_NAME").get_client() as client:
            print(len(list_every_page(client, "alice", concurrency=16)))
        ```
    """
    seen = ""
    for _ in range(ATTEMPTS):
        pages = _pages(client, owner, concurrency, page_size)
        total = pages[0].total_count
        models = list({m.model_id: m for page in pages for m in page.models}.values())
        if len(models) == total and all(page.total_count == total for page in pages):
            return models
        seen = f"{len(models)} distinct models, totals {sorted({p.total_count for p in pages})}"
    raise ListingLimitError(
        f"the listing of {owner} changed while it was read, {ATTEMPTS} times in a row (last: {seen})",
        operation="list_models",
    )


@task(**{**SNAPSHOT_TASK, "name": "List an owner's models"})
def list_owner_models(
    owner: str, concurrency: int = 8, modelscope_credentials: ModelScopeCredentials | None = None
) -> list[ModelInfo]:
    """Every model of `owner` (see `list_every_page`), with the hub tasks' retry policy.

    Example:
        ```python
        @flow
        def count(owner: str) -> int:
            return len(list_owner_models(owner, 16, ModelScopeCredentials.load("BLOCK_NAME")))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return list_every_page(client, owner, concurrency)
