"""Typed results: frozen pydantic models with snake_case fields, parsed from the hub's wire names.

This is the only module that names wire fields; unknown fields are ignored.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub_tasks.errors import InvalidParameter
from hub_tasks.files import IgnoreRules, normalize_patterns, normalize_regexes
from hub_tasks.validation import COMMIT_ID_RE, validate_ref, validate_tag, validate_visibility


def parse_time(value: Any) -> datetime | None:
    """Epoch seconds (or milliseconds), or ISO-8601 text, as an aware UTC datetime; None when absent.

    Example:
        >>> parse_time(1717000000).isoformat()
        '2024-05-29T16:26:40+00:00'
    """
    if value in (None, "", 0):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        seconds = float(value)
        return datetime.fromtimestamp(seconds / 1000 if seconds > 1e12 else seconds, tz=timezone.utc)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


class HubResult(BaseModel):
    """Base of every result: frozen, ignores unknown wire fields, accepts wire or Python names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class LoginResult(HubResult):
    """Who the token belongs to. The git token the hub hands out is never part of a result."""

    username: str
    email: str = ""
    git_token_issued: bool = False


def openapi_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The fields an OpenAPI model or dataset object shares (`id` "owner/name", `private`, counters, times).

    Example:
        >>> openapi_fields({"id": "alice/demo", "private": True})["owner"], openapi_fields({"id": "a/b"})["visibility"]
        ('alice', 5)
    """
    owner, _, name = str(data.get("id") or "").partition("/")
    private = bool(data.get("private"))
    return {
        "owner": owner,
        "name": name,
        "visibility": None if private else 5,  # the listing says only `private`: private or internal
        "private": private,
        "license": data.get("license") or "",
        "display_name": data.get("display_name") or "",
        "description": data.get("description") or "",
        "downloads": int(data.get("downloads") or 0),
        "likes": int(data.get("likes") or 0),
        "created_at": parse_time(data.get("created_at")),
        "last_modified": parse_time(data.get("last_modified")),
    }


class ModelInfo(HubResult):
    """A model's metadata.

    Attributes:
        visibility: 1 private, 3 internal, 5 public; None when the source (the OpenAPI listing,
            which only says `private`) cannot tell private from internal.
    """

    model_id: str
    owner: str
    name: str
    visibility: int | None = None
    private: bool = False
    license: str = ""
    display_name: str = ""
    description: str = ""
    original_model_id: str = ""
    downloads: int = 0
    likes: int = 0
    created_at: datetime | None = None
    last_modified: datetime | None = None
    file_size: int | None = None

    @classmethod
    def from_legacy(cls, data: dict[str, Any]) -> ModelInfo:
        """From the legacy `Data` of GET /api/v1/models/{o}/{n}."""
        owner, name = str(data.get("Path") or data.get("Owner") or ""), str(data.get("Name") or "")
        visibility = data.get("Visibility")
        return cls(
            model_id=f"{owner}/{name}",
            owner=owner,
            name=name,
            visibility=int(visibility) if visibility is not None else None,
            private=visibility is not None and int(visibility) != 5,
            license=data.get("License") or "",
            display_name=data.get("ChineseName") or "",
            description=data.get("Description") or "",
            original_model_id=data.get("OriginalModelId") or "",
            downloads=int(data.get("Downloads") or 0),
            likes=int(data.get("Likes") or data.get("Stars") or 0),
            created_at=parse_time(data.get("CreatedTime") or data.get("CreatedAt")),
            last_modified=parse_time(data.get("LastUpdatedTime") or data.get("UpdatedAt")),
        )

    @classmethod
    def from_openapi(cls, data: dict[str, Any]) -> ModelInfo:
        """From an OpenAPI model object (`id`, `private`, `created_at`, ...)."""
        return cls(model_id=str(data.get("id") or ""), file_size=data.get("file_size"), **openapi_fields(data))


class ModelPage(HubResult):
    """One page of a model listing."""

    models: list[ModelInfo]
    total_count: int
    page_number: int
    page_size: int


class DatasetInfo(HubResult):
    """A dataset's metadata.

    Attributes:
        dataset_id: "owner/name".
        id: The hub's numeric id (legacy metadata only; the file tree can be addressed by it).
        type: The hub's dataset type code (4: general), legacy metadata only.
        visibility: 1 private, 3 internal, 5 public; None when the source (the OpenAPI listing) only
            says `private`.
    """

    dataset_id: str
    owner: str
    name: str
    id: int | None = None
    type: int | None = None
    visibility: int | None = None
    private: bool = False
    license: str = ""
    display_name: str = ""
    description: str = ""
    downloads: int = 0
    likes: int = 0
    tags: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    last_modified: datetime | None = None

    @classmethod
    def from_legacy(cls, data: dict[str, Any]) -> DatasetInfo:
        """From the legacy `Data` of GET /api/v1/datasets/{o}/{n} (§21.2: numeric `Id`, `Type`)."""
        owner = str(data.get("Owner") or data.get("Namespace") or data.get("Path") or "")
        name = str(data.get("Name") or "")
        visibility = data.get("Visibility")
        return cls(
            dataset_id=f"{owner}/{name}",
            owner=owner,
            name=name,
            id=int(data["Id"]) if str(data.get("Id") or "").isdigit() else None,
            type=int(data["Type"]) if str(data.get("Type") or "").isdigit() else None,
            visibility=int(visibility) if visibility is not None else None,
            private=visibility is not None and int(visibility) != 5,
            license=data.get("License") or "",
            display_name=data.get("ChineseName") or "",
            description=data.get("Description") or "",
            downloads=int(data.get("Downloads") or 0),
            likes=int(data.get("Likes") or 0),
            tags=[str(t) for t in data.get("Tags") or [] if isinstance(t, str)],
            created_at=parse_time(data.get("GmtCreate") or data.get("CreatedTime")),
            last_modified=parse_time(data.get("LastUpdatedTime") or data.get("GmtModified")),
        )

    @classmethod
    def from_openapi(cls, data: dict[str, Any]) -> DatasetInfo:
        """From an OpenAPI dataset object (`id` "owner/name", `private`, ...)."""
        tags = [str(t) for t in data.get("tags") or [] if isinstance(t, str)]
        return cls(dataset_id=str(data.get("id") or ""), tags=tags, **openapi_fields(data))


class DatasetPage(HubResult):
    """One page of a dataset listing."""

    datasets: list[DatasetInfo]
    total_count: int
    page_number: int
    page_size: int


class Revision(HubResult):
    """A branch or a tag, with its creation time and the commit it points at once known.

    `commit_id` comes from the listing's `CommitId` when the hub sends a full 40-hex id there (not
    documented, so anything else is dropped), otherwise from resolving the ref.
    """

    name: str = Field(alias="Revision")
    kind: Literal["branch", "tag"] = "branch"
    created_at: datetime | None = Field(default=None, alias="CreatedAt")
    commit_id: str | None = Field(default=None, alias="CommitId")

    @field_validator("created_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)

    @field_validator("commit_id", mode="before")
    @classmethod
    def _full_commit_id(cls, value: Any) -> str | None:
        return value if isinstance(value, str) and COMMIT_ID_RE.fullmatch(value) else None


class RepoFile(HubResult):
    """One entry of a file listing (`Type` "blob" for files, "tree" for folders)."""

    path: str = Field(alias="Path")
    name: str = Field(default="", alias="Name")
    type: str = Field(default="blob", alias="Type")
    size: int = Field(default=0, alias="Size")
    sha256: str = Field(default="", alias="Sha256")
    is_lfs: bool = Field(default=False, alias="IsLFS")
    last_commit_id: str = Field(default="", alias="Revision")
    committed_date: datetime | None = Field(default=None, alias="CommittedDate")
    commit_message: str = Field(default="", alias="CommitMessage")

    @field_validator("committed_date", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)

    @property
    def is_file(self) -> bool:
        """True for files, False for folder entries."""
        return self.type != "tree"


class Commit(HubResult):
    """One commit of a revision's history."""

    id: str = Field(alias="Id")
    short_id: str = Field(default="", alias="ShortId")
    title: str = Field(default="", alias="Title")
    message: str = Field(default="", alias="Message")
    author_name: str = Field(default="", alias="AuthorName")
    author_email: str = Field(default="", alias="AuthorEmail")
    committed_date: datetime | None = Field(default=None, alias="CommittedDate")

    @field_validator("committed_date", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)


