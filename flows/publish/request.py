"""The publish flows' parameters: what to publish (`PublishRequest` for a model, `DatasetPublishRequest` for a
dataset) and the per-repo lock.

They are pydantic models with descriptions and constraints, so the Prefect UI renders a form, and
they apply the client's own validators, so a request the push would refuse fails before any call. The two
requests share every field but the repo's id and folder and one setting of a new repo (`RepoPublishRequest`);
each form keeps its own numbered order, so both read top to bottom like the task.
"""

from __future__ import annotations

from abc import abstractmethod
from enum import Enum
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flows.snapshot.form import OptionalText
from hub_tasks import PushOptions
from hub_tasks.prefect.concurrency import publish_lock_name
from hub_tasks.push.scan import check_folder
from hub_tasks.repo_types import RepoType
from hub_tasks.validation import validate_model_id, validate_ref, validate_tag

NAME = r"[A-Za-z0-9_.-]+"
REF = r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$"


def checked_model_id(value: str, operation: str = "publish_model", repo_type: RepoType = "model") -> str:
    """`value` when it is a valid "owner/name" (the client's rule), else an `InvalidParameter` (a ValueError)."""
    validate_model_id(value, operation, repo_type)
    return value


def checked_tag(value: str | None, operation: str = "publish_model") -> str | None:
    """`value` when it is None, empty (no tag) or a valid tag that is not a branch name, else an
    `InvalidParameter` (a ValueError)."""
    return value if not value else validate_tag(value, operation)


class Visibility(str, Enum):
    """Who can see a new repo."""

    public = "public"
    internal = "internal"
    private = "private"

    @property
    def code(self) -> int:
        """The hub's number for it (5, 3, 1)."""
        return {"public": 5, "internal": 3, "private": 1}[self.value]


MODEL_ID_WORDS = "owner/name, e.g. alice/my-model"
DATASET_ID_WORDS = "owner/name, e.g. alice/my-dataset"


def _at(position: int) -> dict[str, int]:
    """The form position of a field: the Prefect UI lists numbered fields in order, unnumbered ones first."""
    return {"position": position}


def _refused_in_words(regex: str, words: str, position: int) -> dict[str, object]:
    """A form field that matches `regex`, refused with `words` rather than the regex itself, next to the
    field in both of Prefect's UIs.

    The Prefect server checks form values with jsonschema and the UIs show its message next to the field.
    A `pattern` keyword's message quotes the raw regex ("'x' does not match '^[A-Za-z0-9_.-]+/…$'"), and
    Prefect 3.9 offers no custom message. An `if`/`else` does it: a value the regex refuses must then equal
    `words`, whose message reads "'owner/name, e.g. alice/my-model' was expected". The words themselves
    never pass as a value: the field's validator applies the client's own rule after the form.

    The `if`/`else` sits inside an `allOf`: the v1 UI checks a form (POST /ui/schemas/validate) with a copy
    of the schema that keeps only the keywords it knows, and it drops `pattern` and `if`/`else` but passes
    `allOf` on as it is. Without it v1 let the value through to the run creation, which the server refused
    with a toast naming no field.
    """
    return {"allOf": [{"if": {"pattern": regex}, "else": {"const": words}}], "position": position}


def _commit_message(default: str) -> str:
    """The commit message field, whose default names the repo type ("upload model", "upload dataset")."""
    return Field(
        title="Commit message",
        default=default,
        description="Commit message (empty: the default).",
        json_schema_extra=_at(4),
    )


