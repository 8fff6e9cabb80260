"""The publish and snapshot flows through the hub's real network shape: TLS, the proxy, lfs./cdn. hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.publish.flow import PublishRequest, publish_model
from flows.snapshot.flow import snapshot_revisions
from hub_tasks import ModelScopeCredentials
from tests.helpers.clients import make_block
from tests.helpers.folders import blob, make_folder, manifest, remote
from tests.helpers.snapshots import forget_baselines
from tests.helpers.topology import CDN, LFS, WWW, TopologyHub


def test_the_publish_flow_publishes_through_the_proxy_with_the_users_ca(
    network: TopologyHub, prefect_harness: None, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path / "model", {"README.md": "# flow\n", "weights.safetensors": blob(400_000)})
    request = PublishRequest(model_id="alice/flow-topo", model_dir=str(folder), revision="dev", tag="v1")
    state = publish_model(request, make_block(network), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result.created_repo and result.created_branch and result.verified
    with make_block(network).get_client() as client:
        assert remote(client, "alice/flow-topo", "v1") == manifest(folder)
    # By host, from the journal (the proxy's counters count tunnels, and a client keeps its tunnels open).
    assert {(e["route"], e["host"]) for e in network.control.journal() if e["route"] == "blob_put"} == {
        ("blob_put", LFS)
    }
    assert {e["host"] for e in network.control.journal()} == {WWW, LFS}


def test_the_snapshot_flow_reads_every_model_through_the_proxy(
    network: TopologyHub, prefect_harness: None, tmp_path: Path
) -> None:
    forget_baselines()
    block = make_block(network)
    with block.get_client() as client:
        for name in ("one", "two"):
            client.push_model(f"alice/{name}", make_folder(tmp_path / name, {"w.bin": blob(50_000)}), hash_cache=None)
        client.create_tag("alice/one", "v1")
    network.control.clear_journal()
    state = snapshot_revisions(
        owners=["alice"], include_files=True, snapshot_dir=str(tmp_path / "snapshots"), modelscope_credentials=block,
        return_state=True,
    )  # fmt: skip
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.models == 2 and summary.failed == {}
    assert {e["host"] for e in network.control.journal()} == {WWW}  # listings only, never file contents


@pytest.mark.parametrize("hub", ["all"], indirect=True)
def test_a_block_with_its_own_proxy_and_ca_needs_no_environment(
    hub: TopologyHub, prefect_harness: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The block's `proxy` and `ca_bundle` (PEM text) fields alone reach the hub: no variable is set."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert hub.ca_bundle is not None
    block = ModelScopeCredentials(
        token=hub.tokens["alice"], endpoint=hub.url, proxy=hub.proxy, ca_bundle=hub.ca_bundle.read_text()
    )
    block.save("topology-block", overwrite=True)
    folder = make_folder(tmp_path / "model", {"weights.safetensors": blob(200_000)})
    request = PublishRequest(model_id="alice/block-topo", model_dir=str(folder))
    state = publish_model(request, ModelScopeCredentials.load("topology-block"), return_state=True)
    assert state.is_completed(), state.message
    with block.get_client() as client:
        client.download_model("alice/block-topo", tmp_path / "out", allow_patterns=["weights.safetensors"])
    assert (tmp_path / "out" / "weights.safetensors").read_bytes() == (folder / "weights.safetensors").read_bytes()
    assert {e["host"] for e in hub.control.journal()} == {WWW, LFS, CDN}
