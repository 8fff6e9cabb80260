"""Each host name keeps to its routes: the middleware that answers 404 for the others, and the refusals
of the upload host (`lfs.`) for uploads without credentials or without write permission.

Only a hub with host names or TLS runs this layer (`app.create_app`); plain loopback never sees it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from local_hub.cdn import oss_error
from local_hub.envelope import SESSION_COOKIE, error_body, hub_of, repo_type_of
from local_hub.faults import ROUTE_SCOPE_KEY
from local_hub.hosts import HOST_SCOPE_KEY, Host
from local_hub.middleware import InnerMiddleware

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from local_hub.store import User

log = logging.getLogger("local_hub")
# protocol.md §22.5 (third-party report, not verified): what `lfs.` answers a PUT without credentials
# and a PUT by a user who may not write.
LFS_NOT_LOGGED_IN = (400, 10030000001, "user not logged in")
LFS_NO_WRITE = (403, 403, "no write permission to repository")


class HostGate(InnerMiddleware):
    """ASGI middleware: a request its host does not serve (`local_hub.hosts`) gets a 404 in that host's
    shape, as an unknown path does; everything else passes.

    The fault middleware outside has already named such a request "unmatched"; the router inside
    would still find the route by its path, so this layer must answer it.

    Args:
        app: The Starlette app (its `routes` stay visible to the fault middleware outside).
        state: The hub's state (its request ids).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host: Host | None = scope.get(HOST_SCOPE_KEY)
        if scope["type"] != "http" or host is None or scope.get(ROUTE_SCOPE_KEY) != "unmatched":
            await self.app(scope, receive, send)
            return
        log.warning("unknown path %s %s on %s", scope["method"], scope["path"], host.name)
        rid = self.state.ids.request_id()
        if host.role == "cdn":  # object storage answers in its own XML
            body = oss_error("NoSuchKey", "The specified key does not exist.", rid, host.name)
            response: Response = Response(body, 404, {"x-oss-request-id": rid}, media_type="application/xml")
        else:
            message = f"no such endpoint: {scope['method']} {scope['path']}"
            body_json = error_body(scope["path"], 404, 404, "ResourceNotFound", message, rid)
            response = JSONResponse(body_json, 404, {"x-request-id": rid})
        await response(scope, receive, send)


def _lfs_user(request: Request) -> User | None:
    """The user a valid Bearer token or a valid session cookie names (either will do)."""
    store = hub_of(request).store
    auth = request.headers.get("authorization", "")
    candidates = [auth[7:].strip()] if auth[:7].lower() == "bearer " else []
    candidates.append(request.cookies.get(SESSION_COOKIE, ""))
    return next((user for token in candidates if token and (user := store.user_for_token(token))), None)


def _lfs_answer(request: Request, refusal: tuple[int, int, str]) -> JSONResponse:
    status, code, message = refusal
    rid = hub_of(request).ids.request_id()
    body = {"Code": code, "Message": message, "Success": False, "RequestId": rid}
    return JSONResponse(body, status_code=status, headers={"x-request-id": rid})


def lfs_refusal(request: Request) -> JSONResponse | None:
    """What `lfs.` answers a blob PUT in place of storing it, or None to go on.

    A PUT with neither a valid Bearer token nor a valid `m_session_id` cookie is a 400 "user not logged
    in"; one by a user who can see the repo but may not write to it is a 403. The API hosts answer
    those with the envelope's 401 and 403 instead (`store.repo_for`).
    """
    host: Host | None = request.scope.get(HOST_SCOPE_KEY)
    if host is None or host.role != "lfs":
        return None
    user = _lfs_user(request)
    if user is None:
        return _lfs_answer(request, LFS_NOT_LOGGED_IN)
    store, params = hub_of(request).store, request.path_params
    repo = store.find_repo(params["owner"], params["name"], repo_type_of(request).name)
    if repo is not None and store.may_read(user, repo) and not store.may_write_as(user, repo.owner):
        return _lfs_answer(request, LFS_NO_WRITE)
    return None
