"""The topology tier: our client and flows against local_hub as the real hub's network looks (TLS from the
hub's own CA, a forward proxy, www./lfs./cdn. hosts, signed CDN redirects), configured the way a user does
it: `HTTPS_PROXY` and `REQUESTS_CA_BUNDLE` in the environment (or the settings' `proxy`/`ca_bundle`).

`hub` here is the session's topology hub (tests/conftest.py `topology_process`), with a clean slate, once per
`--download-redirect` mode (which files the real hub redirects is not known).
"""

from __future__ import annotations

import pytest

from tests.helpers.sdk import NETWORK_VARIABLES
from tests.helpers.topology import TopologyHub

REDIRECT_MODES = ("off", "lfs", "all")


@pytest.fixture(params=REDIRECT_MODES, ids=[f"redirect-{mode}" for mode in REDIRECT_MODES])
def hub(topology_process: TopologyHub, request: pytest.FixtureRequest) -> TopologyHub:
    """The topology hub, emptied, writing its `.gitattributes` on create, redirecting in this test's mode."""
    topology_process.control.reset(state=True)
    topology_process.control.configure(
        gitattributes="on-create", download_redirect=request.param, cdn_url_ttl_seconds=1800
    )
    return topology_process


@pytest.fixture
def network(hub: TopologyHub, monkeypatch: pytest.MonkeyPatch) -> TopologyHub:
    """The user's shell: the hub's proxy in HTTPS_PROXY, its CA in REQUESTS_CA_BUNDLE, and loopback in
    NO_PROXY (the Prefect test server, whose event stream would otherwise be sent to the proxy), and no
    other network variable (clients made in the test read them when made)."""
    for name in (*NETWORK_VARIABLES, "SSL_CERT_FILE", "MODELSCOPE_PROXY", "MODELSCOPE_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in hub.client_env().items():
        monkeypatch.setenv(name, value)
    return hub
