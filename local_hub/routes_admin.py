"""The control plane under `/_local_hub/`: stats, reset, faults, branches, users, limits, the journal.

Off unless the server was started with an admin token; every call must carry it in
`X-Local-Hub-Admin`. A user's SDK token never opens it (the two are checked to differ at start).
"""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from local_hub.cdn import download_redirect_mode, url_ttl
from local_hub.envelope import hub_of, json_body
from local_hub.errors import BadRequest, Forbidden, NotFound
from local_hub.hub_files import hub_files_mode
from local_hub.repo_types import repo_type
from local_hub.routes_models import int_param
from local_hub.store import validate_name, validate_ref_name

ADMIN_HEADER = "x-local-hub-admin"


def _authorize(request: Request) -> None:
    expected = hub_of(request).options.admin_token
    if expected is None:
        raise NotFound("the control plane is disabled (start local_hub with --admin-token)")
    given = request.headers.get(ADMIN_HEADER, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("control plane: missing or wrong X-Local-Hub-Admin header")


async def health(request: Request) -> JSONResponse:
    """GET /_local_hub/health: readiness probe, open to all, reveals nothing."""
    return JSONResponse({"ok": True})


async def stats(request: Request) -> JSONResponse:
    """GET /_local_hub/stats: per-route request counts (and `in_flight_peak`: the most requests of each route
    served at once), blob bytes, commits (total and counters); under
    host names or TLS also `proxy` and `proxy_refused` (host -> count) and `cdn_refused` (reason -> count)."""
    _authorize(request)
    hub = hub_of(request)
    snapshot = hub.stats.snapshot(topology=hub.hosts is not None)
    snapshot["commits_total"] = await run_in_threadpool(hub.store.commit_count)
    snapshot["faults"] = hub.faults.describe()
    return JSONResponse(snapshot)


async def reset(request: Request) -> JSONResponse:
    """POST /_local_hub/reset {"stats": true, "faults": true, "network": true, "journal": true, "state": false}."""
    _authorize(request)
    body = await json_body(request)
    hub = hub_of(request)
    if body.get("faults", True):
        hub.faults.clear()
    if body.get("network", True):
        hub.network.configure(0.0, None)
    if body.get("state", False):
        await run_in_threadpool(hub.store.reset)
    if body.get("stats", True):
        hub.stats.reset()
    if body.get("journal", True):
        hub.journal.clear()
    return JSONResponse({"ok": True})


async def faults(request: Request) -> JSONResponse:
    """GET lists the rules with counters; PUT {"rules": [...], "seed": n} replaces them; DELETE clears."""
    _authorize(request)
    table = hub_of(request).faults
    if request.method == "PUT":
        body = await json_body(request)
        rules = body.get("rules", [])
        if not isinstance(rules, list):
            raise BadRequest("'rules' must be a list")
        seed = body.get("seed")
        table.configure(rules, seed=int(seed) if seed is not None else None)
    elif request.method == "DELETE":
        table.clear()
    return JSONResponse({"rules": table.describe()})


async def network(request: Request) -> JSONResponse:
    """GET shows the network profile; PUT {"latency_seconds": s, "bytes_per_second": n | null} sets it
    (both keys; a missing one means none); DELETE removes it."""
    _authorize(request)
    profile = hub_of(request).network
    if request.method == "PUT":
        body = await json_body(request)
        unknown = set(body) - {"latency_seconds", "bytes_per_second"}
        if unknown:
            raise BadRequest(f"unknown network key(s) {sorted(unknown)}: use latency_seconds, bytes_per_second")
        try:
            profile.configure(body.get("latency_seconds", 0.0), body.get("bytes_per_second"))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
    elif request.method == "DELETE":
        profile.configure(0.0, None)
    return JSONResponse(profile.describe())


async def create_branch(request: Request) -> JSONResponse:
    """POST /_local_hub/branches {"model_id", "branch", "revision", "repo_type"}: what git push / the website
    do; `repo_type` is `model` (the default) or `dataset`, whose id goes in `model_id` all the same."""
    _authorize(request)
    body = await json_body(request)
    owner, _, name = str(body.get("model_id", "")).partition("/")
    branch = validate_ref_name(body.get("branch"), "branch")
    try:
        kind = repo_type(body.get("repo_type") or "model")
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    store = hub_of(request).store
    repo = store.find_repo(owner, name, kind.name)
    if repo is None:
        raise NotFound(f"{kind.name} {body.get('model_id')!r} not found")
    commit_id = await run_in_threadpool(store.create_branch, repo, branch, str(body.get("revision") or "master"))
    return JSONResponse({"branch": branch, "commit_id": commit_id})


async def users(request: Request) -> JSONResponse:
    """POST /_local_hub/users {"name", "token", "email"?, "groups"?: [..]}: add or update a user."""
    _authorize(request)
    body = await json_body(request)
    name, token = validate_name(body.get("name"), "user name"), body.get("token")
    hub = hub_of(request)
    if not isinstance(token, str) or not token or token == hub.options.admin_token:
        raise BadRequest("token must be a non-empty string different from the admin token")
    await run_in_threadpool(hub.store.ensure_user, name, token, body.get("email"))
    for group in body.get("groups") or []:
        await run_in_threadpool(hub.store.ensure_group, group, [name])
    return JSONResponse({"name": name})


async def config(request: Request) -> JSONResponse:
    """PUT /_local_hub/config {"tree_limit": n, "max_list_offset": n, "revision_commit_ids": bool,
    "clock_offset_seconds": s, "gitattributes": mode, "strict": bool, "download_redirect": mode,
    "cdn_url_ttl_seconds": s}: change server behaviour live. The last two are answered only by a hub with
    host names or TLS (they act on downloads from `www.`), so plain loopback answers as it always did."""
    _authorize(request)
    body = await json_body(request)
    options = hub_of(request).options
    for key in ("tree_limit", "max_list_offset"):
        if key in body:
            setattr(options, key, int_param(body[key], key, getattr(options, key)))
    for key in ("revision_commit_ids", "strict"):
        if key in body:
            if not isinstance(body[key], bool):
                raise BadRequest(f"{key} must be true or false")
            setattr(options, key, body[key])
    if "clock_offset_seconds" in body:
        offset = body["clock_offset_seconds"]
        if isinstance(offset, bool) or not isinstance(offset, (int, float)):
            raise BadRequest("clock_offset_seconds must be a number of seconds")
        options.clock_offset_seconds = float(offset)
    checks = {"gitattributes": hub_files_mode, "download_redirect": download_redirect_mode}
    checks["cdn_url_ttl_seconds"] = url_ttl
    for key, check in checks.items():
        if key in body:
            try:
                setattr(options, key, check(body[key]))
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
    answer = {
        "tree_limit": options.tree_limit,
        "max_list_offset": options.max_list_offset,
        "revision_commit_ids": options.revision_commit_ids,
        "clock_offset_seconds": options.clock_offset_seconds,
        "gitattributes": options.gitattributes,
        "strict": options.strict,
    }
    if options.topology:
        answer |= {"download_redirect": options.download_redirect, "cdn_url_ttl_seconds": options.cdn_url_ttl_seconds}
    return JSONResponse(answer)


async def journal(request: Request) -> JSONResponse:
    """GET /_local_hub/journal: `{"entries": [...], "dropped": n}`, the shape of each API request in
    arrival order (`local_hub.journal`; never a value). DELETE clears it."""
    _authorize(request)
    entries = hub_of(request).journal
    if request.method == "DELETE":
        entries.clear()
    return JSONResponse({"entries": entries.entries(), "dropped": entries.dropped})