class RepoPublishRequest(BaseModel):
    """What both publish requests ask: where the folder goes (branch, tag), a new repo's settings, the file rules.

    A request names its repo (`repo_id`) and folder (`folder`) in its own words (`model_id`, `dataset_dir`),
    holds `commit_message` with its type's default, and may add settings a new repo of its type takes.
    """

    model_config = ConfigDict(extra="forbid")

    #: Which repo type the request publishes, the operation its errors name, the folder field's name, and
    #: whether the folder must hold a configuration.json (a model's must; SDK 1.40 asks a dataset for none).
    repo_type: ClassVar[RepoType]
    operation: ClassVar[str]
    folder_field: ClassVar[str]
    needs_configuration: ClassVar[bool]

    commit_message: str  # each request's own field, whose default names its type

    revision: str = Field(
        default="master",
        title="Revision",
        pattern=REF,
        description="Branch to publish to; a missing one is created from master's head.",
        json_schema_extra=_at(2),
    )
    tag: OptionalText = Field(
        title="Tag",
        default="",
        pattern=rf"^$|{REF}",
        description="Tag the new commit, e.g. v1.0 (never moved); empty for no tag.",
        json_schema_extra=_at(3),
    )
    visibility: Visibility = Field(
        title="Visibility",
        default=Visibility.public,
        description="Visibility if the repo is created.",
        json_schema_extra=_at(5),
    )
    license: str = Field(
        title="License",
        default="Apache License 2.0",
        min_length=1,
        description="License if the repo is created.",
        json_schema_extra=_at(6),
    )
    chinese_name: OptionalText = Field(
        title="Chinese name",
        default="",
        description="Display name if the repo is created; empty for none.",
        json_schema_extra=_at(7),
    )
    ignore_file_pattern: list[str] = Field(
        title="Ignore file pattern",
        default_factory=list,
        # No backslash before punctuation (v1 renders help as markdown and would drop it): "[.]tmp$", not "\.tmp$".
        description=r"Regular expressions (as the SDK's push_model takes them) searched in each file's path "
        r"relative to the folder, e.g. checkpoint-\d+ or [.]tmp$ for names ending in .tmp; matching files are left "
        "out and kept on the hub.",
        json_schema_extra=_at(9),
    )
    ignore_patterns: list[str] = Field(
        title="Ignore patterns",
        default_factory=list,
        # One star only: two can pair up as markdown emphasis in v1 ("*.log or runs/*" showed as italic).
        description="Globs matched against each file's relative path and name (e.g. *.log); matching files are "
        "left out and kept on the hub.",
        json_schema_extra=_at(10),
    )
    delete_missing: bool = Field(
        title="Delete missing",
        default=True,
        description="Remove hub files that are not in the folder.",
        json_schema_extra=_at(11),
    )
    allow_secret_files: list[str] = Field(
        title="Allow secret files",
        default_factory=list,
        description="Secret-looking files (keys, .env, credentials) the folder may publish on purpose, as globs, "
        "e.g. keys/public.pem or * for all; empty refuses them.",
        json_schema_extra=_at(12),
    )
    rollback_new_repo: bool = Field(
        title="Roll back a new repo",
        default=True,
        description="Delete the repo again if this run created it and the push failed.",
        json_schema_extra=_at(13),
    )

    # The client's own rules, so that a request the push would refuse is refused before any remote call
    # (the patterns above also let through "..", "master" as a tag, and names like "a..b" or "v1.lock").
    @field_validator("revision")
    @classmethod
    def _revision(cls, value: str) -> str:
        return validate_ref(value, "revision", cls.operation)

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        return checked_tag(value, cls.operation) if value else value

    @property
    @abstractmethod
    def repo_id(self) -> str:
        """The repo's "owner/name"."""

    @property
    @abstractmethod
    def folder(self) -> str:
        """The folder to publish, as given."""

    def checked_folder(self) -> Path:
        """The push engine's own check of the folder, run before any remote call; raises `InvalidParameter`
        naming the field."""
        return check_folder(self.folder, self.folder_field, require_config=self.needs_configuration)

    def new_repo_options(self) -> dict[str, str | None]:
        """The settings only a new repo of this type takes, as `PushOptions` fields."""
        return {}

    def push_options(self) -> PushOptions:
        """What the push engine is asked to do, built by keyword (it validates itself).

        Example:
            >>> PublishRequest(model_id="alice/demo", model_dir="./out", tag="v1").push_options().tag
            'v1'
            >>> DatasetPublishRequest(dataset_id="alice/corpus", dataset_dir="./data").push_options().commit_message
            'upload dataset'
        """
        return PushOptions(
            visibility=self.visibility.code,
            license=self.license,
            chinese_name=self.chinese_name or None,
            commit_message=self.commit_message,
            tag=self.tag or None,
            revision=self.revision,
            ignore_file_pattern=self.ignore_file_pattern,
            ignore_patterns=self.ignore_patterns,
            delete_missing=self.delete_missing,
            allow_secret_files=tuple(self.allow_secret_files),
            **self.new_repo_options(),
        )


