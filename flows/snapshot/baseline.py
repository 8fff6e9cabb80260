"""Each scope's latest snapshot, kept in the Prefect server: the baseline every worker compares with.

A snapshot written to a worker's local folder is invisible to the next run on another worker, so the
flow also keeps the scope's latest snapshot as an artifact keyed by the scope
(`modelscope-snapshot-baseline-<scope key>`) and reads it back through the Prefect API: whichever worker
runs next finds it, with nothing else to set up. The files (local or in a filesystem block) stay the
archive; they are read only when the server holds no baseline for the scope (a new server, an upgrade).

The artifact is linked to no flow run, on purpose: Prefect's database vacuum deletes the artifacts of
the flow runs it deletes, and the baseline must outlive the run that wrote it (its run id is in the
metadata). The snapshot is stored zlib-compressed and base64-encoded (10,000 models are about 5 MB of
JSON); only the newest `KEEP` versions of a key are kept, as the archive holds the history.
"""

from __future__ import annotations

import base64
import zlib
from contextlib import suppress
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from prefect.exceptions import ObjectNotFound
from pydantic import ValidationError

from flows.snapshot.format import Snapshot
from flows.snapshot.scope import Scope

KEY_PREFIX = "modelscope-snapshot-baseline"
ARTIFACT_TYPE = "modelscope-snapshot-baseline"
ENCODING = "zlib+base64"
KEEP = 3


class BaselineError(RuntimeError):
    """The scope's baseline in the Prefect server could not be read."""


def baseline_key(scope: Scope) -> str:
    """The artifact key of a scope's baseline.

    Example:
        >>> baseline_key(Scope.of("https://hub", ["alice"]))
        'modelscope-snapshot-baseline-a5387a273dc8b666'
    """
    return f"{KEY_PREFIX}-{scope.key}"


def encode(snapshot: Snapshot) -> dict[str, Any]:
    """The artifact's data for a snapshot.

    Example:
        >>> from datetime import datetime, timezone
        >>> s = Snapshot(taken_at=datetime(2024, 1, 1, tzinfo=timezone.utc), endpoint="e", owners=["o"])
        >>> decode(encode(s)) == s
        True
    """
    packed = zlib.compress(snapshot.model_dump_json().encode(), 6)
    return {
        "encoding": ENCODING,
        "schema_version": snapshot.schema_version,
        "snapshot": base64.b64encode(packed).decode(),
    }


def decode(data: Any) -> Snapshot:
    """The snapshot in an artifact's data.

    Raises:
        BaselineError: The data is not a snapshot this version can read.
    """
    if not isinstance(data, dict) or data.get("encoding") != ENCODING:
        raise BaselineError(f"the baseline artifact's data is not {ENCODING!r}-encoded")
    try:
        return Snapshot.model_validate_json(zlib.decompress(base64.b64decode(data["snapshot"])))
    except (KeyError, ValueError, zlib.error, ValidationError) as exc:
        raise BaselineError(f"the baseline artifact holds no readable snapshot: {exc}") from exc


def _versions(key: str, offset: int = 0, limit: int = 1) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            offset=offset,
            limit=limit,
        )


def load_baseline(scope: Scope) -> Snapshot | None:
    """The scope's latest snapshot as kept in the Prefect server; None when it has none.

    Raises:
        BaselineError: The artifact is there but unreadable, or holds another scope's snapshot.

    Example:
        ```python
        previous = load_baseline(Scope.of("https://www.modelscope.cn", ["alice"]))
        ```
    """
    found = _versions(baseline_key(scope))
    if not found:
        return None
    snapshot = decode(found[0].data)
    if snapshot.scope != scope:
        raise BaselineError(f"{baseline_key(scope)} holds a snapshot of {snapshot.scope.label}, not {scope.label}")
    return snapshot


def save_baseline(snapshot: Snapshot, location: str, flow_run_id: str | None = None) -> str:
    """Keep `snapshot` as its scope's baseline (archived at `location`); returns the artifact key.
    Versions older than the newest `KEEP` are deleted.

    Example:
        ```python
        key = save_baseline(snapshot, "/srv/snapshots/snapshot-20240101T030000.000000Z-a5387a273dc8b666.json")
        ```
    """
    scope = snapshot.scope
    key = baseline_key(scope)
    artifact = ArtifactCreate(
        key=key,
        type=ARTIFACT_TYPE,
        description=(
            f"The latest snapshot of {scope.label}, taken {snapshot.taken_at.isoformat()}: the next snapshot "
            f"of this scope compares with it, on any worker. Readable copy: `{location}`."
        ),
        data=encode(snapshot),
        metadata_={
            "scope": scope.label,
            "taken_at": snapshot.taken_at.isoformat(),
            "location": location,
            "flow_run_id": flow_run_id or "",
        },
    )
    with get_client(sync_client=True) as client:
        client.create_artifact(artifact)
        for old in _versions(key, offset=KEEP, limit=50):
            with suppress(ObjectNotFound):  # another run of the scope pruned it first
                client.delete_artifact(old.id)
    return key
