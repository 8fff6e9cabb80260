"""Item 3, crash and resume: a publish running in another process is killed with SIGKILL after some of its
blobs were stored. Publishing the folder again (through the `publish_model` flow) must send no blob the
hub already stored: beyond what the killed run never got to, at most the one blob that was in flight is
sent again. The result is byte-identical to the folder (checked with the official SDK).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from flows.publish.flow import PublishRequest, publish_model
from tests.helpers.clients import make_block
from tests.helpers.folders import MIB, blob, make_folder, manifest
from tests.helpers.hub import ROOT, RunningHub, settled
from tests.helpers.polling import wait_for
from tests.helpers.sdk import sdk_snapshot

pytestmark = pytest.mark.reliability

SIZE, COUNT = 8 * MIB, 6
# The killed publisher: the push engine itself, one upload at a time, with the default hash cache (the
# environment's, which the flow's re-run uses too).
PUBLISHER = """
import sys
from hub_tasks import HubClient, HubSettings

url, token, model_id, folder = sys.argv[1:5]
with HubClient(endpoint=url, token=token, settings=HubSettings(retry_backoff_seconds=0.01)) as client:
    client.push_model(model_id, folder, max_workers=1, hash_cache="default")
"""


def test_a_killed_publish_resumes_without_resending_stored_blobs(
    hub_idle: RunningHub, prefect_harness: None, fast_backoff: None, tmp_path: Path
) -> None:
    hub = hub_idle
    model_id = "alice/crash-resume"
    folder = make_folder(tmp_path / "model", {f"shards/model-{i}.safetensors": blob(SIZE) for i in range(COUNT)})
    total = SIZE * COUNT
    start = hub.control.stats()
    # Slow each blob upload down, so that the process can be killed between two of them.
    hub.control.set_faults([{"route": "blob_put", "effect": "latency", "seconds": 0.4}])
    process = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, hub.url, hub.tokens["alice"], model_id, str(folder)], cwd=ROOT
    )
    try:
        wait_for(
            lambda: hub.control.stats()["blob_puts"] - start["blob_puts"] >= 2 or process.poll() is not None,
            "two blobs to be stored",
        )
        assert process.poll() is None, "the publish finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    wait_for(lambda: settled(hub), "the hub to finish the interrupted upload")
    hub.control.clear_faults()
    killed = hub.control.stats()
    stored = killed["blob_bytes_stored"] - start["blob_bytes_stored"]
    received = killed["blob_bytes_received"] - start["blob_bytes_received"]
    assert killed["commits_total"] == start["commits_total"], "the killed run must not have committed"
    assert 2 * SIZE <= stored < total
    assert received - stored <= SIZE, "with one upload at a time, at most one blob was in flight"

    state = publish_model(PublishRequest(model_id=model_id, model_dir=str(folder)), make_block(hub), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    after = hub.control.stats()
    resent = after["blob_bytes_received"] - killed["blob_bytes_received"]

    assert resent <= total - stored, "a blob the hub had stored was sent again"
    assert received + resent - total <= SIZE, "more than the blob in flight was sent twice"
    assert result.bytes_uploaded == resent and result.bytes_reused == stored
    assert after["blob_bytes_stored"] - start["blob_bytes_stored"] == total, "every blob stored exactly once"
    assert after["commits_total"] - start["commits_total"] == 1
    assert result.hash_cache_hits == COUNT + 1 and result.bytes_hashed == 0, "the resume re-read a hashed file"
    assert sdk_snapshot(hub, tmp_path, model_id) == manifest(folder)
