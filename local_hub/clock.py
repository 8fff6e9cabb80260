"""One seedable source for every id, request id and timestamp the emulator hands out."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable


class IdSource:
    """Commit ids, request ids and the clock, from one place so a seed makes runs repeatable.

    Args:
        seed: Seed for the id generator; None draws from the OS.
        clock: Returns the current time in seconds since the epoch.

    Example:
        >>> ids = IdSource(seed=1)
        >>> len(ids.commit_id())
        40
    """

    def __init__(self, seed: int | None = None, clock: Callable[[], float] = time.time) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._clock = clock

    def commit_id(self) -> str:
        """A fresh 40-hex commit id (the width of a git sha1)."""
        with self._lock:
            return f"{self._rng.getrandbits(160):040x}"

    def request_id(self) -> str:
        """A fresh request id in UUID form, as the hub's `RequestId`."""
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def token(self, prefix: str) -> str:
        """A fresh opaque secret, e.g. a git access token."""
        with self._lock:
            return f"{prefix}{self._rng.getrandbits(128):032x}"

    def now(self) -> int:
        """Whole seconds since the epoch: the hub's `CreatedAt` unit."""
        return int(self._clock())
