"""The middleware between fault injection and the routes: it journals the shape of each API request
and, in strict mode, answers 400 to a query or JSON body that no official client sends.

It sees what the routes would see: a request that a fault answers in their place (an injected status,
a dropped connection) never reaches it, so it is neither journaled nor checked. A JSON body is read
once here, handed to the route already decoded (`envelope.PARSED_BODY`) and replayed to it, so
nothing is parsed twice; a blob or a git pack streams through untouched (its shape is `"bytes"`).

When strict mode refuses: a query, or a body on a route that takes none, on arrival; a JSON body when
the route reads it (`envelope.json_body` raises the refusal left in the scope), so a route that turns
the caller away first (no login, a token it does not know, no such repo, a surface not emulated)
answers with its own error, as a hub that authenticates before it binds a body would.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

from local_hub.dialect import DIALECT, RouteDialect
from local_hub.envelope import BODY_REFUSAL, PARSED_BODY, error_body
from local_hub.errors import HubApiError
from local_hub.faults import ROUTE_SCOPE_KEY
from local_hub.forms import parse_form
from local_hub.hosts import HOST_SCOPE_KEY
from local_hub.journal import journal_entry, parse_query
from local_hub.middleware import InnerMiddleware
from local_hub.shapes import BYTES, Shape, shape_of
from local_hub.strict import body_problem, form_problem, query_problem

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope, Send


_UNDECODED = object()  # a body that is not JSON: the route answers it with its own 400


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return headers.get(b"content-length", b"0") not in (b"", b"0") or b"transfer-encoding" in headers


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole request body, and whether the client went away before it was complete."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


class _Replay:
    """A `receive` that hands the route the body read here, then defers to the server's own."""

    def __init__(self, body: bytes, disconnected: bool, receive: Receive) -> None:
        self._first: Message = (
            {"type": "http.disconnect"} if disconnected else {"type": "http.request", "body": body, "more_body": False}
        )
        self._receive = receive
        self._sent = False

    async def __call__(self) -> Message:
        if not self._sent:
            self._sent = True
            return self._first
        return await self._receive()


def _decode(raw: bytes) -> Any:
    """The JSON value of a body (None when empty), or `_UNDECODED`."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return _UNDECODED


class RequestInspector(InnerMiddleware):
    """ASGI middleware: journal every API request's shape; in strict mode refuse foreign dialects.

    Args:
        app: The Starlette app (its `routes` stay visible to the fault middleware outside).
        state: The hub whose journal and options (`strict`) apply.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        dialect = DIALECT.get(scope.get(ROUTE_SCOPE_KEY, "")) if scope["type"] == "http" else None
        if dialect is None:  # the control plane, surfaces local_hub does not emulate, unknown paths
            await self.app(scope, receive, send)
            return
        route = scope[ROUTE_SCOPE_KEY]
        value: Any = None
        fields: dict[str, str] | None = None
        shape: Shape | None = BYTES if dialect.raw and _has_body(scope) else None
        takes_body = dialect.body is not None or dialect.form is not None
        if not dialect.raw and (takes_body or _has_body(scope)):
            raw, disconnected = await _read_body(receive)
            receive = _Replay(raw, disconnected, receive)
            if dialect.form is not None:  # a form is read again by the route (`envelope.form_body`)
                fields = parse_form(dict(scope["headers"]).get(b"content-type", b"").decode("latin-1"), raw)
            value = _decode(raw) if fields is None else _UNDECODED
            if value is not _UNDECODED:
                scope = {**scope, PARSED_BODY: value}
            shape = BYTES if value is _UNDECODED else (None if value is None else shape_of(value))
            shape = shape_of(fields) if fields is not None else shape
        params = parse_query(scope["query_string"])
        host = scope.get(HOST_SCOPE_KEY)  # only under the realistic topology; plain entries stay as they were
        entry = journal_entry(route, scope["method"], params, scope["headers"], shape, host=host and host.name)
        self.state.journal.add(entry)
        if self.state.options.strict and dialect.strict:
            problem = query_problem(route, dialect, params)
            if problem is None:
                if dialect.form is not None:
                    problem = form_problem(route, dialect, fields)
                elif value is not _UNDECODED:
                    problem = body_problem(route, dialect, value)
                if problem and takes_body:  # the route raises it when it reads its body
                    scope, problem = {**scope, BODY_REFUSAL: _refusal(dialect, problem)}, None
            if problem:
                await self._refuse(scope, receive, send, _refusal(dialect, problem))
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: HubApiError) -> None:
        """The refusal in the envelope of the route's surface (what `envelope.error_response` serves)."""
        rid = self.state.ids.request_id()
        body = error_body(scope["path"], error.status, error.code, error.openapi_code, error.message, rid)
        await JSONResponse(body, status_code=error.status, headers={"x-request-id": rid})(scope, receive, send)


def _refusal(dialect: RouteDialect, problem: str) -> HubApiError:
    """The error strict mode answers with; its message names the field and the way out."""
    return dialect.refusal(f"strict local_hub: {problem} (start local_hub with --lenient to accept it)")
