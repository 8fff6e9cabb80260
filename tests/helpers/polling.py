"""The suite's one polling loop.

Much of what a test checks is written by another process at a moment the test cannot wait on: the
Prefect server records task runs, events and logs asynchronously, local_hub finishes a request after
its client is gone, a server becomes healthy some time after it was started. A test then asks again
until the answer is there, and fails after a deadline saying what it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(
    condition: Callable[[], Any], what: str | Callable[[], str], timeout: float = 60.0, interval: float = 0.02
) -> Any:
    """Call `condition()` every `interval` seconds until it returns something truthy, and return that.

    Args:
        condition: Asks once; an exception it raises ends the wait (use that for "this can never
            happen any more", e.g. the process being waited on has exited).
        what: What is waited for, for the failure message; a callable is asked only on failure, so
            the message can show the last state seen (the server's log tail, the runs recorded so far).
        timeout: Seconds until the wait fails.
        interval: Seconds between two calls (the only sleep: there is nothing to block on).

    Returns:
        The first truthy value `condition()` returned.

    Raises:
        AssertionError: `condition()` stayed falsy for `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            description = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {description}")
        time.sleep(interval)
