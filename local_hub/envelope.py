"""Wire shaping shared by every route: the two envelopes, JSON bodies, and who is calling."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from local_hub.errors import BadRequest, HubApiError, Unauthorized

if TYPE_CHECKING:
    from local_hub.state import HubState
    from local_hub.store import User

SESSION_COOKIE = "m_session_id"
# Scope keys set by `local_hub.inspection`: the JSON body it decoded (None: empty body), and the
# error strict mode answers when the route reads a body no official client sends.
PARSED_BODY = "local_hub.json"
BODY_REFUSAL = "local_hub.body_refusal"


def hub_of(request: Request) -> HubState:
    """The emulator state this app serves."""
    return request.app.state.hub


def is_openapi(path: str) -> bool:
    """True for the snake_case `/openapi/v1` surface (§1.3); everything else is legacy (§1.2)."""
    return path.startswith("/openapi/")


def legacy_ok(request: Request, data: Any, status: int = 200, **top: Any) -> JSONResponse:
    """`{"Code":200,"Data":…,"Message":"success","RequestId":…,"Success":true}` (+ top-level counters)."""
    rid = hub_of(request).ids.request_id()
    body = {"Code": 200, "Data": data, "Message": "success", "RequestId": rid, "Success": True, **top}
    return JSONResponse(body, status_code=status, headers={"x-request-id": rid})


def openapi_ok(request: Request, data: Any) -> JSONResponse:
    """`{"success":true,"data":…,"request_id":…}` (§1.3)."""
    rid = hub_of(request).ids.request_id()
    body = {"success": True, "data": data, "message": "success", "request_id": rid}
    return JSONResponse(body, headers={"x-request-id": rid})


def error_body(path: str, status: int, code: int | str, openapi_code: str, message: str, rid: str) -> dict:
    """The error envelope of the surface `path` belongs to; all keys always present."""
    if is_openapi(path):
        return {"success": False, "code": openapi_code, "message": message, "request_id": rid}
    return {"Code": code, "Data": None, "Message": message, "RequestId": rid, "Success": False}


def error_response(request: Request, exc: HubApiError) -> JSONResponse:
    """Serve a `HubApiError` in the hub's shape, with its real HTTP status."""
    rid = hub_of(request).ids.request_id()
    body = error_body(request.url.path, exc.status, exc.code, exc.openapi_code, exc.message, rid)
    return JSONResponse(body, status_code=exc.status, headers={"x-request-id": rid, **exc.headers})


async def json_body(request: Request) -> dict[str, Any]:
    """Parse a JSON object body whatever the Content-Type says (old clients send none, §1.6).

    Raises:
        BadRequest: Not a JSON object.
        HubApiError: Strict mode found a key, a missing key or a type no official client sends
            (`local_hub.inspection`); raised here, when the route reads its body, so that what the
            route checks first (the caller, the repo) is answered first.
    """
    if BODY_REFUSAL in request.scope:
        raise request.scope[BODY_REFUSAL]
    if PARSED_BODY in request.scope:  # decoded once already, on its way in
        value = request.scope[PARSED_BODY]
        value = {} if value is None else value
    else:
        raw = await request.body()
        try:
            value = json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest("request body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise BadRequest("request body must be a JSON object")
    return value


def presented_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer` or the `m_session_id` cookie (either is accepted, §1.4)."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer " and auth[7:].strip():
        return auth[7:].strip()
    return request.cookies.get(SESSION_COOKIE) or None


def caller(request: Request) -> User | None:
    """The calling user, None when anonymous.

    Raises:
        Unauthorized: A token was sent but the hub does not know it.
    """
    token = presented_token(request)
    if token is None:
        return None
    user = hub_of(request).store.user_for_token(token)
    if user is None:
        raise Unauthorized("用户未登录 (the access token is invalid or expired)")
    return user


def require_caller(request: Request) -> User:
    """The calling user; anonymous calls are a 401."""
    user = caller(request)
    if user is None:
        raise Unauthorized("用户未登录 (login required: send an SDK access token)")
    return user