class FileChange(HubResult):
    """One file a publish adds, changes or deletes."""

    path: str
    change: Literal["added", "changed", "deleted"]
    size: int = 0
    sha256: str = ""
    lfs: bool = False


class CommitOperation(HubResult):
    """One action of a commit: `create` (an upsert) or `delete`. Inline content travels base64."""

    action: Literal["create", "delete"]
    path: str
    size: int = 0
    sha256: str = ""
    lfs: bool = False
    content: bytes | None = Field(default=None, repr=False)

    def to_wire(self) -> dict[str, Any]:
        """The commit endpoint's action object (protocol.md §10.5)."""
        if self.action == "delete":
            return {
                "action": "delete",
                "path": self.path,
                "type": "normal",
                "size": 0,
                "sha256": "",
                "content": "",
                "encoding": "",
            }
        if self.lfs:
            return {
                "action": "create",
                "path": self.path,
                "type": "lfs",
                "size": self.size,
                "sha256": self.sha256,
                "content": "",
                "encoding": "",
            }
        return {
            "action": "create",
            "path": self.path,
            "type": "normal",
            "size": self.size,
            "sha256": "",
            "content": base64.b64encode(self.content or b"").decode("ascii"),
            "encoding": "base64",
        }


class ProgressEvent(HubResult):
    """What a push or download reports to its `progress` callback."""

    phase: Literal["hash", "upload", "download"]
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int


