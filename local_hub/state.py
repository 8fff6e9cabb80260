"""Everything one running emulator holds: options, store, blobs, ids, counters, faults and the journal."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from local_hub.blobs import BlobStore
from local_hub.cdn import DEFAULT_CDN_URL_TTL, DownloadRedirect, UrlSigner, download_redirect_mode, url_ttl
from local_hub.clock import IdSource
from local_hub.fault_rules import FaultTable
from local_hub.hosts import HostMap, hosts_domain
from local_hub.hub_files import HubFilesMode
from local_hub.journal import Journal
from local_hub.network import NetworkProfile
from local_hub.store import Store


@dataclass
class HubOptions:
    """Knobs of one emulator instance.

    Attributes:
        data_dir: Holds `hub.db` and `blobs/`; the same dir after a restart gives the same state.
        users: name -> SDK token, (re)applied at start.
        groups: group -> member names.
        admin_token: Enables the `/_local_hub/` control plane for requests carrying it; None disables it.
        seed: Seed for ids and fault decisions.
        tree_limit: `repo/files` silently truncates at this many entries, like the real hub (§Op 7).
        max_list_offset: Model listings return nothing at or past this offset (the hub's search window).
        fsync: Flush blobs and the database before acknowledging writes.
        revision_commit_ids: List each ref's `CommitId` in `/revisions` (UNCERTAIN on the real hub;
            off makes clients resolve every ref through `/commits`, the conservative reading).
        clock_offset_seconds: Added to this machine's clock for every timestamp the hub hands out
            (`CreatedAt`, the `EndTime` filter): a hub whose clock runs ahead (> 0) or behind.
        gitattributes: When the hub injects its `.gitattributes` (`hub_files`): `on-create`,
            `on-first-commit` or `off` (UNCERTAIN on the real hub, so every mode is tested).
        network_latency_seconds: The network profile's latency, added to every request (`network`).
        network_bytes_per_second: The network profile's bandwidth in each direction; None for unlimited.
        strict: Answer 400 to a query or JSON body no official client sends (`local_hub.dialect`);
            False (`--lenient`) accepts anything the routes can read.
        tls: Serve HTTPS with a certificate from the data dir's own CA (`local_hub.tls`).
        hosts: The domain of the hub's three host names (`www.`, `lfs.`, `cdn.`; `local_hub.hosts`),
            reached through the hub's forward proxy; None serves plain loopback only.
        download_redirect: Which files a download from `www.` redirects to signed `cdn.` URLs:
            `off`, `lfs` or `all` (`local_hub.cdn`); None means `lfs` with `hosts`, else `off`.
        cdn_url_ttl_seconds: How long a signed CDN URL is valid.
    """

    data_dir: Path
    users: dict[str, str] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    admin_token: str | None = None
    seed: int | None = None
    tree_limit: int = 3000
    max_list_offset: int = 10_000
    fsync: bool = True
    revision_commit_ids: bool = True
    clock_offset_seconds: float = 0.0
    gitattributes: HubFilesMode = "on-create"
    network_latency_seconds: float = 0.0
    network_bytes_per_second: float | None = None
    strict: bool = True
    tls: bool = False
    hosts: str | None = None
    download_redirect: DownloadRedirect | None = None
    cdn_url_ttl_seconds: float = DEFAULT_CDN_URL_TTL

    def __post_init__(self) -> None:
        if self.hosts is not None:
            self.hosts = hosts_domain(self.hosts)
        if self.download_redirect is None:
            self.download_redirect = "lfs" if self.hosts else "off"
        self.download_redirect = download_redirect_mode(self.download_redirect)
        self.cdn_url_ttl_seconds = url_ttl(self.cdn_url_ttl_seconds)

    @property
    def topology(self) -> bool:
        """Whether the hub runs in its realistic topology (TLS and/or host names) rather than plain loopback."""
        return self.tls or self.hosts is not None


class Stats:
    """Request counts per route and the byte and commit counters the control plane reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.statuses: Counter[str] = Counter()
            # Requests of each route being served right now (kept across a reset: they are still being
            # served), and the most there were at once since the reset: the evidence a race test needs that
            # two requests really were in flight together.
            self.in_flight: Counter[str] = getattr(self, "in_flight", Counter())
            self.in_flight_peak: Counter[str] = Counter({k: v for k, v in self.in_flight.items() if v > 0})
            self.blob_bytes_received = 0
            self.blob_bytes_stored = 0
            self.blob_puts = 0
            self.commits = 0
            self.download_bytes_sent = 0
            # The realistic topology's counters: what the forward proxy carried and refused, by host
            # name, and the CDN's refusals by reason (`bad_signature`, `expired`, `authorization`).
            self.proxy: Counter[str] = Counter()
            self.proxy_refused: Counter[str] = Counter()
            self.cdn_refused: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        """Add to a scalar counter such as `commits` or `blob_bytes_received`."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def count_request(self, route: str, status: int | None = None) -> None:
        """One request to `route` arrived (`status` None), or was answered with `status` (0: abandoned)."""
        with self._lock:
            if status is None:
                self.requests[route] += 1
                self.in_flight[route] += 1
                self.in_flight_peak[route] = max(self.in_flight_peak[route], self.in_flight[route])
            else:
                self.statuses[f"{route} {status}"] += 1
                self.in_flight[route] -= 1

    def count(self, counter: str, key: str) -> None:
        """One more `key` in the keyed counter `counter` (`proxy`, `proxy_refused`, `cdn_refused`);
        safe from any thread (the proxy counts from its own)."""
        with self._lock:
            getattr(self, counter)[key] += 1

    def snapshot(self, topology: bool = False) -> dict:
        """A JSON-ready copy; with `topology`, also the proxy's and the CDN's counters."""
        with self._lock:
            keyed = ("proxy", "proxy_refused", "cdn_refused") if topology else ()
            extra = {name: dict(getattr(self, name)) for name in keyed}
            return {
                "requests": dict(self.requests),
                "statuses": dict(self.statuses),
                "in_flight_peak": dict(self.in_flight_peak),
                "blob_bytes_received": self.blob_bytes_received,
                "blob_bytes_stored": self.blob_bytes_stored,
                "blob_puts": self.blob_puts,
                "commits": self.commits,
                "download_bytes_sent": self.download_bytes_sent,
                **extra,
            }


class HubState:
    """The emulator's state, built from `HubOptions`.

    Example:
        >>> import tempfile
        >>> state = HubState(HubOptions(data_dir=Path(tempfile.mkdtemp()), users={"alice": "t-a"}))
        >>> state.store.user_for_token("t-a").name
        'alice'
    """

    def __init__(self, options: HubOptions) -> None:
        self.options = options
        options.data_dir.mkdir(parents=True, exist_ok=True)
        # The clock reads the option on every call, so PUT /_local_hub/config moves it live.
        self.ids = IdSource(options.seed, clock=lambda: time.time() + options.clock_offset_seconds)
        self.blobs = BlobStore(options.data_dir / "blobs", fsync=options.fsync)
        self.store = Store(options.data_dir / "hub.db", self.blobs, self.ids)
        self.stats = Stats()
        self.faults = FaultTable(seed=options.seed)
        self.network = NetworkProfile(options.network_latency_seconds, options.network_bytes_per_second)
        self.journal = Journal()
        # Host names (None on plain loopback: requests then carry no host, as before) and the CDN's
        # signing secret, drawn per process so that no URL outlives the hub that minted it.
        self.hosts = HostMap(options.hosts) if options.topology else None
        self.signer = UrlSigner()
        for name, token in options.users.items():
            if options.admin_token is not None and token == options.admin_token:
                raise ValueError(f"user {name}'s token equals the admin token; pick another admin token")
            self.store.ensure_user(name, token)
        for group, members in options.groups.items():
            self.store.ensure_group(group, members)
