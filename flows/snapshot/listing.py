"""Listing every repo of one type of an owner for a snapshot: the first page gives the total, then the
other pages are fetched in parallel, and the result is checked to be complete and consistent. Models and
datasets are listed by the same code; only the page call differs (`repos.CALLS`).

On a real network each page costs a round trip; an owner with 2,000 models has 20 pages, 0.6 s one
after another at 30 ms each, and about two round trips in parallel. Offset paging is not a stable view:
a repo created or deleted while the pages are read shifts the others. Parallel pages shorten that
window; the check below closes it: every page must report the same total, and the pages together must
hold exactly that many distinct repos, or the listing is read again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from prefect import task

from flows.snapshot.reading import SNAPSHOT_TASK
from flows.snapshot.repos import CALLS, Listed
from flows.snapshot.scope import PLURAL
from hub_tasks import HubClient, ListingLimitError, ModelScopeCredentials
from hub_tasks.prefect.runtime import hub_client
from hub_tasks.repo_types import RepoType

PAGE_SIZE = 100  # the hub's largest page
ATTEMPTS = 3  # listings read when repos keep being created or deleted while the pages are read

Page = tuple[list[Listed], int]


def _pages(client: HubClient, owner: str, concurrency: int, page_size: int, repo_type: RepoType) -> list[Page]:
    """Every page of `owner`'s listing: the first, then the rest at most `concurrency` at a time."""
    calls = CALLS[repo_type]
    first = calls.list_page(client, owner, 1, page_size)
    client.require_complete_listing(owner, first[1], calls.listing)
    count = -(-first[1] // page_size)
    if count <= 1:
        return [first]
    with ThreadPoolExecutor(max(1, min(concurrency, count - 1)), thread_name_prefix="list-repos") as pool:
        rest = list(pool.map(lambda number: calls.list_page(client, owner, number, page_size), range(2, count + 1)))
    return [first, *rest]


def list_every_page(
    client: HubClient, owner: str, concurrency: int = 8, page_size: int = PAGE_SIZE, repo_type: RepoType = "model"
) -> list[Listed]:
    """Every repo of `repo_type` of `owner`, pages fetched in parallel once the total is known; never
    silently partial.

    Args:
        client: The hub client (its own retries apply to each page).
        owner: User or group.
        concurrency: Pages fetched at the same time.
        page_size: Repos per page, 1..100.
        repo_type: "model" or "dataset".

    Returns:
        The owner's repos in listing order, each once.

    Raises:
        ListingLimitError: More repos than the hub can page through, or the listing changed while it
            was read, `ATTEMPTS` times in a row.

    Example:
        ```python
        with ModelScopeCredentials.load("BLOCK_NAME").get_client() as client:
            print(len(list_every_page(client, "alice", concurrency=16, repo_type="dataset")))
        ```
    """
    seen = ""
    for _ in range(ATTEMPTS):
        pages = _pages(client, owner, concurrency, page_size, repo_type)
        total = pages[0][1]
        repos = list({r.repo_id: r for listed, _ in pages for r in listed}.values())
        if len(repos) == total and all(count == total for _, count in pages):
            return repos
        seen = f"{len(repos)} distinct {PLURAL[repo_type]}, totals {sorted({count for _, count in pages})}"
    raise ListingLimitError(
        f"the {repo_type} listing of {owner} changed while it was read, {ATTEMPTS} times in a row (last: {seen})",
        operation=CALLS[repo_type].listing,
    )


@task(**{**SNAPSHOT_TASK, "name": "List an owner's repos"})
def list_owner_repos(
    owner: str,
    concurrency: int = 8,
    modelscope_credentials: ModelScopeCredentials | None = None,
    repo_type: RepoType = "model",
) -> list[Listed]:
    """Every repo of `repo_type` of `owner` (see `list_every_page`), with the hub tasks' retry policy.

    Example:
        ```python
        @flow
        def count(owner: str) -> int:
            return len(list_owner_repos(owner, 16, ModelScopeCredentials.load("BLOCK_NAME"), "dataset"))
        ```
    """
    with hub_client(modelscope_credentials) as client:
        return list_every_page(client, owner, concurrency, repo_type=repo_type)