def _invalid(exc: ValidationError) -> InvalidParameter:
    """The `InvalidParameter` a validator raised, or one naming the first field pydantic refused."""
    first = exc.errors()[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidParameter):
        return cause
    where = ".".join(str(part) for part in first["loc"]) or "options"
    return InvalidParameter(f"{where}: {first['msg']}, got {first.get('input')!r}", operation="push_model")


DEFAULT_COMMIT_MESSAGE = "upload model"


class PushOptions(BaseModel):
    """What a publish is asked to do: everything but the model id, the folder and the progress callback.

    Built by keyword only and frozen, so no two neighbouring strings can be swapped on the way from the
    flow's request to the engine. Bad values raise `InvalidParameter` (a `ValueError`) at construction,
    before any request.

    Example:
        >>> options = PushOptions(tag="v1.0", ignore_file_pattern=r"checkpoint-\\d+", ignore_patterns="*.log")
        >>> options.revision, options.tag, options.ignore_file_pattern, options.ignore_patterns
        ('master', 'v1.0', ('checkpoint-\\\\d+',), ('*.log',))
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    visibility: int = Field(default=5, description="1 private, 3 internal, 5 public (used when the repo is created).")
    license: str | None = Field(
        default="Apache License 2.0",
        description="License (used when the repo is created; None only when it exists, as the SDK documents).",
    )
    chinese_name: str | None = Field(default=None, description="Display name (used when the repo is created).")
    commit_message: str = Field(
        default=DEFAULT_COMMIT_MESSAGE, description="Message of the commit (None or empty: the default)."
    )
    tag: str | None = Field(default=None, description="Tag the resulting commit (never moves an existing tag).")
    revision: str = Field(
        default="master", description="The branch to publish to; a missing one is created from master's head."
    )
    original_model_id: str | None = Field(default=None, description="The base model (used when the repo is created).")
    description: str | None = Field(default=None, description="A dataset's description (used when it is created).")
    ignore_file_pattern: tuple[str, ...] = Field(
        default=(),
        description="Regular expressions (the seed's meaning) searched in each relative path, e.g. "
        r"'checkpoint-\d+'; matching files are left out of the publish and never deleted from the hub.",
    )
    ignore_patterns: tuple[str, ...] = Field(
        default=(),
        description="Globs matched against each relative path and name, e.g. '*.log' or 'runs/*'; matching "
        "files are left out of the publish and never deleted from the hub.",
    )
    delete_missing: bool = Field(default=True, description="Delete remote files that are not in the folder.")
    max_workers: int | None = Field(default=None, description="Parallel blob uploads (None: the settings' default).")
    allow_secret_files: bool | tuple[str, ...] = Field(
        default=False, description="True, or globs of secret-looking files that may be published."
    )
    hash_cache: str | None = Field(
        default="default", description='Path of the hash cache, "default", or None to hash everything.'
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _invalid(exc) from None

    @field_validator("visibility", mode="before")
    @classmethod
    def _visibility(cls, value: object) -> int:
        return validate_visibility(value, "push_model")

    @field_validator("license", mode="before")
    @classmethod
    def _license(cls, value: object) -> str | None:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidParameter(
                f"license must be a non-empty string, or None for a repo that exists, got {value!r}",
                operation="push_model",
            )
        return value

    @field_validator("commit_message", mode="before")
    @classmethod
    def _message(cls, value: object) -> str:
        if value is None or value == "":
            return DEFAULT_COMMIT_MESSAGE  # the SDK's "defaults to None" means its default message
        if not isinstance(value, str) or not value.strip():  # blanks are more likely a bug than a wish
            raise InvalidParameter(
                f"commit_message must be a non-blank string, or None for the default, got {value!r}",
                operation="push_model",
            )
        return value

    @field_validator("revision", mode="before")
    @classmethod
    def _revision(cls, value: object) -> str:
        return validate_ref(value, "revision", "push_model")

    @field_validator("tag", mode="before")
    @classmethod
    def _tag(cls, value: object) -> str | None:
        return None if value is None else validate_tag(value, "push_model")

    @field_validator("ignore_file_pattern", mode="before")
    @classmethod
    def _regexes(cls, value: object) -> tuple[str, ...]:
        return tuple(normalize_regexes(value))  # type: ignore[arg-type]

    @field_validator("ignore_patterns", mode="before")
    @classmethod
    def _globs(cls, value: object) -> tuple[str, ...]:
        return tuple(normalize_patterns(value, "ignore_patterns"))  # type: ignore[arg-type]

    @property
    def ignored(self) -> IgnoreRules:
        """The paths this publish leaves alone, locally and on the hub."""
        return IgnoreRules(self.ignore_file_pattern, self.ignore_patterns)

    @field_validator("allow_secret_files", mode="before")
    @classmethod
    def _allow(cls, value: object) -> bool | tuple[str, ...]:
        return value if isinstance(value, bool) else tuple(normalize_patterns(value, "allow_secret_files"))  # type: ignore[arg-type]

    @field_validator("max_workers", mode="before")
    @classmethod
    def _workers(cls, value: object) -> int | None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64):
            raise InvalidParameter(
                f"max_workers must be an integer from 1 to 64, got {value!r}", operation="push_model"
            )
        return value

    @field_validator("hash_cache", mode="before")
    @classmethod
    def _cache(cls, value: object) -> str | None:
        return None if value in (None, False, "off") else os.fspath(value)  # type: ignore[arg-type]


class PushResult(HubResult):
    """What a publish did.

    Attributes:
        commit_id: The new head commit; None when nothing changed (a no-op makes no commit).
        commit_ids: Every commit made, in order (more than one only when the hub's 2000-action or
            inline-size limits forced a split, or a concurrent writer had to be repaired).
        bytes_uploaded: Blob bytes sent to the hub.
        bytes_reused: Blob bytes the hub already had (never sent).
        bytes_inline: Bytes of small files sent inline in commits.
        created_branch: The target branch did not exist and was created from master's head.
        timings: Seconds per phase: scan, hash, upload, commit, verify.
    """

    model_id: str
    revision: str
    model_url: str
    commit_id: str | None
    repo_type: Literal["model", "dataset"] = "model"
    commit_ids: list[str] = Field(default_factory=list)
    created_repo: bool = False
    created_branch: bool = False
    tag: str | None = None
    files_added: int = 0
    files_changed: int = 0
    files_deleted: int = 0
    files_unchanged: int = 0
    bytes_uploaded: int = 0
    bytes_reused: int = 0
    bytes_inline: int = 0
    hash_cache_hits: int = 0
    bytes_hashed: int = 0
    verified: bool = False
    changes: list[FileChange] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)

    @property
    def repo_id(self) -> str:
        """The published repo's id ("owner/name"), a model's or a dataset's (`repo_type`)."""
        return self.model_id

    @property
    def repo_url(self) -> str:
        """The published repo's page."""
        return self.model_url

    @property
    def noop(self) -> bool:
        """True when the folder already matched the revision and no commit was made."""
        return self.commit_id is None


class DownloadedFile(HubResult):
    """One file of a `download_model` call: `downloaded` now, or already `present` (size and sha256 matched)."""

    path: str
    size: int
    sha256: str
    action: Literal["downloaded", "present"]
    bytes_resumed: int = 0


class DownloadResult(HubResult):
    """What a `download_model` call did; every file listed is in `local_dir` with the listed size and sha256.

    Attributes:
        commit_id: The commit the revision pointed at; every file comes from that one commit.
        bytes_downloaded: Body bytes received by this call (bytes of restarted attempts included).
        bytes_resumed: Bytes not re-sent thanks to a Range request (kept from a dropped attempt or a
            partial file an earlier call left behind).
    """

    model_id: str
    revision: str
    commit_id: str
    local_dir: str
    repo_type: Literal["model", "dataset"] = "model"
    files_downloaded: int = 0
    files_present: int = 0
    bytes_downloaded: int = 0
    bytes_resumed: int = 0
    files: list[DownloadedFile] = Field(default_factory=list)
