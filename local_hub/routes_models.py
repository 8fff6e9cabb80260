"""Model-level endpoints: login, whoami, create/get/update/delete/list models, revisions, tags, commits (the
last three, and delete, serve datasets too: `app.TWINS`).

Shapes, codes and statuses cite protocol.md; where it marks a point UNCERTAIN the choice is noted.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from local_hub.envelope import (
    SESSION_COOKIE,
    caller,
    hub_of,
    json_body,
    legacy_ok,
    openapi_ok,
    presented_token,
    repo_type_of,
    requested_repo,
    require_caller,
)
from local_hub.errors import BadRequest, Forbidden, LoginFailed, NotFound, Unauthorized
from local_hub.store import VISIBILITIES, Commit, Repo, Store, validate_name, validate_ref_name

SESSION_SECONDS = 30 * 24 * 3600  # the SDK's "login once within 30 days" (§Op 1)
MAX_PAGE_SIZE = 100


def iso(ts: int) -> str:
    """Epoch seconds as ISO-8601 UTC with a `Z`, the OpenAPI surface's time format (§Op 4)."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def int_param(raw: Any, what: str, default: int, low: int = 1, high: int | None = None) -> int:
    """An integer query or body parameter within bounds, else a 400 naming it."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{what} must be an integer, got {raw!r}") from exc
    if value < low or (high is not None and value > high):
        raise BadRequest(f"{what} must be between {low} and {high}" if high else f"{what} must be >= {low}")
    return value


def visibility_param(raw: Any, default: int = 5) -> int:
    """Visibility 1 (private), 3 (internal) or 5 (public)."""
    value = int_param(raw, "Visibility", default, low=0)
    if value not in VISIBILITIES:
        raise BadRequest(f"Visibility must be 1 (private), 3 (internal) or 5 (public), got {value}")
    return value


def legacy_model(repo: Repo, revision: str | None = None) -> dict[str, Any]:
    """A model as the legacy surface describes it (the `Data` keys the old SDK reads, §Op 4)."""
    return {
        "Id": repo.id,
        "Name": repo.name,
        "Path": repo.owner,
        "Owner": repo.owner,
        "ChineseName": repo.chinese_name,
        "Visibility": repo.visibility,
        "License": repo.license,
        "Description": repo.description,
        "OriginalModelId": repo.original_model_id,
        "Downloads": 0,
        "Stars": 0,
        "Likes": 0,
        "CreatedTime": repo.created_at,
        "LastUpdatedTime": repo.updated_at,
        "CreatedBy": repo.created_by,
        "Tasks": [],
        "Tags": [],
        "IsPublished": 1,
        "IsOnline": 1,
        "IsAccessible": 1,
        "ReadMeContent": "",
        "Revision": revision or "",
    }


def openapi_model(repo: Repo, store: Store, detail: bool = False) -> dict[str, Any]:
    """A model as the OpenAPI surface describes it (`SPEC` Model/ModelDetail, §Op 4), a dataset too (the
    keys the SDK reads of one are a subset of a model's, §21.2).

    UNCERTAIN mapping: OpenAPI only has `private`; internal (3) and private (1) both give `true`.
    """
    model = {
        "id": repo.repo_id,
        "display_name": repo.chinese_name or repo.name,
        "description": repo.description,
        "downloads": 0,
        "likes": 0,
        "license": repo.license,
        "tasks": [],
        "created_at": iso(repo.created_at),
        "last_modified": iso(repo.updated_at),
        "file_size": store.repo_file_size(repo),
        "params": 0,
        "tags": [],
        "private": repo.visibility != 5,
        "gated": False,
    }
    if detail:
        model["readme"] = ""
    return model


async def login(request: Request) -> JSONResponse:
    """POST /api/v1/login: exchange an SDK token for the git token and a session cookie (§Op 1)."""
    body = await json_body(request)
    token = body.get("AccessToken")
    user = hub_of(request).store.user_for_token(token) if isinstance(token, str) and token else None
    if user is None:
        raise LoginFailed("登录失败，AccessToken错误 (login failed: the AccessToken is wrong or expired)")
    response = legacy_ok(request, {"AccessToken": user.git_token, "Email": user.email, "Username": user.name})
    # Choice (UNCERTAIN in §Op 1): the session cookie's value is the SDK token itself, as both SDKs assume.
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_SECONDS, path="/", httponly=True)
    return response


async def whoami(request: Request) -> JSONResponse:
    """GET /openapi/v1/users/me: the profile of the token's owner; 401 without a valid token."""
    if presented_token(request) is None:
        raise Unauthorized("missing API token")
    user = require_caller(request)
    return openapi_ok(
        request,
        {"username": user.name, "nickname": user.name, "description": "", "email": user.email, "avatar_url": ""},
    )


async def create_model(request: Request) -> JSONResponse:
    """POST /api/v1/models: create an empty model; a taken name is 400 + 10010101001 (§Op 2)."""
    user = require_caller(request)
    body = await json_body(request)
    owner = validate_name(body.get("Path"), "owner (Path)")
    name = validate_name(body.get("Name"), "model name (Name)")
    visibility = visibility_param(body.get("Visibility"))
    license_name = body.get("License") or "Apache License 2.0"
    texts = {k: body.get(k) or "" for k in ("ChineseName", "Description")}
    original = body.get("OriginalModelId") or body.get("original_model_id") or ""
    if not all(isinstance(v, str) for v in (license_name, original, *texts.values())):
        raise BadRequest("License, ChineseName, Description and OriginalModelId must be strings")
    store = hub_of(request).store
    if not store.may_write_as(user, owner):
        raise Forbidden(f"user {user.name} may not create models under {owner}")
    repo = await run_in_threadpool(
        store.create_repo,
        owner,
        name,
        created_by=user.name,
        visibility=visibility,
        license=license_name,
        chinese_name=texts["ChineseName"],
        description=texts["Description"],
        original_model_id=original,
        author=user,
        gitattributes=hub_of(request).options.gitattributes,
    )
    # Data must be an object, never a string (§Op 2); its real content is UNCERTAIN.
    return legacy_ok(request, {"Id": repo.id, "Path": repo.owner, "Name": repo.name})


async def get_model(request: Request) -> JSONResponse:
    """GET /api/v1/models/{o}/{n}[?Revision=]: model details; 404 when missing or not visible (§Op 4)."""
    repo = requested_repo(request)
    revision = request.query_params.get("Revision") or None
    store = hub_of(request).store
    # Choice (UNCERTAIN): an unknown Revision is a 404 once the repo has commits.
    if revision and store.resolve(repo, revision) is None and store.refs(repo)[0]:
        raise NotFound(f"revision {revision!r} not found in {repo.repo_id}")
    return legacy_ok(request, legacy_model(repo, revision))


async def get_model_openapi(request: Request) -> JSONResponse:
    """GET /openapi/v1/models/{o}/{n}: the OpenAPI detail object (§Op 4)."""
    repo = requested_repo(request)
    return openapi_ok(request, openapi_model(repo, hub_of(request).store, detail=True))


async def update_model(request: Request) -> JSONResponse:
    """PUT /api/v1/models/{o}/{n}: change visibility, license, names (old set_repo_visibility)."""
    repo = requested_repo(request, write=True)
    body = await json_body(request)
    visibility = visibility_param(body["Visibility"]) if "Visibility" in body else None
    fields = {
        "visibility": visibility,
        "license": body.get("License"),
        "chinese_name": body.get("ChineseName"),
        "description": body.get("Description"),
    }
    updated = await run_in_threadpool(hub_of(request).store.update_repo, repo, **fields)
    return legacy_ok(request, legacy_model(updated))


async def delete_model(request: Request) -> JSONResponse:
    """DELETE /api/v1/{models|datasets}/{o}/{n}: remove the repo (emulated for test clean-up, §Op 3, §21.4)."""
    repo = requested_repo(request, write=True)
    await run_in_threadpool(hub_of(request).store.delete_repo, repo)
    return legacy_ok(request, {})


def list_page(request: Request, owner: str | None, number: int, size: int) -> tuple[list[Repo], int]:
    """One page of the visible repos of the request's type. Past the search window the page is empty
    (choice: the real hub stops at offset 10,000; the total still says how many exist, so a client can tell)."""
    hub = hub_of(request)
    offset = (number - 1) * size
    repos, total = hub.store.list_repos(owner, caller(request), offset, size, repo_type_of(request).name)
    if offset >= hub.options.max_list_offset:
        repos = []
    return repos[: max(0, hub.options.max_list_offset - offset)], total


async def list_models_legacy(request: Request) -> JSONResponse:
    """PUT /api/v1/models/ {Path, PageNumber, PageSize} -> Data {Models, TotalCount} (§Op 5, old client)."""
    body = await json_body(request)
    owner = body.get("Path") or None
    number = int_param(body.get("PageNumber"), "PageNumber", 1)
    size = int_param(body.get("PageSize"), "PageSize", 10, high=MAX_PAGE_SIZE)
    repos, total = list_page(request, owner, number, size)
    return legacy_ok(request, {"Models": [legacy_model(r) for r in repos], "TotalCount": total})


async def list_models_openapi(request: Request) -> JSONResponse:
    """GET /openapi/v1/models?owner=&page_number=&page_size= (§Op 5, SDK 1.40)."""
    query = request.query_params
    number = int_param(query.get("page_number"), "page_number", 1)
    size = int_param(query.get("page_size"), "page_size", 10, high=MAX_PAGE_SIZE)
    repos, total = list_page(request, query.get("owner") or None, number, size)
    store = hub_of(request).store
    return openapi_ok(
        request,
        {
            "models": [openapi_model(r, store) for r in repos],
            "total_count": total,
            "page_number": number,
            "page_size": size,
        },
    )


async def revisions(request: Request) -> JSONResponse:
    """GET /api/v1/{models|datasets}/{o}/{n}/revisions[?EndTime=]: branches and tags with integer CreatedAt.

    Tags come newest first; `EndTime` keeps tags created at or before it. Choices (UNCERTAIN in
    §Op 6): `EndTime` does not filter branches; a branch's CreatedAt is when it was created; each
    detail carries the `CommitId` its ref points at (the SDK ignores the field; our client uses it
    when present and resolves each ref through `/commits` when it is not, which
    `--no-revision-commit-ids` makes this hub do).
    """
    repo = requested_repo(request)
    end = request.query_params.get("EndTime")
    end_time = int_param(end, "EndTime", 0, low=0) if end else None
    branches, tags = hub_of(request).store.refs(repo)
    if end_time is not None:
        tags = [t for t in tags if t.created_at <= end_time]

    with_commit = hub_of(request).options.revision_commit_ids

    def detail(ref: Any) -> dict:
        listed = {"Revision": ref.name, "CreatedAt": ref.created_at}
        return {**listed, "CommitId": ref.commit_id} if with_commit else listed

    return legacy_ok(
        request, {"RevisionMap": {"Branches": [detail(b) for b in branches], "Tags": [detail(t) for t in tags]}}
    )


async def create_tag(request: Request) -> JSONResponse:
    """POST /api/v1/{models|datasets}/{o}/{n}/repo/tag {TagName, Ref}: tag a commit (§Op 9, §21.6).

    Choice (UNCERTAIN): the same tag again at the same commit succeeds; at another commit it is a
    400 "already exists" (which the SDK reads as AlreadyExistsError).
    """
    repo = requested_repo(request, write=True)
    body = await json_body(request)
    tag = validate_ref_name(body.get("TagName"), "tag")
    if tag.lower() in ("master", "main"):
        raise BadRequest(f"tag name {tag!r} is reserved for branches")
    ref = body.get("Ref") or "master"
    if not isinstance(ref, str):
        raise BadRequest("Ref must be a branch, tag or commit id")
    commit_id = await run_in_threadpool(hub_of(request).store.create_tag, repo, tag, ref)
    return legacy_ok(request, {"TagName": tag, "Ref": ref, "CommitId": commit_id})


def commit_json(commit: Commit) -> dict[str, Any]:
    """One commit as the commits endpoint lists it (`OLD-RU DetailedCommitInfo` keys).

    Choice (UNCERTAIN): dates are ISO-8601 UTC strings, as GitLab-backed APIs give them.
    """
    when = iso(commit.created_at)
    title = commit.message.splitlines()[0] if commit.message else ""
    return {
        "Id": commit.id,
        "ShortId": commit.id[:8],
        "Title": title,
        "Message": commit.message,
        "AuthorName": commit.author,
        "AuthorEmail": commit.email,
        "AuthoredDate": when,
        "CommitterName": commit.author,
        "CommitterEmail": commit.email,
        "CommittedDate": when,
        "CreatedAt": when,
    }


async def commits(request: Request) -> JSONResponse:
    """GET /api/v1/{models|datasets}/{o}/{n}/commits?Ref=&PageNumber=&PageSize=: history, newest first (§17).

    For datasets its existence is UNCERTAIN (protocol.md documents it for models only, and no SDK calls it
    for a dataset); local_hub serves it the same way, for a client that resolves a ref without `CommitId`.
    """
    repo = requested_repo(request)
    query = request.query_params
    ref = query.get("Ref") or "master"
    number = int_param(query.get("PageNumber"), "PageNumber", 1)
    size = int_param(query.get("PageSize"), "PageSize", 10, high=MAX_PAGE_SIZE)
    store = hub_of(request).store
    head = store.resolve(repo, ref)
    if head is None:
        if store.refs(repo)[0]:
            raise NotFound(f"revision {ref!r} not found in {repo.repo_id}")
        return legacy_ok(request, {"Commit": []}, TotalCount=0)
    page, total = await run_in_threadpool(store.history, head, (number - 1) * size, size)
    return legacy_ok(request, {"Commit": [commit_json(c) for c in page]}, TotalCount=total)
