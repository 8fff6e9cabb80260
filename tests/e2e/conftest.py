"""The e2e tier's fixture: a real Prefect server, a process work pool and two workers, as subprocesses,
started once for the whole tier and stopped after its last test (see tests/helpers/stack.py).

Two workers, because one test makes them take turns (a baseline every worker finds); the other tests
do not care which worker runs their flows. Package scope: the server is started once for every e2e
module, and is not left running (and polling) while the rest of the suite runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.hub import RunningHub
from tests.helpers.stack import PrefectStack, running_stack


@pytest.fixture(scope="package")
def stack(hub_process: RunningHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    """Server + credentials block + work pool + deployments + workers `worker-1` and `worker-2`."""
    with running_stack(hub_process, tmp_path_factory.mktemp("prefect-e2e"), workers=2) as stack:
        yield stack
