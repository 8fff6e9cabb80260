"""The e2e tier's fixture: a real Prefect server, a process work pool and a worker, as subprocesses,
started once per module (see tests/helpers/stack.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.hub import RunningHub
from tests.helpers.stack import PrefectStack, running_stack


@pytest.fixture(scope="module")
def stack(hub_process: RunningHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectStack]:
    """Server + credentials block + work pool + deployments + worker."""
    with running_stack(hub_process, tmp_path_factory.mktemp("prefect-e2e")) as stack:
        yield stack
