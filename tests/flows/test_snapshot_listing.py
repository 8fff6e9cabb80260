"""Issue 17, item 6: the snapshot's listing. Once the first page gives the total, the other pages are
fetched side by side (on a link with 0.4 s of latency, four pages take about two round trips, not four);
a listing that comes back short of its total is read again and then fails: it is never silently partial.
"""

from __future__ import annotations

import time

import pytest

from flows.snapshot.listing import ATTEMPTS, list_every_page
from hub_tasks import ListingLimitError
from tests.helpers.clients import make_client
from tests.helpers.hub import RunningHub
from tests.helpers.hub_http import create_models

MODELS = [f"alice/listed-{i:02d}" for i in range(35)]  # 4 pages of 10
LATENCY = 0.4


def test_pages_after_the_first_are_fetched_in_parallel(hub: RunningHub) -> None:
    create_models(hub, MODELS)
    hub.control.reset(state=False)
    hub.control.set_network(LATENCY)
    with make_client(hub) as client:
        started = time.perf_counter()
        models = list_every_page(client, "alice", concurrency=8, page_size=10)
        took = time.perf_counter() - started
    assert [m.repo_id for m in models] == sorted(MODELS)
    assert hub.control.requests("list_models") == 4
    # One after another: at least 4 x 0.4 s. Side by side: the first page, then the three others together.
    assert 2 * LATENCY <= took < 3.25 * LATENCY, took


def test_a_listing_short_of_its_total_is_read_again_then_fails(hub: RunningHub) -> None:
    """The hub stops listing at offset 20 while it counts 35 models: every attempt comes back short."""
    create_models(hub, MODELS)
    hub.control.reset(state=False)
    hub.control.configure(max_list_offset=20)
    try:
        with make_client(hub) as client, pytest.raises(ListingLimitError, match="changed while it was read"):
            list_every_page(client, "alice", concurrency=8, page_size=10)
    finally:
        hub.control.configure(max_list_offset=10_000)
    assert hub.control.requests("list_models") == 4 * ATTEMPTS
