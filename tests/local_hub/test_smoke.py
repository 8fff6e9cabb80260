"""The session hub starts, answers in the hub's envelope, and exposes its control plane."""

import requests


def test_health_and_stats(hub):
    assert requests.get(f"{hub.url}/_local_hub/health", timeout=10).json() == {"ok": True}
    assert hub.control.stats()["commits"] == 0


def test_unknown_path_is_a_hub_shaped_404(hub):
    response = requests.get(f"{hub.url}/api/v1/nowhere", timeout=10)
    assert response.status_code == 404
    assert set(response.json()) == {"Code", "Data", "Message", "RequestId", "Success"}
