"""Dataset endpoints (protocol.md §21): what datasets do their own way (a multipart create, their legacy and
OpenAPI descriptions and listings, the paged `repo/tree` in both of its URL forms), and the handlers they
share with models, bound to the dataset type (`envelope.typed`): revisions, tags, commits, delete, download,
file delete, git and the web page. Uploads (LFS batch, blob PUT, commit) need no binding here: their URL
names the type (`/api/v1/repos/datasets/...`).

Shapes, codes and statuses cite protocol.md §21; where it marks a point UNCERTAIN the choice is noted.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from local_hub import routes_git as git
from local_hub import routes_models as models
from local_hub import routes_pages as pages
from local_hub import routes_repo as repo
from local_hub.envelope import (
    Handler,
    caller,
    form_body,
    hub_of,
    legacy_ok,
    openapi_ok,
    requested_repo,
    require_caller,
    typed,
)
from local_hub.errors import BadRequest, Forbidden, NotFound
from local_hub.repo_types import DATASET
from local_hub.store import Repo, Store, TreeEntry, validate_name

DATASET_TYPE = 4  # legacy `Type`: 4 is a general dataset (§21.2; MsDataset reads it)
DEFAULT_TREE_PAGE_SIZE = 100  # what the compat helpers send (§21.5C); SDK snapshots send 200
MAX_TREE_PAGE_SIZE = 1000  # a choice: the real hub's bound is unknown; official clients stay at or below 200
VISIBILITY_NAMES = {"private": 1, "internal": 3, "public": 5}  # what the SDK also accepts (§21.1, K:72-106)
PROTECTED_MODES = ("1", "2")  # gated, off (§21.1): checked, not kept (local_hub gates nothing)


def _dataset(handler: Handler) -> Handler:
    return typed(handler, DATASET)


# -- the handlers datasets share with models ---------------------------------------------------------
revisions = _dataset(models.revisions)
create_tag = _dataset(models.create_tag)
commits = _dataset(models.commits)  # UNCERTAIN on the real hub (see `models.commits`)
delete_dataset = _dataset(models.delete_model)
download = _dataset(repo.download)  # `Source=SDK&View=False` (MsDataset's URL builder) is read as nothing
delete_file = _dataset(repo.delete_file)  # DELETE .../repo?FilePath=: no Revision, so master (§21.9)
git_info_refs = _dataset(git.info_refs)
git_receive_pack = _dataset(git.receive_pack)
git_upload_pack = _dataset(git.upload_pack)
page = _dataset(pages.repo_page)


# -- shapes ------------------------------------------------------------------------------------------
def legacy_dataset(dataset: Repo) -> dict[str, Any]:
    """A dataset as the legacy surface describes it (§21.2): the numeric `Id` and `Type` MsDataset needs,
    and the keys the SDK and the old `DatasetInfo` read.

    UNCERTAIN: `Path` is "owner/name" here (the model shape's `Path` is the owner); it comes before `Owner`,
    since SDK 1.40 reads both keys as the owner and the later one wins.
    """
    return {
        "Id": dataset.id,
        "Type": DATASET_TYPE,
        "Path": dataset.repo_id,
        "Name": dataset.name,
        "Owner": dataset.owner,
        "Namespace": dataset.owner,
        "ChineseName": dataset.chinese_name,
        "Description": dataset.description,
        "Visibility": dataset.visibility,
        "License": dataset.license,
        "Downloads": 0,
        "Likes": 0,
        "Stars": 0,
        "Tags": [],
        "CreatedBy": dataset.created_by,
        "GmtCreate": dataset.created_at,
        "LastUpdatedTime": dataset.updated_at,
        "ReadMeContent": "",
    }


def openapi_dataset(dataset: Repo, store: Store) -> dict[str, Any]:
    """A dataset as the OpenAPI surface describes it (§21.2; the schema is UNCERTAIN): a model's object
    without what only models have (`params`, the parameter count)."""
    described = models.openapi_model(dataset, store)
    del described["params"]
    return described


def tree_entry_json(entry: TreeEntry) -> dict[str, Any]:
    """A `repo/tree` entry: a model listing's keys (§21.5: real entries carry them) plus `BlobId` (the
    sha256: local_hub keeps no git blob ids, and the SDK falls back to it anyway) and `Lfs` (`{"oid",
    "size"}` for an LFS file, null otherwise; the SDK only asks whether it is set)."""
    lfs = {"oid": entry.sha256, "size": entry.size} if entry.is_lfs else None
    return {**repo.entry_json(entry), "BlobId": entry.sha256, "Lfs": lfs}


# -- create, describe, list --------------------------------------------------------------------------
def _visibility(raw: str | None) -> int:
    """1, 3 or 5, from the number or its name (5 when absent)."""
    named = VISIBILITY_NAMES.get((raw or "").strip().lower())
    return named if named is not None else models.visibility_param(raw)


@_dataset
async def create_dataset(request: Request) -> JSONResponse:
    """POST /api/v1/datasets, a multipart form {Owner, Name, Visibility, License, ChineseName, Description,
    ProtectedMode, ...}: create an empty dataset (§21.1).

    A taken name is a 400 with code 10020101001 and "already exists", and changes nothing: the SDK sends
    this create before every upload and ignores that answer. Fields beyond these are accepted and ignored
    (the SDK forwards extra keyword arguments as fields). Data is the legacy description (UNCERTAIN).
    """
    user = require_caller(request)
    form = await form_body(request)
    owner = validate_name(form.get("Owner"), "owner (Owner)")
    name = validate_name(form.get("Name"), "dataset name (Name)")
    visibility = _visibility(form.get("Visibility"))
    if form.get("ProtectedMode") not in (None, "", *PROTECTED_MODES):
        raise BadRequest("ProtectedMode must be 1 (gated) or 2 (off)")
    store = hub_of(request).store
    if not store.may_write_as(user, owner):
        raise Forbidden(f"user {user.name} may not create datasets under {owner}")
    dataset = await run_in_threadpool(
        store.create_repo,
        owner,
        name,
        created_by=user.name,
        repo_type=DATASET.name,
        visibility=visibility,
        license=form.get("License") or "Apache-2.0",
        chinese_name=form.get("ChineseName") or "",
        description=form.get("Description") or "",
        author=user,
        gitattributes=hub_of(request).options.gitattributes,
    )
    return legacy_ok(request, legacy_dataset(dataset))


@_dataset
async def get_dataset(request: Request) -> JSONResponse:
    """GET /api/v1/datasets/{o}/{n}: the legacy description; 404 when missing or not visible (§21.2)."""
    return legacy_ok(request, legacy_dataset(requested_repo(request)))


@_dataset
async def get_dataset_openapi(request: Request) -> JSONResponse:
    """GET /openapi/v1/datasets/{o}/{n}: the OpenAPI description; 404 when missing or not visible (§21.2)."""
    return openapi_ok(request, openapi_dataset(requested_repo(request), hub_of(request).store))


@_dataset
async def list_datasets_openapi(request: Request) -> JSONResponse:
    """GET /openapi/v1/datasets?owner=&page_number=&page_size= (§21.3), with the model listing's visibility
    rules and search window (`models.list_page`); `search`, `sort` and `filter.*` are read as nothing, as
    the model listing reads them."""
    query = request.query_params
    number = models.int_param(query.get("page_number"), "page_number", 1)
    size = models.int_param(query.get("page_size"), "page_size", 10, high=models.MAX_PAGE_SIZE)
    datasets, total = models.list_page(request, query.get("owner") or None, number, size)
    store = hub_of(request).store
    listed = [openapi_dataset(d, store) for d in datasets]
    return openapi_ok(request, {"datasets": listed, "total_count": total, "page_number": number, "page_size": size})


@_dataset
async def list_datasets_legacy(request: Request) -> JSONResponse:
    """GET /api/v1/datasets?PageNumber=&PageSize=&owner=: `Data` is the page, `TotalCount`, `PageNumber`
    and `PageSize` sit beside it (§21.3; no SDK path calls it)."""
    query = request.query_params
    number = models.int_param(query.get("PageNumber"), "PageNumber", 1)
    size = models.int_param(query.get("PageSize"), "PageSize", 10, high=models.MAX_PAGE_SIZE)
    datasets, total = models.list_page(request, query.get("owner") or None, number, size)
    listed = [legacy_dataset(d) for d in datasets]
    return legacy_ok(request, listed, TotalCount=total, PageNumber=number, PageSize=size)


# -- the file tree -----------------------------------------------------------------------------------
async def _tree(request: Request, dataset: Repo) -> JSONResponse:
    """`repo/tree` of `dataset` (§21.5): `Data.Files`, one page of it when the query pages.

    Paging: `PageNumber` (1-based) and `PageSize` (100 by default) when either is sent, everything when
    neither is. The SDK stops at the first page shorter than its `PageSize`, so a page past the end is
    empty, not an error. Choice (UNCERTAIN, §21.5; `repo_types.DATASET`): a recursive listing holds the
    files only, sorted by path; a one-level listing (`Recursive=False`) holds files and folders.
    A `Root` (`/` is the whole repo) that holds no file, and a revision that does not exist, are 404s.
    """
    revision, recursive, root = repo.listing_params(request)
    query = request.query_params
    offset, limit = 0, -1
    if "PageNumber" in query or "PageSize" in query:
        number = models.int_param(query.get("PageNumber"), "PageNumber", 1)
        limit = models.int_param(query.get("PageSize"), "PageSize", DEFAULT_TREE_PAGE_SIZE, high=MAX_TREE_PAGE_SIZE)
        offset = (number - 1) * limit
    head = repo.head_of(request, dataset, revision)
    if head is None:
        if root:
            raise NotFound(f"folder {root!r} not found")
        return legacy_ok(request, {"Files": []})
    folders = dataset.kind.recursive_folders
    listing = await run_in_threadpool(
        hub_of(request).store.list_tree, head, root, recursive=recursive, folders=folders, offset=offset, limit=limit
    )
    return legacy_ok(request, {"Files": [tree_entry_json(e) for e in listing]})


@_dataset
async def tree(request: Request) -> JSONResponse:
    """GET /api/v1/datasets/{o}/{n}/repo/tree?Revision=&Recursive=&PageNumber=&PageSize=[&Root=] (§21.5A/B)."""
    return await _tree(request, requested_repo(request))


@_dataset
async def tree_by_id(request: Request) -> JSONResponse:
    """GET /api/v1/datasets/{Id}/repo/tree?...: the same, the dataset named by its numeric legacy `Id`, as
    MsDataset's helpers name it (§21.5C); a missing or invisible id is a 404."""
    store, dataset_id = hub_of(request).store, request.path_params["dataset_id"]
    found = store.find_repo_by_id(dataset_id, DATASET.name)
    return await _tree(request, store.check_access(caller(request), found, f"dataset {dataset_id}"))


@_dataset
async def download_increase(request: Request) -> JSONResponse:
    """POST /api/v1/datasets/{o}/{n}/download/increase: MsDataset's download counter (§21.10). Answered
    200 with no effect (local_hub counts no downloads); a missing dataset is a 404, which the SDK ignores."""
    requested_repo(request)
    return legacy_ok(request, None)
