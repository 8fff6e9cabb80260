"""Wire shaping shared by every route: the two envelopes, JSON and form bodies, who is calling, and which
repo (of which type) a request names."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from local_hub.errors import BadRequest, HubApiError, Unauthorized
from local_hub.forms import FORM_TYPES, parse_form
from local_hub.repo_types import MODEL, RepoType, by_segment

if TYPE_CHECKING:
    from local_hub.state import HubState
    from local_hub.store import Repo, User

SESSION_COOKIE = "m_session_id"
# Scope keys set by `local_hub.inspection`: the JSON body it decoded (None: empty body), and the
# error strict mode answers when the route reads a body no official client sends.
PARSED_BODY = "local_hub.json"
BODY_REFUSAL = "local_hub.body_refusal"
# The repo type a route serves (`typed`); routes without one serve models, or the type their URL names.
REPO_TYPE_KEY = "local_hub.repo_type"

Handler = Callable[[Request], Awaitable[Response]]


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


async def form_body(request: Request) -> dict[str, str]:
    """The fields of a form body (multipart/form-data or urlencoded), as the SDK sends a dataset's create
    (§21.1); a JSON object is taken too, when strict mode is off.

    Raises:
        BadRequest: Neither a form nor a JSON object.
        HubApiError: Strict mode's refusal (`local_hub.inspection`), as in `json_body`.
    """
    if BODY_REFUSAL in request.scope:
        raise request.scope[BODY_REFUSAL]
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() not in FORM_TYPES:
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in (await json_body(request)).items()}
    fields = parse_form(content_type, await request.body())
    if fields is None:
        raise BadRequest("request body is not a valid form")
    return fields


def typed(handler: Handler, repo_type: RepoType) -> Handler:
    """`handler` serving repos of `repo_type`: one handler, a route per type (`app.ROUTES`)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        request.scope[REPO_TYPE_KEY] = repo_type
        return await handler(request)

    return endpoint


def repo_type_of(request: Request) -> RepoType:
    """The repo type a request is about: its route's (`typed`), else the one its URL's `{repo_type}`
    segment names (`/api/v1/repos/{models|datasets}/...`), else models.

    Raises:
        NotImplementedOnHub: A `{repo_type}` segment local_hub does not emulate (studios, ...).
    """
    bound = request.scope.get(REPO_TYPE_KEY)
    if bound is not None:
        return bound
    segment = request.path_params.get("repo_type")
    return by_segment(segment) if segment is not None else MODEL


def requested_repo(request: Request, *, write: bool = False) -> Repo:
    """The repo `{owner}/{name}` of the request's type, as the caller may see it (and write it, with
    `write`); a missing or invisible repo is a 404 (`Store.repo_for`)."""
    params = request.path_params
    kind = repo_type_of(request)
    return hub_of(request).store.repo_for(
        caller(request), params["owner"], params["name"], write=write, repo_type=kind.name
    )
