"""What the official clients send, route by route: the query keys and JSON bodies strict mode accepts.

The table is the union of what the hub's clients put on the wire, read from their source (protocol.md):
SDK 1.40 (`modelscope_hub` 0.5.1 behind the `modelscope` 1.40 shims, "new") and the self-contained
client of modelscope <= 1.37 (commit 1804ac6b, "old"). A key is listed when either sends it; a key
is required when every client sends it and the hub cannot serve the request without it. Routes that
carry bytes (blob uploads, git pack data) are marked `raw` and their bodies are not inspected; routes
not in the table (the control plane, the surfaces local_hub does not emulate, web pages) are not checked,
nor journaled; the CDN's route is journaled but not checked (`strict=False`). A dataset's create is a
multipart form (`form`): its fields are checked like a JSON object's keys, every value being text.

Leaf types are spelled as in `local_hub.shapes` (`"str"`, `"int"`, `"bool"`, `"null"`, unions such as
`"null|str"`). Query values are text on the wire, so a query key's type says how its text must read:
`"int"` digits, `"bool"` Python's `True`/`False` (any case), `"str"` anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from local_hub.errors import BadRequest, HubApiError, LoginFailed


@dataclass(frozen=True)
class Obj:
    """A JSON object: its known keys with their types, which of them are required, and whether
    other keys are allowed (`other_keys`, for bodies whose full key set no source documents)."""

    fields: Mapping[str, Spec]
    required: frozenset[str] = frozenset()
    other_keys: bool = False


@dataclass(frozen=True)
class ListOf:
    """A JSON array whose every item has the shape `item`."""

    item: Spec


Spec: TypeAlias = "str | Obj | ListOf"


@dataclass(frozen=True)
class RouteDialect:
    """What one route accepts.

    Attributes:
        query: Query key -> how its value must read (`str`, `int`, `bool`).
        required_query: Query keys that must be present.
        body: The JSON body's spec; None when the route takes no body.
        form: The spec of a form body (multipart/form-data), whose every field is text; None when the route
            takes none. A route has a `body` or a `form`, not both.
        raw: The body is bytes (a blob, git pack data) and is never parsed.
        refusal: The error strict mode answers with (a 400 unless the route has its own, as login does).
        strict: False for a route that is journaled but never refused: the CDN is object storage, not
            the hub's API, and its query is a signature, not a dialect.
    """

    query: Mapping[str, str] = field(default_factory=dict)
    required_query: frozenset[str] = frozenset()
    body: Obj | None = None
    form: Obj | None = None
    raw: bool = False
    refusal: type[HubApiError] = BadRequest
    strict: bool = True


def _obj(required: str = "", other_keys: bool = False, **fields: Spec) -> Obj:
    """An `Obj` from its required keys (space-separated) and its fields as keywords."""
    return Obj(fields, frozenset(required.split()), other_keys)


# §10.5: old and new send all seven keys on every action; `update` comes from the old client.
_COMMIT_ACTION = _obj(
    "action path",
    action="str",
    path="str",
    type="str",
    size="int",
    sha256="str",
    content="str",
    encoding="str",
)

_TREE_QUERY = {"Revision": "str", "Recursive": "bool", "Root": "str", "PageNumber": "int", "PageSize": "int"}

DIALECT: dict[str, RouteDialect] = {
    # Op 1: both send exactly {"AccessToken"}; a login the hub cannot read is a failed login (10010103009).
    "login": RouteDialect(body=_obj("AccessToken", AccessToken="str"), refusal=LoginFailed),
    "whoami": RouteDialect(),
    # Op 2: old sends Path, Name, ChineseName (null when unset), Visibility, License, OriginalModelId,
    # TrainId; new sends Path, Name, Visibility, License, ChineseName/Description/ProtectedMode when
    # given, and forwards `original_model_id` verbatim (STUB-verified). The old create_model puts the
    # caller's visibility on the wire unconverted, so "5" as text is an official client's too (§18.2 10).
    "create_model": RouteDialect(
        body=_obj(
            "Path Name",
            Path="str",
            Name="str",
            Visibility="int|str",
            License="str",
            ChineseName="null|str",
            Description="null|str",
            ProtectedMode="int",
            OriginalModelId="null|str",
            TrainId="str",
            original_model_id="str",
        )
    ),
    # Op 5, old: a hand-built `{"Path", "PageNumber", "PageSize"}`.
    "list_models_legacy": RouteDialect(body=_obj(Path="str", PageNumber="int", PageSize="int")),
    # Op 5, new: `_merge_params` of search/owner/sort/page_number/page_size plus `filter.*`.
    "list_models": RouteDialect(
        query={
            "search": "str",
            "owner": "str",
            "sort": "str",
            "page_number": "int",
            "page_size": "int",
            "filter.task": "str",
            "filter.library": "str",
            "filter.model_type": "str",
            "filter.custom_tag": "str",
            "filter.license": "str",
            "filter.deploy": "str",
        }
    ),
    "get_model_openapi": RouteDialect(),
    # Op 4: the old client adds `?Revision=`.
    "get_model": RouteDialect(query={"Revision": "str"}),
    # §17: old set_repo_visibility sends the model's full settings back; that key set is not
    # documented anywhere, so the body stays open and only the keys local_hub reads are typed.
    "update_model": RouteDialect(
        body=_obj(
            other_keys=True,
            Visibility="int",
            ProtectedMode="int",
            License="str",
            ChineseName="null|str",
            Description="null|str",
        )
    ),
    "delete_model": RouteDialect(),
    # Op 6: only the old list_model_revisions sends EndTime (epoch seconds).
    "revisions": RouteDialect(query={"EndTime": "int"}),
    # Op 9: both send {"TagName", "Ref"}; Ref defaults to master on the hub.
    "create_tag": RouteDialect(body=_obj("TagName", TagName="str", Ref="str")),
    # §17: the old client's commit history (list_repo_commits, model_info).
    "commits": RouteDialect(query={"Ref": "str", "PageNumber": "int", "PageSize": "int"}),
    # Op 7: both send Revision and Recursive (str(bool)); Root only the old client and the tree walk.
    "repo_files": RouteDialect(query={"Revision": "str", "Recursive": "bool", "Root": "str"}),
    # Op 12.1.
    "download": RouteDialect(query={"Revision": "str", "FilePath": "str"}, required_query=frozenset({"FilePath"})),
    # Op 11, old: one DELETE per file.
    "delete_file": RouteDialect(query={"Revision": "str", "FilePath": "str"}, required_query=frozenset({"FilePath"})),
    # §21: datasets. The SDK creates one with a multipart form (§21.1): Owner, Name, Visibility, License
    # always, ChineseName/Description/ProtectedMode when given, and its extra keyword arguments as more
    # fields whose names the caller chooses (so other keys are allowed).
    "create_dataset": RouteDialect(
        form=_obj(
            "Owner Name",
            other_keys=True,
            Owner="str",
            Name="str",
            Visibility="str",
            License="str",
            ChineseName="str",
            Description="str",
            ProtectedMode="str",
        )
    ),
    # §21.3: the OpenAPI listing (filter keys: task, license) and the legacy one no SDK path calls.
    "list_datasets": RouteDialect(
        query={
            "search": "str",
            "owner": "str",
            "sort": "str",
            "page_number": "int",
            "page_size": "int",
            "filter.task": "str",
            "filter.license": "str",
        }
    ),
    "list_datasets_legacy": RouteDialect(query={"PageNumber": "int", "PageSize": "int", "owner": "str"}),
    "get_dataset_openapi": RouteDialect(),
    "get_dataset": RouteDialect(),
    "delete_dataset": RouteDialect(),
    # §21.6: as for models (EndTime from `list_revisions_detail`); commits: no client calls it for datasets.
    "dataset_revisions": RouteDialect(query={"EndTime": "int"}),
    "dataset_create_tag": RouteDialect(body=_obj("TagName", TagName="str", Ref="str")),
    "dataset_commits": RouteDialect(query={"Ref": "str", "PageNumber": "int", "PageSize": "int"}),
    # §21.5: the SDK's paged and one-level listings, and MsDataset's by numeric id (Root always sent).
    "dataset_tree": RouteDialect(query=_TREE_QUERY),
    "dataset_tree_by_id": RouteDialect(query=_TREE_QUERY),
    # §21.8: the SDK sends Revision and FilePath; MsDataset's URL builder adds Source=SDK and View=False.
    "dataset_download": RouteDialect(
        query={"Revision": "str", "FilePath": "str", "Source": "str", "View": "bool"},
        required_query=frozenset({"FilePath"}),
    ),
    # §21.9: the older single-file delete sends FilePath only.
    "dataset_delete_file": RouteDialect(query={"FilePath": "str"}, required_query=frozenset({"FilePath"})),
    # §21.10: MsDataset's download counter, an empty POST.
    "dataset_download_increase": RouteDialect(),
    "dataset_git_info_refs": RouteDialect(query={"service": "str"}),
    "dataset_git_receive_pack": RouteDialect(raw=True),
    "dataset_git_upload_pack": RouteDialect(raw=True),
    # §10.3: {"operation": "upload", "objects": [{"oid", "size"}]} from both.
    "lfs_batch": RouteDialect(
        body=_obj("objects", operation="str", objects=ListOf(_obj("oid size", oid="str", size="int")))
    ),
    "blob_put": RouteDialect(raw=True),  # §10.4: the file's bytes
    # §10.5: no commit_description on the wire (both clients drop it).
    "commit": RouteDialect(body=_obj("actions", commit_message="str", actions=ListOf(_COMMIT_ACTION))),
    "acceleration_info": RouteDialect(),
    # §14.1: git smart HTTP; discovery names the service (a dumb-protocol client sends none, and the
    # route answers it in git's own plain text), updates carry pkt-lines and a pack.
    "git_info_refs": RouteDialect(query={"service": "str"}),
    "git_receive_pack": RouteDialect(raw=True),
    "git_upload_pack": RouteDialect(raw=True),
    # §22.1: the CDN host's signed URL (`local_hub.cdn`), which the official clients follow as given.
    "cdn_download": RouteDialect(query={"auth_key": "str", "filename": "str"}, strict=False),
}
