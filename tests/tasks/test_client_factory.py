"""One client factory: `ModelScopeCredentials.get_client()` builds its client like the tasks do.

It once ignored the block's `rate_limit`, so code that built its client from the block (the publish
flow's rollback did) spent no slot of the shared hub budget. These tests read the budget back from
the Prefect server: a client from the block spends slots of the named limit, and a mistyped limit
name fails the request instead of silently disabling the budget.
"""

from __future__ import annotations

import uuid

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError

from hub_tasks.prefect.runtime import hub_client
from tests.helpers.clients import make_block

RATE_LIMIT_BATCH = 10  # slots the throttle takes at a time (hub_tasks.prefect.concurrency.rate_limiter)


def _create_limit(name: str) -> None:
    # A slow decay: the slots the client takes are still occupied when the test reads them back.
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=1000, slot_decay_per_second=0.01)
        )


def _active_slots(name: str) -> float:
    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name).active_slots


@pytest.mark.parametrize("build", ["get_client", "hub_client"])
def test_every_client_from_a_block_spends_the_blocks_rate_limit(hub, prefect_harness, build: str) -> None:
    name = f"hub-budget-{uuid.uuid4().hex[:8]}"
    _create_limit(name)
    block = make_block(hub, rate_limit=name)
    assert _active_slots(name) == 0
    if build == "get_client":
        with block.get_client() as client:
            assert client.model_exists("alice/none") is False
    else:
        with hub_client(block, shared=False) as client:
            assert client.model_exists("alice/none") is False
    # One request: the throttle takes one batch of slots for it (the rest are spent by the next requests).
    assert _active_slots(name) == RATE_LIMIT_BATCH, f"a client from {build} did not take one batch for its request"


def test_a_mistyped_rate_limit_fails_the_request_instead_of_disabling_the_budget(hub, prefect_harness) -> None:
    hub.control.reset(state=False)
    block = make_block(hub, rate_limit="no-such-limit")
    with block.get_client() as client, pytest.raises(ConcurrencySlotAcquisitionError, match="no-such-limit"):
        client.model_exists("alice/none")
    assert hub.control.requests() == 0, "the request went out without the budget"


def test_without_a_block_the_environment_names_the_rate_limit(hub, prefect_harness, monkeypatch) -> None:
    from hub_tasks import model_exists

    name = f"hub-budget-env-{uuid.uuid4().hex[:8]}"
    _create_limit(name)
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", hub.url)
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", hub.tokens["alice"])
    monkeypatch.setenv("MODELSCOPE_RATE_LIMIT", name)
    assert model_exists("alice/none") is False  # the task, configured from the environment alone
    assert _active_slots(name) == RATE_LIMIT_BATCH, "a task without a block did not take one batch for its request"
    with hub_client(None, shared=False) as client:  # what the flows' own clients use without a block
        assert client.throttle is not None
