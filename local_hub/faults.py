"""Fault injection: the ASGI middleware that applies the rules of `local_hub.fault_rules` and logs access.

It names the route of every request, counts it, asks the table which rule (if any) fires, and
applies that rule's effect: answer a status, wait, drop the connection, land the request and then
fail, stretch, corrupt or withhold the response.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.routing import Match

from local_hub.errors import OPENAPI_CODES_BY_STATUS

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from local_hub.fault_rules import FaultRule
    from local_hub.state import HubState

access_log = logging.getLogger("local_hub.access")
# The scope key under which the inner layers (`local_hub.inspection`) find the route's name.
ROUTE_SCOPE_KEY = "local_hub.route"


def _cycle(receive: Receive) -> Any:
    """uvicorn's per-request cycle object, which owns the connection's transport (also behind the
    network profile's paced `receive`, which keeps it as `cycle`)."""
    return getattr(receive, "cycle", None) or getattr(receive, "__self__", None)


async def _drop_connection(receive: Receive) -> None:
    """Close the TCP connection at once, with no (further) response bytes."""
    cycle = _cycle(receive)
    transport = getattr(cycle, "transport", None)
    if transport is None:  # not under uvicorn: the best we can do is fail the ASGI call
        raise ConnectionAbortedError("local_hub fault: connection dropped")
    transport.abort()
    cycle.disconnected = True  # uvicorn must not try to write a 500 on a dead socket
    await asyncio.sleep(0)


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return


async def _hang(receive: Receive, seconds: float) -> None:
    """Sleep until `seconds` pass or the client disconnects.

    The request is read (and dropped) meanwhile: with a body left unread, the server stops reading the
    socket and would never notice that the client went away (a hung upload held on for all `seconds`).
    """
    deadline = time.monotonic() + (seconds or 3600.0)
    cycle = _cycle(receive)
    gone = asyncio.Event()

    async def listen() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    listener = asyncio.ensure_future(listen())
    try:
        while time.monotonic() < deadline and not gone.is_set() and not getattr(cycle, "disconnected", False):
            await asyncio.sleep(0.05)
    finally:
        listener.cancel()


class FaultMiddleware:
    """Outermost ASGI layer: names the route, counts it, applies faults, logs access lines.

    Args:
        app: The Starlette app whose routes name requests.
        state: Counters and the fault table.
    """

    def __init__(self, app: ASGIApp, state: HubState) -> None:
        self.app = app
        self.state = state
        # `rendezvous` rules: how many requests wait at each, and the event that lets them all go.
        self._meetings: dict[int, tuple[list[int], asyncio.Event]] = {}

    def route_name(self, scope: Scope) -> str:
        """The name of the route this request goes to ("unmatched" when none).

        Like Starlette's router, a full match (path and method) wins over an earlier partial one
        (path only), so `PUT /api/v1/models/o/n` is `update_model`, not `get_model`.
        """
        partial = None
        for route in getattr(self.app, "routes", []):
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return getattr(route, "name", "unmatched")
            if match == Match.PARTIAL and partial is None:
                partial = getattr(route, "name", "unmatched")
        return partial or "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):  # the hub accepts a trailing slash everywhere
            scope = {**scope, "path": path.rstrip("/")}
        route, method, started = self.route_name(scope), scope["method"], time.perf_counter()
        if self.state.hosts is not None:  # host names: a route another name serves is unmatched here
            scope, route = self.state.hosts.place(scope, route)
        scope = {**scope, ROUTE_SCOPE_KEY: route}
        status_box = [0]

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
            await send(message)

        control = route.startswith("admin_") or route == "health"  # the readiness probe is never faulted
        if not control:
            self.state.stats.count_request(route)
        rule = None if control else self.state.faults.pick(route, scope["path"], method)
        network = self.state.network
        if not control and network.active:  # the link first: faults act on the paced stream
            await asyncio.sleep(network.latency_seconds)
            receive, observed_send = network.wrap(receive, observed_send)
        try:
            if rule is None:
                await self.app(scope, receive, observed_send)
            else:
                await self._apply(rule, scope, receive, observed_send)
        finally:
            if not control:
                self.state.stats.count_request(route, status_box[0])
            access_log.info(
                "%s %s %s %.1fms%s",
                method,
                scope["path"],
                status_box[0] or "-",
                (time.perf_counter() - started) * 1000,
                f" fault={rule.effect}" if rule else "",
            )

    async def _apply(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        effect = rule.effect
        if effect == "latency":
            await asyncio.sleep(rule.seconds)
            await self.app(scope, receive, send)
        elif effect == "status":
            await _drain(receive)
            await self._send_error(scope, send, rule)
        elif effect == "drop":
            await _drain(receive)
            await _drop_connection(receive)
        elif effect == "rendezvous":
            await self._meet(rule)
            await self.app(scope, receive, send)
        elif effect == "hang":
            await _hang(receive, rule.seconds)
            await _drop_connection(receive)
        elif effect == "drop_mid_body":
            await self._drop_mid_body(rule, scope, receive, send)
        elif effect == "apply_then_fail":
            await self._apply_then_fail(rule, scope, receive, send)
        else:  # slow_body, corrupt_body: rewrite the response stream
            await self.app(scope, receive, _BodyRewriter(rule, send))

    async def _send_error(self, scope: Scope, send: Send, rule: FaultRule) -> None:
        status = rule.status
        rid = self.state.ids.request_id()
        from local_hub.envelope import error_body  # envelope imports starlette only; kept lazy for clarity

        body = json.dumps(
            error_body(
                scope["path"],
                status,
                status,
                OPENAPI_CODES_BY_STATUS.get(status, "InternalServerError"),
                f"local_hub injected fault: HTTP {status}",
                rid,
            )
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid.encode()),
        ]
        if rule.retry_after is not None:
            value = rule.retry_after
            headers.append((b"retry-after", (str(int(value)) if float(value).is_integer() else str(value)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _meet(self, rule: FaultRule) -> None:
        """Wait until `rule.count` requests wait at this rule (or `rule.seconds` pass, when set)."""
        waiting, everyone = self._meetings.setdefault(id(rule), ([0], asyncio.Event()))
        waiting[0] += 1
        if waiting[0] >= rule.count:
            everyone.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(everyone.wait(), timeout=rule.seconds or None)

    async def _drop_mid_body(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        length = int(headers.get(b"content-length", b"0") or 0)
        if length > 0:
            received = 0

            async def cut_receive() -> Message:
                nonlocal received
                message = await receive()
                received += len(message.get("body", b""))
                # Also when the first half arrives in the final message (a small body read in one
                # piece): the app must never see a complete request it could apply.
                if received * 2 >= length:
                    await _drop_connection(receive)
                    return {"type": "http.disconnect"}
                return message

            await self.app(scope, cut_receive, send)
            return
        sent_start = False

        async def cut_send(message: Message) -> None:
            nonlocal sent_start
            if message["type"] == "http.response.start":
                sent_start = True
                await send(message)
            elif sent_start and message.get("body"):
                body = message["body"]
                await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
                if rule.seconds > 0:  # a transfer that stalls half-way before it breaks (a signed URL expires)
                    await _hang(receive, rule.seconds)
                await _drop_connection(receive)
                sent_start = False  # swallow whatever the app still sends

        await self.app(scope, receive, cut_send)

    async def _apply_then_fail(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)  # the request takes effect; its answer is lost
        if rule.then == "drop":
            await _drop_connection(receive)
        elif rule.then == "hang":
            await _hang(receive, rule.seconds)
            await _drop_connection(receive)
        else:
            await self._send_error(scope, send, rule)


class _BodyRewriter:
    """A `send` wrapper for `slow_body` and `corrupt_body`."""

    def __init__(self, rule: FaultRule, send: Send) -> None:
        self.rule = rule
        self.send = send
        self.corrupted = False

    async def __call__(self, message: Message) -> None:
        body = message.get("body", b"")
        if message["type"] != "http.response.body" or not body:
            await self.send(message)
            return
        if self.rule.effect == "corrupt_body" and not self.corrupted:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
            self.corrupted = True
            await self.send({**message, "body": body})
            return
        pieces = 10
        step = max(1, len(body) // pieces)
        for start in range(0, len(body), step):
            await asyncio.sleep(self.rule.seconds / pieces)
            last = start + step >= len(body)
            await self.send(
                {
                    "type": "http.response.body",
                    "body": body[start : start + step],
                    "more_body": message.get("more_body", False) or not last,
                }
            )