class PublishRequest(RepoPublishRequest):
    """What to publish to the ModelScope Hub, and how.

    The form reads top to bottom like the task: the model and folder, where it goes (branch, tag,
    message), then the settings of a new repo, then the file rules. An empty optional text means
    "none", so the form has no "str | None" toggles.
    """

    repo_type: ClassVar[RepoType] = "model"
    operation: ClassVar[str] = "publish_model"
    folder_field: ClassVar[str] = "model_dir"
    needs_configuration: ClassVar[bool] = True

    model_id: str = Field(
        title="Model ID",
        description=f"Hub id as {MODEL_ID_WORDS}.",
        json_schema_extra=_refused_in_words(rf"^{NAME}/{NAME}$", MODEL_ID_WORDS, 0),
    )
    model_dir: str = Field(
        title="Model folder",
        min_length=1,
        description="Folder to publish; it must hold a configuration.json.",
        json_schema_extra=_at(1),
    )
    commit_message: str = _commit_message("upload model")
    original_model_id: OptionalText = Field(
        default="",
        title="Original model ID",
        description="Base model this one was trained from, as owner/name; empty for none.",
        json_schema_extra=_refused_in_words(rf"^$|^{NAME}/{NAME}$", f"empty, or {MODEL_ID_WORDS}", 8),
    )

    @field_validator("model_id", "original_model_id")
    @classmethod
    def _model_id(cls, value: str) -> str:
        return checked_model_id(value) if value else value

    @property
    def repo_id(self) -> str:
        """The model's "owner/name"."""
        return self.model_id

    @property
    def folder(self) -> str:
        """The model folder, as given."""
        return self.model_dir

    def new_repo_options(self) -> dict[str, str | None]:
        """A new model's base model."""
        return {"original_model_id": self.original_model_id or None}


class DatasetPublishRequest(RepoPublishRequest):
    """What dataset to publish to the ModelScope Hub, and how.

    The form reads top to bottom like the task: the dataset and folder, where it goes (branch, tag,
    message), then the settings of a new dataset, then the file rules. Any folder is a dataset: no
    configuration.json is needed. An empty optional text means "none".
    """

    repo_type: ClassVar[RepoType] = "dataset"
    operation: ClassVar[str] = "publish_dataset"
    folder_field: ClassVar[str] = "dataset_dir"
    needs_configuration: ClassVar[bool] = False

    dataset_id: str = Field(
        title="Dataset ID",
        description=f"Hub id as {DATASET_ID_WORDS}.",
        json_schema_extra=_refused_in_words(rf"^{NAME}/{NAME}$", DATASET_ID_WORDS, 0),
    )
    dataset_dir: str = Field(
        title="Dataset folder",
        min_length=1,
        description="Folder to publish; every file in it is data (no configuration.json needed).",
        json_schema_extra=_at(1),
    )
    commit_message: str = _commit_message("upload dataset")
    description: OptionalText = Field(
        title="Description",
        default="",
        description="What the data is, if the dataset is created; empty for none.",
        json_schema_extra=_at(8),
    )

    @field_validator("dataset_id")
    @classmethod
    def _dataset_id(cls, value: str) -> str:
        return checked_model_id(value, cls.operation, "dataset")

    @property
    def repo_id(self) -> str:
        """The dataset's "owner/name"."""
        return self.dataset_id

    @property
    def folder(self) -> str:
        """The dataset folder, as given."""
        return self.dataset_dir

    def new_repo_options(self) -> dict[str, str | None]:
        """A new dataset's description."""
        return {"description": self.description or None}


class PublishLock(BaseModel):
    """The per-model lock that keeps two publishes of one model from interleaving (on any worker)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(title="Enabled", default=True, description="Take the model's lock around the write phase.")
    name: OptionalText = Field(
        title="Lock name",
        default="",
        pattern=r"^[^/%&<>]*$",
        description="Global concurrency limit to use; empty for the model's own, modelscope-publish-OWNER--NAME.",
    )
    # The UIs append " (Optional)" to a label: "Timeout (s) (Optional)" read badly, so units are words.
    timeout_seconds: float = Field(
        title="Timeout in seconds", default=3600, gt=0, description="Give up waiting for the lock after this long."
    )
    # The bounds of the Prefect server's lease API: anything outside is refused at lock time (HTTP 422).
    lease_seconds: float = Field(
        title="Lease in seconds",
        default=300,
        ge=60,
        le=86400,
        description="A crashed holder's lock frees itself after this long.",
    )

    def limit_name(self, repo_id: str) -> str:
        """The global concurrency limit the lock takes: `name`, or the repo's own.

        Example:
            >>> PublishLock().limit_name("alice/demo"), DatasetPublishLock().limit_name("alice/corpus")
            ('modelscope-publish-alice--demo', 'modelscope-publish-dataset-alice--corpus')
        """
        return self.name or publish_lock_name(repo_id)


class DatasetPublishLock(PublishLock):
    """The per-dataset lock that keeps two publishes of one dataset from interleaving (on any worker)."""

    enabled: bool = Field(title="Enabled", default=True, description="Take the dataset's lock around the write phase.")
    name: OptionalText = Field(
        title="Lock name",
        default="",
        pattern=r"^[^/%&<>]*$",
        description="Global concurrency limit to use; empty for the dataset's own, "
        "modelscope-publish-dataset-OWNER--NAME.",
    )

    def limit_name(self, repo_id: str) -> str:
        """`name`, or the dataset's own limit (never a model's of the same name)."""
        return self.name or publish_lock_name(f"dataset-{repo_id}")
