"""local_hub's network profile: latency per request and a shared bandwidth, set live or on the command
line, never on the control plane, composing with faults. Times are asserted as lower bounds only (what
the link must cost at least), so a busy machine cannot fail them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from local_hub import HubControl
from tests.helpers.folders import blob
from tests.helpers.hub import ADMIN_TOKEN, RunningHub, start_local_hub
from tests.helpers.hub_http import api, create_model, download, push, upload_blob


def timed(call) -> tuple[object, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def test_the_profile_is_set_shown_checked_and_reset(hub: RunningHub) -> None:
    assert hub.control.network() == {"latency_seconds": 0.0, "bytes_per_second": None}
    assert hub.control.set_network(0.03, 100e6) == {"latency_seconds": 0.03, "bytes_per_second": 100e6}
    for bad in ({"latency_seconds": -1}, {"bytes_per_second": "fast"}, {"latency_seconds": True}, {"rtt": 1}):
        response = requests.put(
            f"{hub.url}/_local_hub/network", json=bad, headers={"X-Local-Hub-Admin": ADMIN_TOKEN}, timeout=10
        )
        assert response.status_code == 400, bad
    assert hub.control.network()["latency_seconds"] == 0.03  # a refused change changes nothing
    hub.control.reset()
    assert hub.control.network() == {"latency_seconds": 0.0, "bytes_per_second": None}


def test_latency_is_paid_by_every_hub_request_but_not_by_the_control_plane(hub: RunningHub) -> None:
    hub.control.set_network(latency_seconds=0.25)
    try:
        response, elapsed = timed(lambda: api(hub, "GET", "/openapi/v1/users/me"))
        assert response.status_code == 200 and elapsed >= 0.25
        # A latency far beyond the control plane's own timeout: a control call that paid it could not answer
        # in time (a lower bound on what paying would cost, so a busy machine cannot fail this).
        hub.control.set_network(latency_seconds=120)
        slow_admin = requests.get(
            f"{hub.url}/_local_hub/stats", headers={"X-Local-Hub-Admin": ADMIN_TOKEN}, timeout=(10, 30)
        )
        assert slow_admin.status_code == 200
    finally:
        hub.control.reset()


def test_bandwidth_paces_uploads_and_downloads(hub: RunningHub) -> None:
    create_model(hub, "alice/paced")
    content = blob(512 * 1024)
    oid = push(hub, "alice/paced", {"w.bin": content}, lfs_paths=["w.bin"])
    assert oid
    hub.control.set_network(bytes_per_second=1 << 20)  # 1 MiB/s each way
    try:
        response, elapsed = timed(lambda: download(hub, "alice/paced", "w.bin"))
        assert response.content == content and elapsed >= 0.45
        _, elapsed = timed(lambda: upload_blob(hub, "alice/paced", blob(512 * 1024)))
        assert elapsed >= 0.45
    finally:
        hub.control.reset()


def test_faults_compose_with_the_profile(hub: RunningHub) -> None:
    """A fault fires on a profiled link, and the next request still pays the profile: 0.2 s of latency plus
    256 KiB at 1 MiB/s is at least 0.45 s (a lower bound only)."""
    create_model(hub, "alice/both")
    content = blob(256 * 1024)
    push(hub, "alice/both", {"w.bin": content}, lfs_paths=["w.bin"])
    hub.control.set_network(latency_seconds=0.2, bytes_per_second=1 << 20)
    hub.control.set_faults([{"route": "download", "effect": "drop_mid_body", "times": 1}])
    try:
        with pytest.raises(requests.RequestException):
            download(hub, "alice/both", "w.bin")
        response, elapsed = timed(lambda: download(hub, "alice/both", "w.bin"))
        assert response.content == content and elapsed >= 0.45
        assert [rule["fired"] for rule in hub.control.faults()] == [1]
    finally:
        hub.control.reset()


def test_the_command_line_sets_the_profile(tmp_path: Path) -> None:
    with start_local_hub(tmp_path, "--network-latency", "0.02", "--network-bandwidth", "5000000") as process:
        assert HubControl(process.url, ADMIN_TOKEN).network() == {"latency_seconds": 0.02, "bytes_per_second": 5e6}
