"""Prefect global concurrency for hub work: a per-model publish lock and a shared hub rate limit.

Both use Prefect's own global concurrency limits, so they hold across every worker, process and
machine that talks to the same Prefect API; nothing else needs to be deployed.

- The publish lock is a limit of 1 named after the model, taken with a lease: a worker that
  crashes stops renewing it, and the slot frees itself after `lease_seconds`.
- The rate limit is a limit with slot decay that every hub request takes a slot from (see
  `ModelScopeCredentials.rate_limit`, or `MODELSCOPE_RATE_LIMIT` when tasks run without a block);
  create it once with e.g.
  `prefect gcl create modelscope-api --limit 100 --slot-decay-per-second 20` (about 20 hub
  requests per second across everything that uses the block).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency, rate_limit
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

log = logging.getLogger("hub_tasks.prefect.concurrency")
LOCK_PREFIX = "modelscope-publish-"


def publish_lock_name(model_id: str) -> str:
    """The lock's limit name for a model: `modelscope-publish-<owner>--<name>` (no '/' allowed).

    Example:
        >>> publish_lock_name("alice/demo")
        'modelscope-publish-alice--demo'
    """
    return LOCK_PREFIX + model_id.replace("/", "--")


def ensure_limit(name: str, limit: int = 1, slot_decay_per_second: float | None = None) -> None:
    """Create the global concurrency limit unless it exists (a concurrent creator winning is fine)."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        decay = {} if slot_decay_per_second is None else {"slot_decay_per_second": slot_decay_per_second}
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit, **decay))
        except ObjectAlreadyExists:
            pass
        except httpx.HTTPStatusError as exc:
            # Older Prefect releases (the floor, 3.4.10, among them) raise the server's 409 as it is, not as
            # ObjectAlreadyExists.
            if exc.response.status_code != 409:
                raise


@contextmanager
def model_lock(
    model_id: str, name: str | None = None, timeout_seconds: float | None = 3600, lease_seconds: float = 300
) -> Iterator[str]:
    """Hold the model's publish lock (limit 1, lease-based) for the duration of the block.

    Args:
        model_id: The model being written.
        name: The limit's name; `publish_lock_name(model_id)` when None.
        timeout_seconds: How long to wait for the lock before `TimeoutError` (None: forever).
        lease_seconds: How long a crashed holder keeps the lock before it frees itself.

    Yields:
        The lock's name.

    Example:
        ```python
        with model_lock("alice/demo"):
            ...  # no other publish of alice/demo runs here, on any worker
        ```
    """
    lock = name or publish_lock_name(model_id)
    ensure_limit(lock, 1)
    log.info("waiting for the publish lock %s", lock)
    with concurrency(lock, occupy=1, timeout_seconds=timeout_seconds, lease_duration=lease_seconds, strict=True):
        log.info("holding the publish lock %s", lock)
        yield lock


def rate_limiter(name: str, batch: int = 10) -> Callable[[], None]:
    """A throttle for `HubClient.throttle`: every hub request spends one slot of the `name` limit.

    Slots are taken from Prefect `batch` at a time and spent locally, so a snapshot of thousands of
    models makes one Prefect API call per `batch` hub requests instead of one each (the budget can
    run ahead by at most `batch - 1` requests per process). The limit must exist and have slot decay
    (that is what makes it a rate): a missing limit fails the request (strict), so a mistyped name
    never silently disables the budget.
    """
    lock = threading.Lock()
    left = [0]

    def throttle() -> None:
        with lock:
            if left[0] == 0:
                rate_limit(name, occupy=batch, strict=True)
                left[0] = batch
            left[0] -= 1

    return throttle
