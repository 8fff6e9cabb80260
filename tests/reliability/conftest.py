"""Fixtures of the reliability suite (faults, crashes, bad input, secrets, authz, timeouts).

The speed fixtures it uses, `fast_backoff` and `no_retry_delay`, are the suite-wide ones (tests/conftest.py):
every retry count keeps its product default, only the waiting is shortened.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.hub import RunningHub, settled
from tests.helpers.polling import wait_for


@pytest.fixture
def hub_idle(hub: RunningHub) -> Iterator[RunningHub]:
    """The hub, and after the test: no fault left behind and no request still being served."""
    yield hub
    hub.control.clear_faults()
    wait_for(lambda: settled(hub), "the hub to answer every request", timeout=60)
