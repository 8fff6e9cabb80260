"""A network profile between every client and the hub: latency per request, and one link's bandwidth.

On loopback every answer takes about a millisecond and bytes cost nothing but CPU, which is not what
a real deployment sees. The profile puts a link in front of the hub's routes (never the control
plane): each request waits `latency_seconds` (the round trip) before the hub sees it, and every body
byte, up or down, crosses a full-duplex link of `bytes_per_second` that all requests share, in the
order they ask for it. It composes with fault rules, which act on the paced stream.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Send


def _number(value: object, what: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a number >= 0{' or null' if allow_none else ''}, got {value!r}")
    return float(value)


class NetworkProfile:
    """The link's latency and bandwidth, changeable while the hub runs.

    Args:
        latency_seconds: Added once per request, before the hub handles it.
        bytes_per_second: The link's capacity in each direction; None or 0 for unlimited.

    Example:
        >>> NetworkProfile(0.03, 100e6).describe()
        {'latency_seconds': 0.03, 'bytes_per_second': 100000000.0}
    """

    def __init__(self, latency_seconds: float = 0.0, bytes_per_second: float | None = None) -> None:
        self.latency_seconds = 0.0
        self.bytes_per_second: float | None = None
        self._free_at = {"up": 0.0, "down": 0.0}  # when each direction of the link is next idle
        self.configure(latency_seconds, bytes_per_second)

    def configure(self, latency_seconds: object = 0.0, bytes_per_second: object = None) -> None:
        """Set both knobs (checked first: a bad value changes nothing).

        Raises:
            ValueError: A negative, infinite or non-numeric value.
        """
        latency = _number(latency_seconds, "latency_seconds")
        bandwidth = _number(bytes_per_second, "bytes_per_second", allow_none=True)
        self.latency_seconds = latency or 0.0
        self.bytes_per_second = bandwidth or None

    def describe(self) -> dict[str, Any]:
        """The profile as the control plane shows it."""
        return {"latency_seconds": self.latency_seconds, "bytes_per_second": self.bytes_per_second}

    @property
    def active(self) -> bool:
        """Whether the profile changes anything (when it does not, requests pass untouched)."""
        return self.latency_seconds > 0 or self.bytes_per_second is not None

    async def pace(self, direction: str, nbytes: int) -> None:
        """Wait until `nbytes` have crossed the link in `direction` ("up" or "down"), behind earlier bytes."""
        rate = self.bytes_per_second
        if rate is None or nbytes <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        # One event loop: no await between reading and moving the link's clock, so requests queue fairly.
        done = max(now, self._free_at[direction]) + nbytes / rate
        self._free_at[direction] = done
        await asyncio.sleep(done - now)

    def wrap(self, receive: Receive, send: Send) -> tuple[Receive, Send]:
        """`receive` and `send` with their body bytes paced through the link."""
        return _PacedReceive(self, receive), _paced_send(self, send)


class _PacedReceive:
    """A request body's chunks, each delivered once it has crossed the link.

    `cycle` is the server's own request cycle behind `receive`, which fault effects use to drop the
    connection: wrapping must not hide it.
    """

    def __init__(self, profile: NetworkProfile, receive: Receive) -> None:
        self.profile = profile
        self.receive = receive
        self.cycle = getattr(receive, "cycle", None) or getattr(receive, "__self__", None)

    async def __call__(self) -> Message:
        message = await self.receive()
        await self.profile.pace("up", len(message.get("body", b"")))
        return message


def _paced_send(profile: NetworkProfile, send: Send) -> Send:
    async def paced(message: Message) -> None:
        if message["type"] == "http.response.body":
            await profile.pace("down", len(message.get("body", b"")))
        await send(message)

    return paced
