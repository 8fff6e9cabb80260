"""Issue 17, item 3: the snapshot archive in Prefect filesystem blocks: `LocalFileSystem`,
`RemoteFileSystem` (fsspec's memory file system), and prefect-aws's `S3Bucket` against moto's S3 server,
started here. A first run (nothing there yet), a second run that compares with the archive (the Prefect
server's baseline is forgotten first, so the block is what is read), and an archive that cannot be read
fails the run before it asks the hub anything, never diffing against nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.snapshot.flow import snapshot_revisions
from flows.snapshot.scope import Scope
from flows.snapshot.store import pointer_name
from hub_tasks.repo_types import REPO_TYPES
from tests.helpers.clients import make_block
from tests.helpers.hub import RunningHub
from tests.helpers.hub_http import HubWriter
from tests.helpers.prefect_api import run_artifact
from tests.helpers.snapshots import forget_baselines

FOLDER = "audit/snapshots"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a free loopback port, in a thread of this process."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # a dev dependency: never skipped

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_bucket(endpoint: str) -> Any:
    """A new bucket on the moto server, as a prefect-aws `S3Bucket` block (static test credentials)."""
    import boto3
    from prefect_aws import AwsClientParameters, AwsCredentials
    from prefect_aws.s3 import S3Bucket

    name = f"snapshots-{uuid.uuid4().hex[:8]}"
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    boto3.client("s3", endpoint_url=endpoint, **keys).create_bucket(Bucket=name)
    credentials = AwsCredentials(**keys, aws_client_parameters=AwsClientParameters(endpoint_url=endpoint))
    return S3Bucket(bucket_name=name, credentials=credentials)


@pytest.fixture(params=["local-file-system", "remote-file-system", "s3-bucket"])
def archive(request: pytest.FixtureRequest, prefect_harness: None, tmp_path: Path) -> tuple[str, Any]:
    """A saved filesystem block of each kind: its "slug/name" and the block."""
    from prefect.filesystems import LocalFileSystem, RemoteFileSystem

    kind = request.param
    if kind == "local-file-system":
        block = LocalFileSystem(basepath=str(tmp_path / "local"))
    elif kind == "remote-file-system":
        block = RemoteFileSystem(basepath=f"memory://snapshots-{uuid.uuid4().hex[:8]}")  # fsspec's, in this process
    else:
        block = s3_bucket(request.getfixturevalue("s3_endpoint"))
    name = f"snapshots-{uuid.uuid4().hex[:8]}"
    block.save(name, overwrite=True)
    return f"{kind}/{name}", block


def run(hub: RunningHub, slug: str) -> Any:
    return snapshot_revisions(
        owners=["alice"], snapshot_dir=FOLDER, filesystem_block=slug, max_concurrency=4,
        modelscope_credentials=make_block(hub), return_state=True,
    )  # fmt: skip


def test_a_filesystem_block_archives_snapshots_and_the_next_run_compares_with_it(
    hub: RunningHub, archive: tuple[str, Any]
) -> None:
    slug, block = archive
    forget_baselines()
    alice = HubWriter(hub)
    alice.create("alice/audited")
    before = alice.commit("alice/audited", {"configuration.json": b"{}"})
    alice.tag("alice/audited", "v1")

    first = run(hub, slug)
    assert first.is_completed(), first.message
    summary = first.result()
    assert summary.first_snapshot and summary.changes == 0
    assert summary.location.startswith(f"{slug}:{FOLDER}/snapshot-")
    pointer = f"{FOLDER}/{pointer_name(Scope.of(hub.url, ['alice'], REPO_TYPES))}"
    assert json.loads(block.read_path(pointer))["name"] == summary.location.rsplit("/", 1)[1]

    # The tag moves; the Prefect server forgets the baseline, so the run reads the block's archive.
    alice.delete("alice/audited")
    alice.create("alice/audited")
    after = alice.commit("alice/audited", {"configuration.json": b'{"v": 2}'})
    alice.tag("alice/audited", "v1")
    forget_baselines()
    second = run(hub, slug)
    assert second.is_completed(), second.message
    diffed = second.result()
    assert diffed.changes_by_kind == {"tag.moved": 1, "branch.moved": 1}
    assert f"read from the archive: block {slug}: {FOLDER}" in diffed.compared_with
    table = run_artifact(second.state_details.flow_run_id, "modelscope-snapshot-diff")
    assert table is not None
    assert json.loads(str(table.data))[0] == {
        "change": "tag.moved", "type": "model", "repo": "alice/audited", "ref": "v1", "old": before[:12],
        "new": after[:12],
    }  # fmt: skip

    # A pointer that cannot be parsed: the run fails loudly, before it lists anything.
    block.write_path(pointer, b"{half a pointer")
    forget_baselines()
    hub.control.reset(state=False)
    broken = run(hub, slug)
    assert broken.is_failed()
    assert "SnapshotStoreError" in broken.message and "is not JSON" in broken.message, broken.message
    assert hub.control.requests("list_models") == 0
