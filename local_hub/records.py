"""The store's records (users, repos, refs, commits, tree entries, commit actions) and the checks that admit
a name, a ref, a path or a wire action into them; plain Python, no HTTP, no SQL."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from local_hub.blobs import is_sha256
from local_hub.errors import BadRequest
from local_hub.repo_types import RepoType, repo_type

MAX_COMMIT_ACTIONS = 2000  # protocol.md §10.5: more is a 422
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")  # fullmatch: "$" would let a trailing newline in
VISIBILITIES = (1, 3, 5)  # private, internal, public (§Op 2)
_REF_FORBIDDEN = re.compile(r"[\s~^:?*\[\\\x00-\x1f\x7f]|\.\.|//|@\{")


@dataclass(frozen=True)
class User:
    """A hub account; `token` is its SDK access token, `git_token` what login hands out."""

    name: str
    token: str = field(repr=False)
    email: str
    git_token: str = field(repr=False)


@dataclass(frozen=True)
class Repo:
    """A repository: a model or a dataset (`repo_type`, a name of `local_hub.repo_types`)."""

    id: int
    repo_type: str
    owner: str
    name: str
    visibility: int
    license: str
    chinese_name: str
    description: str
    original_model_id: str
    created_by: str
    created_at: int
    updated_at: int

    @property
    def repo_id(self) -> str:
        """ "owner/name"."""
        return f"{self.owner}/{self.name}"

    @property
    def kind(self) -> RepoType:
        """What its type makes of it (`local_hub.repo_types`)."""
        return repo_type(self.repo_type)


@dataclass(frozen=True)
class Ref:
    """A branch or a tag."""

    kind: str
    name: str
    commit_id: str
    created_at: int


@dataclass(frozen=True)
class Commit:
    """One commit of a repo; `parent` is None for the first."""

    id: str
    parent: str | None
    message: str
    author: str
    email: str
    created_at: int


@dataclass(frozen=True)
class TreeEntry:
    """One file of a revision (`kind` "blob"), or a folder in a listing (`kind` "tree": no sha256, size 0),
    with the commit that last changed it (for a folder, the newest change below it)."""

    path: str
    sha256: str
    size: int
    is_lfs: bool
    last_commit: str
    committed_at: int
    commit_message: str
    committer: str
    kind: str = "blob"


@dataclass(frozen=True)
class CommitAction:
    """One validated action of a commit request (§10.5)."""

    action: str  # create | update | delete
    path: str
    kind: str = "normal"  # normal | lfs
    size: int = 0
    sha256: str = ""
    content: bytes = b""


def validate_name(value: object, what: str) -> str:
    """An owner or repo name: `[A-Za-z0-9_.-]+`, not only dots."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value) or set(value) == {"."}:
        raise BadRequest(f"invalid {what} {value!r}: use 1-128 characters from A-Z a-z 0-9 _ . -")
    return value


def validate_ref_name(value: object, what: str) -> str:
    """A branch or tag name by git's rules (no whitespace, no '..', no '~^:?*[\\', ...)."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > 255
        or _REF_FORBIDDEN.search(value)
        or value.startswith(("/", ".", "-"))
        or value.endswith(("/", ".", ".lock"))
    ):
        raise BadRequest(f"invalid {what} name {value!r}")
    return value


def validate_repo_path(value: object) -> str:
    """A repo-relative file path: no leading '/', no '.'/'..' or empty segment, no backslash or NUL."""
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise BadRequest(f"invalid file path {value!r}")
    if "\\" in value or "\x00" in value or value.startswith("/"):
        raise BadRequest(f"invalid file path {value!r}: no backslash, NUL or leading '/'")
    if any(seg in ("", ".", "..") for seg in value.split("/")):
        raise BadRequest(f"invalid file path {value!r}: empty, '.' or '..' segment")
    return value


def parse_action(raw: object) -> CommitAction:
    """Validate one wire action (§10.5) into a `CommitAction`; decodes inline base64 content."""
    if not isinstance(raw, dict):
        raise BadRequest("each commit action must be a JSON object")
    action = raw.get("action")
    if action not in ("create", "update", "delete"):
        raise BadRequest(f"unsupported commit action {action!r}: use create, update or delete")
    path = validate_repo_path(raw.get("path"))
    if action == "delete":
        return CommitAction("delete", path)
    kind = raw.get("type") or "normal"
    size = raw.get("size")
    if kind not in ("normal", "lfs") or not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BadRequest(f"commit action for {path!r} needs type normal|lfs and an integer size >= 0")
    if kind == "lfs":
        sha = raw.get("sha256")
        if not is_sha256(sha):
            raise BadRequest(f"lfs action for {path!r} needs a 64-hex sha256")
        return CommitAction(action, path, "lfs", size, sha)
    encoding = raw.get("encoding") or ""
    text = raw.get("content") or ""
    if not isinstance(text, str) or encoding not in ("base64", ""):
        raise BadRequest(f"normal action for {path!r} needs base64 content")
    try:
        content = base64.b64decode(text, validate=True) if encoding == "base64" else text.encode()
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"content of {path!r} is not valid base64") from exc
    if len(content) != size:
        raise BadRequest(f"content of {path!r} has {len(content)} bytes, size says {size}")
    return CommitAction(action, path, "normal", size, content=content)
