"""The snapshot flow's state in the Prefect server, for tests: its per-scope baselines.

Every test of the session shares one Prefect test server and one local_hub, so every snapshot of
`alice` on that hub has the same scope: a test that needs a scope's first snapshot forgets the
baselines that earlier tests left behind (as the `hub` fixture forgets the hub's repos).
"""

from __future__ import annotations

from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.snapshot.baseline import KEY_PREFIX
from tests.helpers.prefect_api import paged


def baseline_artifacts() -> list[Any]:
    """Every version of every scope's baseline artifact in the current Prefect server."""
    only = ArtifactFilter(key=ArtifactFilterKey(like_=KEY_PREFIX))
    with get_client(sync_client=True) as client:
        return list(paged(client.read_artifacts, artifact_filter=only))


def forget_baselines() -> None:
    """Delete every scope's baseline from the current Prefect server: the next run of any scope is its
    first, unless the archive it is given holds an earlier snapshot of that scope."""
    with get_client(sync_client=True) as client:
        for artifact in baseline_artifacts():
            client.delete_artifact(artifact.id)
