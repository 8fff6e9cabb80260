"""The routing table (as data), the exception handlers, and the app factory."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from local_hub import routes_admin as admin
from local_hub import routes_cdn as cdn
from local_hub import routes_datasets as ds
from local_hub import routes_git as git
from local_hub import routes_models as models
from local_hub import routes_pages as pages
from local_hub import routes_repo as repo
from local_hub.cdn import CDN_PREFIX
from local_hub.envelope import error_response
from local_hub.errors import HubApiError, MethodNotAllowed, NotFound
from local_hub.faults import FaultMiddleware
from local_hub.host_gate import HostGate
from local_hub.inspection import RequestInspector
from local_hub.state import HubState

log = logging.getLogger("local_hub")
M = "/api/v1/models/{owner}/{name}"
D = "/api/v1/datasets/{owner}/{name}"
R = "/api/v1/repos/{repo_type}/{owner}/{name}"  # uploads of both types: `{repo_type}` is models or datasets
G = "/{owner}/{name}.git"  # git smart HTTP, the old `Repository` clone URL (§14, §14.1)
DG = "/datasets/{owner}/{name}.git"  # a dataset's (`DatasetRepository`, §21.10)

# Route names are what the control plane's request counters and fault rules refer to.
ROUTES = [
    Route("/api/v1/login", models.login, methods=["POST"], name="login"),
    Route("/openapi/v1/users/me", models.whoami, methods=["GET"], name="whoami"),
    Route("/api/v1/models", models.create_model, methods=["POST"], name="create_model"),
    Route("/api/v1/models", models.list_models_legacy, methods=["PUT"], name="list_models_legacy"),
    Route("/openapi/v1/models", models.list_models_openapi, methods=["GET"], name="list_models"),
    Route("/openapi/v1/models/{owner}/{name}", models.get_model_openapi, methods=["GET"], name="get_model_openapi"),
    Route(M, models.get_model, methods=["GET"], name="get_model"),
    Route(M, models.update_model, methods=["PUT"], name="update_model"),
    Route(M, models.delete_model, methods=["DELETE"], name="delete_model"),
    Route(f"{M}/revisions", models.revisions, methods=["GET"], name="revisions"),
    Route(f"{M}/repo/tag", models.create_tag, methods=["POST"], name="create_tag"),
    Route(f"{M}/commits", models.commits, methods=["GET"], name="commits"),
    Route(f"{M}/repo/files", repo.repo_files, methods=["GET"], name="repo_files"),
    Route(f"{M}/repo", repo.download, methods=["GET"], name="download"),
    Route(f"{M}/file", repo.delete_file, methods=["DELETE"], name="delete_file"),
    Route(f"{R}/info/lfs/objects/batch", repo.lfs_batch, methods=["POST"], name="lfs_batch"),
    Route(f"{R}/info/lfs/objects/{{oid}}", repo.blob_put, methods=["PUT"], name="blob_put"),
    Route(f"{R}/commit/{{revision:path}}", repo.commit, methods=["POST"], name="commit"),
    Route("/api/v1/repos/internalAccelerationInfo", repo.acceleration_info, methods=["GET"], name="acceleration_info"),
    # Datasets (§21): their own create, descriptions, listings and tree; the rest are the model handlers,
    # bound to the dataset type in routes_datasets.
    Route("/api/v1/datasets", ds.create_dataset, methods=["POST"], name="create_dataset"),
    Route("/api/v1/datasets", ds.list_datasets_legacy, methods=["GET"], name="list_datasets_legacy"),
    Route("/openapi/v1/datasets", ds.list_datasets_openapi, methods=["GET"], name="list_datasets"),
    Route("/openapi/v1/datasets/{owner}/{name}", ds.get_dataset_openapi, methods=["GET"], name="get_dataset_openapi"),
    # MsDataset's numeric-id form (§21.5C): one segment of digits, where `{D}/repo/tree` has two.
    Route("/api/v1/datasets/{dataset_id:int}/repo/tree", ds.tree_by_id, methods=["GET"], name="dataset_tree_by_id"),
    Route(D, ds.get_dataset, methods=["GET"], name="get_dataset"),
    Route(D, ds.delete_dataset, methods=["DELETE"], name="delete_dataset"),
    Route(f"{D}/revisions", ds.revisions, methods=["GET"], name="dataset_revisions"),
    Route(f"{D}/repo/tag", ds.create_tag, methods=["POST"], name="dataset_create_tag"),
    Route(f"{D}/commits", ds.commits, methods=["GET"], name="dataset_commits"),
    Route(f"{D}/repo/tree", ds.tree, methods=["GET"], name="dataset_tree"),
    Route(f"{D}/repo", ds.download, methods=["GET"], name="dataset_download"),
    Route(f"{D}/repo", ds.delete_file, methods=["DELETE"], name="dataset_delete_file"),
    Route(f"{D}/download/increase", ds.download_increase, methods=["POST"], name="dataset_download_increase"),
    # MsDataset's OSS and STS routes (§21.10): 501. Only these, so a trailing slash still redirects.
    Route(f"{D}/oss{{rest:path}}", repo.not_emulated, methods=["GET", "DELETE"], name="dataset_storage"),
    Route(f"{D}/ststoken", repo.not_emulated, methods=["GET"], name="dataset_storage"),
    Route("/models/{owner}/{name}", pages.repo_page, methods=["GET"], name="model_page"),
    Route("/datasets/{owner}/{name}", ds.page, methods=["GET"], name="dataset_page"),
    Route(f"{G}/info/refs", git.info_refs, methods=["GET"], name="git_info_refs"),
    Route(f"{G}/git-receive-pack", git.receive_pack, methods=["POST"], name="git_receive_pack"),
    Route(f"{G}/git-upload-pack", git.upload_pack, methods=["POST"], name="git_upload_pack"),
    Route(f"{DG}/info/refs", ds.git_info_refs, methods=["GET"], name="dataset_git_info_refs"),
    Route(f"{DG}/git-receive-pack", ds.git_receive_pack, methods=["POST"], name="dataset_git_receive_pack"),
    Route(f"{DG}/git-upload-pack", ds.git_upload_pack, methods=["POST"], name="dataset_git_upload_pack"),
    Route("/_local_hub/health", admin.health, methods=["GET"], name="health"),
    Route("/_local_hub/stats", admin.stats, methods=["GET"], name="admin_stats"),
    Route("/_local_hub/reset", admin.reset, methods=["POST"], name="admin_reset"),
    Route("/_local_hub/faults", admin.faults, methods=["GET", "PUT", "DELETE"], name="admin_faults"),
    Route("/_local_hub/branches", admin.create_branch, methods=["POST"], name="admin_branches"),
    Route("/_local_hub/users", admin.users, methods=["POST"], name="admin_users"),
    Route("/_local_hub/config", admin.config, methods=["PUT"], name="admin_config"),
    Route("/_local_hub/network", admin.network, methods=["GET", "PUT", "DELETE"], name="admin_network"),
    Route("/_local_hub/journal", admin.journal, methods=["GET", "DELETE"], name="admin_journal"),
]
# Only a hub with host names serves these (on `cdn.` alone, `local_hub.hosts`).
TOPOLOGY_ROUTES = [Route(f"{CDN_PREFIX}/{{oid}}", cdn.cdn_download, methods=["GET"], name="cdn_download")]


async def _hub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubApiError)
    return error_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in the hub's envelope; unknown paths are logged."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(request, MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}"))
    log.warning("unknown path %s %s", request.method, request.url.path)
    return error_response(request, NotFound(f"no such endpoint: {request.method} {request.url.path}"))


async def _disconnected(request: Request, exc: Exception) -> Response:
    """The client went away mid-request: nobody is listening for an answer."""
    return Response(status_code=499)


def create_app(state: HubState) -> ASGIApp:
    """Build the ASGI app for one emulator state: the routes behind the request inspector (journal,
    strict mode), both wrapped in fault injection (which names each request's route). Under host names
    or TLS the CDN route joins them, behind the gate that keeps each host to its routes.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from local_hub.state import HubOptions
        >>> app = create_app(HubState(HubOptions(data_dir=Path(tempfile.mkdtemp()))))
    """
    topology = state.hosts is not None
    app = Starlette(
        routes=ROUTES + TOPOLOGY_ROUTES if topology else ROUTES,
        exception_handlers={HubApiError: _hub_error, HTTPException: _http_error, ClientDisconnect: _disconnected},
    )
    app.state.hub = state
    inner: ASGIApp = HostGate(app, state) if topology else app
    return FaultMiddleware(RequestInspector(inner, state), state)
