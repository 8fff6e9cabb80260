"""The token-leak check of the client tests: every log record and every exception text of a test is
searched for the users' SDK tokens and for any git token a login handed out.

A test module turns it on with an autouse fixture whose body is `yield from leak_guard(hub, caplog)`;
its client calls that are expected to fail go through `raises` (not `pytest.raises`), so that their
exceptions are searched too.
"""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from hub_tasks import HubClient


class SecretScan:
    """What one guarded test produced: the exceptions its client calls raised, and its clients (for the
    git tokens they were handed). Collects only while a guard is active."""

    def __init__(self) -> None:
        self.active = False
        self.exceptions: list[BaseException] = []
        self.clients: list[HubClient] = []

    def reset(self) -> None:
        self.exceptions.clear()
        self.clients.clear()

    def track(self, client: HubClient) -> None:
        """Remember `client` for its git token, while a guard runs (tests without one keep nothing)."""
        if self.active:
            self.clients.append(client)

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
    SCAN.active = True
    caplog.set_level(logging.DEBUG)
    try:
        yield SCAN
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        records = [r for when in ("setup", "call") for r in caplog.get_records(when)]
        texts = [formatter.format(r) for r in records] + SCAN.texts()
        found = leaks(texts, secret_values(hub))
        assert not found, f"a token appeared in {len(found)} log records or exception texts: {found}"
    finally:
        SCAN.active = False
        SCAN.reset()
