"""Shared pieces of the client tests: a fast-retry client factory, a commit-over-HTTP helper, a secret scan."""

from __future__ import annotations

import base64
import contextlib
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from hub_tasks import HubClient, HubSettings

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


class SecretScan:
    """Collects the text of every exception a client call raised in a test, for the leak check."""

    def __init__(self) -> None:
        self.exceptions: list[BaseException] = []
        self.clients: list[HubClient] = []

    def reset(self) -> None:
        self.exceptions.clear()
        self.clients.clear()

    def texts(self) -> list[str]:
        """str, repr and the full chained traceback of every collected exception."""
        out = []
        for exc in self.exceptions:
            out += [str(exc), repr(exc), "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
        return out


SCAN = SecretScan()


@contextlib.contextmanager
def raises(expected: type[BaseException] | tuple[type[BaseException], ...], match: str | None = None) -> Iterator[Any]:
    """`pytest.raises` that also hands the exception to the secret scan."""
    with pytest.raises(expected, match=match) as info:
        yield info
    SCAN.exceptions.append(info.value)


def make_client(hub: Any, user: str | None = "alice", **overrides: Any) -> HubClient:
    """A client for `hub` with `user`'s token (None: anonymous) and fast retries."""
    settings = HubSettings(**{"endpoint": hub.url, **FAST, **overrides})
    client = HubClient(token=hub.tokens[user] if user else None, settings=settings)
    SCAN.clients.append(client)
    return client


def create_models(hub: Any, model_ids: list[str], *, user: str = "alice", visibility: int = 5) -> None:
    """Create many empty models quickly with plain requests (setup only: the client's own path is tested apart)."""
    for model_id in model_ids:
        owner, name = model_id.split("/")
        response = requests.post(
            f"{hub.url}/api/v1/models",
            json={"Path": owner, "Name": name, "Visibility": visibility},
            headers={"Authorization": f"Bearer {hub.tokens[user]}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text


def commit_files(
    hub: Any,
    model_id: str,
    files: dict[str, bytes | str],
    *,
    user: str = "alice",
    branch: str = "master",
    message: str = "add files",
) -> str:
    """Commit `files` (path -> content) to `branch` over HTTP, as the hub's commit API takes them; returns the id."""
    actions = []
    for path, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        actions.append(
            {
                "action": "create",
                "path": path,
                "type": "normal",
                "size": len(data),
                "sha256": "",
                "content": base64.b64encode(data).decode(),
                "encoding": "base64",
            }
        )
    response = requests.post(
        f"{hub.url}/api/v1/repos/models/{model_id}/commit/{branch}",
        json={"commit_message": message, "actions": actions},
        headers={"Authorization": f"Bearer {hub.tokens[user]}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["Data"]["oid"]


def secret_values(hub: Any) -> list[str]:
    """Every secret a client test could leak: the users' SDK tokens and any git token a login handed out."""
    git = [c.git_token.get_secret_value() for c in SCAN.clients if c.git_token is not None]
    return [*hub.tokens.values(), *git]


def leaks(texts: list[str], secrets: list[str]) -> list[str]:
    """The texts that contain a secret, with the secret masked so a failure report does not leak it too."""
    found = []
    for text in texts:
        for secret in secrets:
            if secret in text:
                found.append(text.replace(secret, "<SECRET>")[:300])
    return found


def leak_guard(hub: Any, caplog: pytest.LogCaptureFixture) -> Iterator[SecretScan]:
    """Body of an autouse fixture: capture every log record (DEBUG and up) and every exception of the test,
    then fail if any SDK or git token appears in one of them."""
    SCAN.reset()
    caplog.set_level(logging.DEBUG)
    yield SCAN
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = [r for when in ("setup", "call") for r in caplog.get_records(when)]
    texts = [formatter.format(r) for r in records] + SCAN.texts()
    found = leaks(texts, secret_values(hub))
    assert not found, f"a token appeared in {len(found)} log records or exception texts: {found}"
