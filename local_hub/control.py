"""A small client for the control plane (`/_local_hub/`), used by tests, demos and benchmarks."""

from __future__ import annotations

import os
from typing import Any

import requests

from local_hub.routes_admin import ADMIN_HEADER


class HubControl:
    """Drive one emulator's control plane.

    Args:
        url: The emulator's own address: its `listen_url` under `--tls`/`--hosts` (the control plane is
            reached directly, never through the hub's proxy or any other).
        admin_token: The token it was started with (`--admin-token`).
        ca_bundle: The CA certificate that verifies a hub started with `--tls` (its `ca_bundle`).
        verify: `requests`' own `verify` (True, False or a CA path) when no `ca_bundle` is given.

    Example:
        >>> from local_hub import LocalHub
        >>> with LocalHub() as hub:
        ...     hub.control.stats()["commits"]
        0
    """

    def __init__(
        self, url: str, admin_token: str, *, ca_bundle: str | os.PathLike[str] | None = None, verify: bool | str = True
    ) -> None:
        self.url = url.rstrip("/")
        self._session = requests.Session()
        # No proxy, CA bundle or netrc from the environment: the control plane is a loopback address,
        # and a test that points HTTPS_PROXY at the hub's proxy must not route its control calls there.
        self._session.trust_env = False
        self._session.verify = os.fspath(ca_bundle) if ca_bundle is not None else verify
        self._session.headers[ADMIN_HEADER] = admin_token

    def __repr__(self) -> str:
        return f"HubControl({self.url!r})"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._session.request(method, f"{self.url}/_local_hub/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        """Counters: `requests` per route, `statuses`, `blob_bytes_received`, `commits`, ..."""
        return self._call("GET", "stats")

    def requests(self, route: str | None = None) -> int:
        """How many requests reached `route` (all routes together when None)."""
        counts = self.stats()["requests"]
        return sum(counts.values()) if route is None else int(counts.get(route, 0))

    def reset(
        self,
        *,
        state: bool = False,
        stats: bool = True,
        faults: bool = True,
        network: bool = True,
        journal: bool = True,
    ) -> None:
        """Zero counters, drop faults, the network profile and the journal; with `state=True` also forget every repo."""
        body = {"state": state, "stats": stats, "faults": faults, "network": network, "journal": journal}
        self._call("POST", "reset", body)

    def set_faults(self, rules: list[dict[str, Any]], seed: int | None = None) -> list[dict[str, Any]]:
        """Replace the fault table (see `local_hub.fault_rules` for the rule fields)."""
        return self._call("PUT", "faults", {"rules": rules, "seed": seed})["rules"]

    def faults(self) -> list[dict[str, Any]]:
        """The rules with their `matched` and `fired` counters."""
        return self._call("GET", "faults")["rules"]

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", "faults")

    def create_branch(self, model_id: str, branch: str, revision: str = "master", repo_type: str = "model") -> str:
        """Create a branch at a revision (the HTTP API cannot) of a model, or of the dataset `model_id` names
        with `repo_type="dataset"`; returns the commit id."""
        body = {"model_id": model_id, "branch": branch, "revision": revision, "repo_type": repo_type}
        return self._call("POST", "branches", body)["commit_id"]

    def add_user(self, name: str, token: str, groups: list[str] | None = None) -> None:
        """Add a user (and make it a member of `groups`)."""
        self._call("POST", "users", {"name": name, "token": token, "groups": groups or []})

    def set_network(self, latency_seconds: float = 0.0, bytes_per_second: float | None = None) -> dict[str, Any]:
        """Put a network profile in front of the hub's routes (zero and None remove it)."""
        return self._call("PUT", "network", {"latency_seconds": latency_seconds, "bytes_per_second": bytes_per_second})

    def network(self) -> dict[str, Any]:
        """The current network profile."""
        return self._call("GET", "network")

    def configure(self, **options: float | bool | str) -> dict[str, float | bool | str]:
        """Change `tree_limit`, `max_list_offset`, `revision_commit_ids`, `clock_offset_seconds`,
        `gitattributes` (`on-create`, `on-first-commit`, `off`) and/or `strict` while running; under
        `--tls`/`--hosts` also `download_redirect` (`off`, `lfs`, `all`) and `cdn_url_ttl_seconds`."""
        return self._call("PUT", "config", options)

    def journal(self) -> list[dict[str, Any]]:
        """The shape of every API request since the last reset, in arrival order (`local_hub.journal`).

        Example:
            >>> from local_hub import LocalHub
            >>> with LocalHub(users={"alice": "ms-alice"}) as hub:
            ...     _ = requests.post(f"{hub.url}/api/v1/login", json={"AccessToken": "ms-alice"}, timeout=10)
            ...     hub.control.journal()[0]["body"]
            {'AccessToken': 'str'}
        """
        return self._call("GET", "journal")["entries"]

    def clear_journal(self) -> None:
        """Forget every journal entry."""
        self._call("DELETE", "journal")
