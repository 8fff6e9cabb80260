"""Clients and credentials blocks for the session hub, configured for a test suite.

Speed knobs are configuration, not mocks: shorter back-off and timeouts through the documented
settings; every other knob keeps its meaning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub_tasks import HubClient, HubSettings, ModelScopeCredentials
from hub_tasks.types import PushResult
from tests.helpers.folders import model_dir
from tests.helpers.secret_scan import SCAN

# Retries fast enough for a test suite; every other knob keeps its meaning.
FAST: dict[str, Any] = {
    "retry_attempts": 4,
    "retry_backoff_seconds": 0.01,
    "retry_backoff_max_seconds": 0.05,
    "retry_after_max_seconds": 0.2,
    "retry_max_total_wait_seconds": 5.0,
    "connect_timeout": 5.0,
    "read_timeout": 10.0,
}
# A block whose client makes exactly one request per call, so that one task attempt is one hub request.
ONE_ATTEMPT: dict[str, Any] = {"retry_attempts": 1, "connect_timeout": 5.0, "read_timeout": 15.0}


def make_client(hub: Any, user: str | None = "alice", **overrides: Any) -> HubClient:
    """A client for `hub` with `user`'s token (None: anonymous) and fast retries; `overrides` are
    HubSettings fields (the endpoint too). A test under `leak_guard` has its git token searched for."""
    settings = HubSettings(**{"endpoint": hub.url, **FAST, **overrides})
    client = HubClient(token=hub.tokens[user] if user else None, settings=settings)
    SCAN.track(client)
    return client


def push(client: HubClient, model_id: str, folder: Path, cache: Path | None, **options: Any) -> PushResult:
    """`client.push_model` with an explicit hash cache (never the user's real one)."""
    return client.push_model(model_id, folder, hash_cache=cache, **options)


def make_block(hub: Any, user: str = "alice", *, token: str | None = None, **knobs: Any) -> ModelScopeCredentials:
    """A credentials block for `hub` with `user`'s token (or `token`), and any client knobs."""
    return ModelScopeCredentials(token=token if token is not None else hub.tokens[user], endpoint=hub.url, **knobs)


def fast_block(hub: Any, user: str = "alice", **knobs: Any) -> ModelScopeCredentials:
    """A block for `hub` whose client makes exactly one request per call (retry_attempts=1), so that
    one task attempt == one hub request, with short timeouts; `knobs` override those."""
    return make_block(hub, user, **{**ONE_ATTEMPT, **knobs})


def hub_client(hub: Any, user: str = "alice") -> HubClient:
    """A plain client for test setup (its own behaviour is tested in tests/client)."""
    return fast_block(hub, user, retry_attempts=4).get_client()


def seed_model(hub: Any, tmp: Path, model_id: str = "alice/demo", files: dict[str, str | bytes] | None = None) -> str:
    """Create `model_id` with one commit of a small folder; returns the commit id."""
    with hub_client(hub) as client:
        result = client.push_model(model_id, model_dir(tmp, files), hash_cache=None)
    assert result.commit_id
    return result.commit_id
