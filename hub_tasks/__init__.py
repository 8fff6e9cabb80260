"""prefect-modelscope: retrying Prefect tasks for every ModelScope Hub operation.

Example:
    ```python
    from hub_tasks import HubClient

    with HubClient() as client:  # MODELSCOPE_API_TOKEN / MODELSCOPE_ENDPOINT from the environment
        print(client.get_model_branches_and_tags("alice/demo"))
    ```
"""

import importlib
from typing import TYPE_CHECKING, Any

from hub_tasks.client import HubClient
from hub_tasks.errors import (
    AlreadyExistsError,
    ConcurrentChangeError,
    DownloadError,
    HubConnectionError,
    HubError,
    InvalidParameter,
    ListingLimitError,
    NotExistError,
    NotLoginError,
    PermissionDeniedError,
    RateLimitedError,
    RequestError,
    ServerError,
    TLSVerificationError,
    TransientHubError,
    VerificationError,
    is_retryable,
)
from hub_tasks.settings import HubSettings
from hub_tasks.types import (
    Commit,
    CommitOperation,
    DatasetInfo,
    DatasetPage,
    DownloadedFile,
    DownloadResult,
    FileChange,
    LoginResult,
    ModelInfo,
    ModelPage,
    ProgressEvent,
    PushOptions,
    PushResult,
    RepoFile,
    Revision,
)

__all__ = [
    "AlreadyExistsError",
    "Commit",
    "CommitOperation",
    "ConcurrentChangeError",
    "DatasetInfo",
    "DatasetPage",
    "DownloadError",
    "DownloadResult",
    "DownloadedFile",
    "FileChange",
    "HubClient",
    "HubConnectionError",
    "HubError",
    "HubSettings",
    "InvalidParameter",
    "ListingLimitError",
    "LoginResult",
    "ModelInfo",
    "ModelPage",
    "NotExistError",
    "NotLoginError",
    "PermissionDeniedError",
    "ProgressEvent",
    "PushOptions",
    "PushResult",
    "RateLimitedError",
    "RepoFile",
    "RequestError",
    "Revision",
    "ServerError",
    "TLSVerificationError",
    "TransientHubError",
    "VerificationError",
    "is_retryable",
]

# The Prefect layer (the credentials block and one retrying task per hub operation) is imported on
# first use, so a script that only needs `HubClient` never pays for importing Prefect (about 2 s).
_PREFECT_LAYER = {
    "ModelScopeCredentials": "hub_tasks.prefect.credentials",
    "retry_if_transient": "hub_tasks.prefect.runtime",
    **dict.fromkeys(
        (
            "create_branch",
            "create_model",
            "create_tag",
            "delete_model",
            "get_model",
            "get_model_branches_and_tags",
            "get_model_files",
            "get_model_refs",
            "list_all_models",
            "list_model_revisions",
            "list_models",
            "login",
            "model_exists",
        ),
        "hub_tasks.prefect.tasks",
    ),
    **dict.fromkeys(
        ("download_model", "fetch_meta_files_from_url", "push_folder", "push_model", "verify_model_folder"),
        "hub_tasks.prefect.transfer_tasks",
    ),
    **dict.fromkeys(
        (
            "create_dataset",
            "dataset_exists",
            "delete_dataset",
            "download_dataset",
            "get_dataset",
            "get_dataset_branches_and_tags",
            "get_dataset_files",
            "list_all_datasets",
            "list_dataset_revisions",
            "list_datasets",
            "push_dataset",
            "verify_dataset_folder",
        ),
        "hub_tasks.prefect.dataset_tasks",
    ),
}
__all__ += sorted(_PREFECT_LAYER)


def __getattr__(name: str) -> Any:
    """Import a Prefect-layer name on first access (PEP 562), then keep it in the module."""
    module = _PREFECT_LAYER.get(name)
    if module is None:
        raise AttributeError(f"module 'hub_tasks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Every public name, the lazy ones included (`prefect block register -m hub_tasks` lists them)."""
    return sorted({*globals(), *_PREFECT_LAYER})


if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly (re-exported)
    from hub_tasks.prefect.credentials import ModelScopeCredentials  # noqa: F401
    from hub_tasks.prefect.dataset_tasks import (  # noqa: F401
        create_dataset,
        dataset_exists,
        delete_dataset,
        download_dataset,
        get_dataset,
        get_dataset_branches_and_tags,
        get_dataset_files,
        list_all_datasets,
        list_dataset_revisions,
        list_datasets,
        push_dataset,
        verify_dataset_folder,
    )
    from hub_tasks.prefect.runtime import retry_if_transient  # noqa: F401
    from hub_tasks.prefect.tasks import (  # noqa: F401
        create_branch,
        create_model,
        create_tag,
        delete_model,
        get_model,
        get_model_branches_and_tags,
        get_model_files,
        get_model_refs,
        list_all_models,
        list_model_revisions,
        list_models,
        login,
        model_exists,
    )
    from hub_tasks.prefect.transfer_tasks import (  # noqa: F401
        download_model,
        fetch_meta_files_from_url,
        push_folder,
        push_model,
        verify_model_folder,
    )
