"""The suite's local_hub: its users and tokens, starting it, and reading its counters.

The session hub itself is a fixture (`hub_process`, `hub` in tests/conftest.py); this module holds what
the fixtures and the tests share about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from local_hub import HubControl
from local_hub.hub_files import DATASET_GITATTRIBUTES, GITATTRIBUTES, GITATTRIBUTES_PATH
from local_hub.process import LocalHubProcess

ROOT = Path(__file__).resolve().parents[2]
# Distinctive tokens, so that secret scans can search every log and artifact for them.
TOKENS = {
    "alice": "ms-alice-4f1c9e7a2b-SECRET",
    "bob": "ms-bob-8d2e6a1f3c-SECRET",
    "carol": "ms-carol-1a9b7c5d3e-SECRET",
}
GROUPS = {"team": ["alice", "carol"]}
ADMIN_TOKEN = "local-hub-admin-3e7d1b"
# Routes that change the hub's state; "nothing changed remotely" means none of them answered 2xx.
WRITE_ROUTES = (
    "create_model",
    "update_model",
    "delete_model",
    "create_tag",
    "commit",
    "delete_file",
    "blob_put",
    "git_receive_pack",
)


@dataclass
class RunningHub:
    """A local_hub subprocess: its URL, control plane, tokens, and where it logs."""

    url: str
    control: HubControl
    data_dir: Path
    log_file: Path
    process: LocalHubProcess = field(repr=False)
    tokens: dict[str, str] = field(default_factory=lambda: dict(TOKENS), repr=False)

    def client_env(self) -> dict[str, str]:
        """The variables a user sets to reach this hub with requests (and so the official SDK, and us):
        none on plain loopback; a proxy and a CA bundle in the topology (tests/helpers/topology.py)."""
        return {}

    def http(self) -> requests.Session:
        """A plain requests session that reaches this hub (for a test's own raw requests)."""
        session = requests.Session()
        session.trust_env = False
        return session


def start_local_hub(tmp: Path, *extra: str, **options: Any) -> LocalHubProcess:
    """local_hub with the suite's users, groups and admin token, its state in `tmp/data` and its access
    log in `tmp/hub.log` (without fsync); `extra` are more `serve` options, `options` more keywords of
    `LocalHubProcess.start` (`tls`, `hosts`, `download_redirect`)."""
    return LocalHubProcess.start(
        tmp / "data",
        users=TOKENS,
        groups=GROUPS,
        admin_token=ADMIN_TOKEN,
        log_file=tmp / "hub.log",
        extra_args=extra,
        **options,
    )


def hub_own_files(hub: RunningHub) -> dict[str, bytes]:
    """The files the hub writes into a repo by itself in its current mode (path -> content): its
    `.gitattributes`, present once a repo has content, unless the mode is `off`."""
    return {} if hub.control.configure()["gitattributes"] == "off" else {GITATTRIBUTES_PATH: GITATTRIBUTES}


def settled(hub: RunningHub) -> bool:
    """True when every request the hub has received has also been answered (or abandoned)."""
    stats = hub.control.stats()
    answered: dict[str, int] = {}
    for key, count in stats["statuses"].items():
        route = key.rsplit(" ", 1)[0]
        answered[route] = answered.get(route, 0) + count
    return all(answered.get(route, 0) >= count for route, count in stats["requests"].items())


def remote_writes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Write routes that answered 2xx between two stats snapshots, plus commit and blob counters that moved."""
    moved: dict[str, int] = {}
    for key, count in after["statuses"].items():
        route, status = key.rsplit(" ", 1)
        if route in WRITE_ROUTES and status.startswith("2") and count > before["statuses"].get(key, 0):
            moved[key] = count - before["statuses"].get(key, 0)
    for counter in ("commits_total", "commits", "blob_bytes_stored", "blob_puts"):
        if after[counter] != before[counter]:
            moved[counter] = after[counter] - before[counter]
    return moved


class Counter:
    """Differences of the hub's counters since construction (or the last `mark`)."""

    def __init__(self, hub: RunningHub) -> None:
        self.hub = hub
        self.mark()

    def mark(self) -> None:
        self.before = self.hub.control.stats()

    def delta(self) -> dict[str, Any]:
        """Counter name -> increase; `requests` is route -> increase (only routes that moved)."""
        now = self.hub.control.stats()
        out: dict[str, Any] = {
            key: now[key] - self.before.get(key, 0) for key, value in now.items() if isinstance(value, int)
        }
        routes = set(now["requests"]) | set(self.before["requests"])
        moved = {r: now["requests"].get(r, 0) - self.before["requests"].get(r, 0) for r in routes}
        out["requests"] = {r: n for r, n in moved.items() if n}
        return out


def hub_own_dataset_files(hub: RunningHub) -> dict[str, bytes]:
    """`hub_own_files` for a dataset: the hub's dataset `.gitattributes` (local_hub/hub_files.py), unless the
    mode is `off`."""
    return {} if hub.control.configure()["gitattributes"] == "off" else {GITATTRIBUTES_PATH: DATASET_GITATTRIBUTES}
