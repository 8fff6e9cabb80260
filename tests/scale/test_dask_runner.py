"""snapshot_revisions on a local Dask cluster produces the same snapshot as the thread pool."""

from __future__ import annotations

import pytest

from flows.snapshot.flow import snapshot_revisions
from flows.snapshot.format import Snapshot
from tests.helpers.scale import SCALE_OWNER, seed_scale_models

pytestmark = [pytest.mark.scale, pytest.mark.timeout(300)]


def test_dask_and_threads_take_the_same_snapshot(hub, credentials, tmp_path) -> None:
    pytest.importorskip("prefect_dask")
    seed_scale_models(hub, 12)
    for runner in ("thread", "dask"):
        state = snapshot_revisions(
            [SCALE_OWNER],
            snapshot_dir=str(tmp_path / runner),
            task_runner=runner,
            modelscope_credentials=credentials,
            return_state=True,
        )
        assert state.is_completed(), state
    thread, dask = (
        Snapshot.model_validate_json(next((tmp_path / r).glob("snapshot-*.json")).read_bytes())
        for r in ("thread", "dask")
    )
    assert len(thread.models) == 12
    assert dask.models == thread.models
