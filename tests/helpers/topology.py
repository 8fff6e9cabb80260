"""local_hub in its realistic topology (`--tls --hosts hub.test`): starting it, and talking to it the way a
client behind the hub's forward proxy does.

Every call goes through a `requests.Session` that names the proxy and the hub's CA explicitly and reads
nothing from the environment (`trust_env=False`): with `trust_env`, a `REQUESTS_CA_BUNDLE` in the
environment would win over the session's own `verify` (requests merges the environment's CA into each
request, ahead of the session's setting).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from local_hub import HubControl
from tests.helpers.hub import ADMIN_TOKEN, RunningHub, start_local_hub
from tests.helpers.hub_http import TIMEOUT, lfs, normal, sha
from tests.helpers.sdk import sdk_env

DOMAIN = "hub.test"
WWW, LFS, CDN = (f"{role}.{DOMAIN}" for role in ("www", "lfs", "cdn"))


@dataclass
class TopologyHub(RunningHub):
    """A local_hub subprocess with host names: `url` is `https://www.hub.test` (http:// without TLS),
    reached through `proxy`; `control` talks to `listen_url` directly."""

    proxy: str = ""
    ca_bundle: Path | None = None
    listen_url: str = ""

    def session(self, user: str | None = None) -> requests.Session:
        """A session through the hub's proxy, trusting its CA, with `user`'s Bearer token (None: anonymous)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.ca_bundle) if self.ca_bundle else True
        session.proxies = {"https": self.proxy, "http": self.proxy}
        if user is not None:
            session.headers["Authorization"] = f"Bearer {self.tokens[user]}"
        return session

    def client_env(self) -> dict[str, str]:
        """The proxy and the CA, as a user sets them for requests (protocol.md §22.4: the official SDK has no
        setting of its own); `tests.helpers.sdk.sdk_env` and the topology tests apply them.

        Only the hub's scheme goes through the proxy, and loopback never does (NO_PROXY), as for a user with
        a local Prefect server: in a test process the variables also reach Prefect's own clients (its event
        stream to the test server would otherwise be sent to the hub's proxy, refused, and stop for good).
        """
        scheme = "HTTPS_PROXY" if self.ca_bundle is not None else "HTTP_PROXY"
        env = {scheme: self.proxy, "NO_PROXY": "127.0.0.1,localhost"}
        if self.ca_bundle is not None:
            env["REQUESTS_CA_BUNDLE"] = str(self.ca_bundle)
        return env

    def http(self) -> requests.Session:
        """A requests session through the hub's proxy, trusting its CA (see `session`)."""
        return self.session()

    def sdk_env(self, tmp_path: Path, token: str | None = None) -> dict[str, str]:
        """The official SDK's environment for this hub (`tests.helpers.sdk.sdk_env`)."""
        return sdk_env(self, tmp_path, token)

    def stop(self) -> None:
        """Stop the hub's process."""
        self.process.stop()


def start_topology_hub(tmp: Path, *extra: str, download_redirect: str | None = None, tls: bool = True) -> TopologyHub:
    """local_hub with the suite's users, groups and admin token under `--hosts hub.test` (and `--tls`
    unless `tls=False`), its state in `tmp/data` and its access log in `tmp/hub.log`; `extra` are more
    `serve` options. Stop it with `stop()`."""
    process = start_local_hub(tmp, *extra, tls=tls, hosts=DOMAIN, download_redirect=download_redirect)
    assert process.proxy is not None
    control = HubControl(process.listen_url, ADMIN_TOKEN, ca_bundle=process.ca_bundle)
    return TopologyHub(
        process.url,
        control,
        tmp / "data",
        tmp / "hub.log",
        process,
        proxy=process.proxy,
        ca_bundle=process.ca_bundle,
        listen_url=process.listen_url,
    )


def create_model(hub: TopologyHub, model_id: str, user: str = "alice") -> None:
    """Create a public model through `www.` (asserts success)."""
    owner, name = model_id.split("/")
    body = {"Path": owner, "Name": name, "Visibility": 5}
    response = hub.session(user).post(f"{hub.url}/api/v1/models", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text


def upload_href(hub: TopologyHub, model_id: str, content: bytes, user: str = "alice") -> str | None:
    """The `href` the LFS batch on `www.` hands out for `content` (None when the hub has it already)."""
    body = {"operation": "upload", "objects": [{"oid": sha(content), "size": len(content)}]}
    url = f"{hub.url}/api/v1/repos/models/{model_id}/info/lfs/objects/batch"
    response = hub.session(user).post(url, json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["Data"]["objects"][0].get("actions", {}).get("upload", {}).get("href")


def push(hub: TopologyHub, model_id: str, files: dict[str, bytes], lfs_paths: tuple[str, ...] = ()) -> str:
    """Commit `files` as alice: those in `lfs_paths` are PUT to the batch's `href` (on `lfs.`) with the
    session cookie the SDK sends, the rest go inline; returns the commit id."""
    actions: list[dict[str, Any]] = []
    for path, content in files.items():
        if path not in lfs_paths:
            actions.append(normal(path, content))
            continue
        href = upload_href(hub, model_id, content)
        if href is not None:
            cookie = {"Cookie": f"m_session_id={hub.tokens['alice']}"}
            put = hub.session().put(href, data=content, headers=cookie, timeout=TIMEOUT)
            assert put.status_code == 200, put.text
        actions.append(lfs(path, content))
    body = json.dumps({"commit_message": "c", "actions": actions})
    url = f"{hub.url}/api/v1/repos/models/{model_id}/commit/master"
    response = hub.session("alice").post(url, data=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["Data"]["oid"]


def download(hub: TopologyHub, model_id: str, path: str, *, follow: bool = False, **kw: Any) -> requests.Response:
    """GET the file route on `www.` as alice (the redirect, if any, left unfollowed unless `follow`)."""
    url = f"{hub.url}/api/v1/models/{model_id}/repo"
    params = {"Revision": "master", "FilePath": path}
    return hub.session("alice").get(url, params=params, allow_redirects=follow, timeout=TIMEOUT, **kw)
