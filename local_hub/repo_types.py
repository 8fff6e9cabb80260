"""What tells the hub's repo types apart (models, datasets): one table, read by the store and the routes.

A dataset is a repo like a model: the same tables, commits, refs, blobs and handlers serve both, and a repo
is known by its type and "owner/name" (a model alice/x and a dataset alice/x are two repos). The few things
that differ are the fields below (protocol.md §21.11 lists the wire's side of them); the routes that differ
(how a dataset is created, described and listed) live in `routes_datasets`.

Example:
    >>> repo_type("dataset").segment, by_segment("models").name
    ('datasets', 'model')
"""

from __future__ import annotations

from dataclasses import dataclass

from local_hub.errors import AlreadyExists, DatasetAlreadyExists, NotImplementedOnHub
from local_hub.hub_files import DATASET_GITATTRIBUTES, GITATTRIBUTES


@dataclass(frozen=True)
class RepoType:
    """One repo type.

    Attributes:
        name: `model` or `dataset`: the store's column, the control plane's `repo_type`.
        segment: The plural in URLs: `/api/v1/{segment}/...`, `/api/v1/repos/{segment}/...`, the web page
            `/{segment}/owner/name`.
        git_prefix: What precedes `/owner/name.git` in the git URL: nothing for models (the old `Repository`
            clone URL, §14), `/datasets` for datasets (`DatasetRepository`, §21.10).
        already_exists: The error a taken name is answered with (its business code differs, §21.11).
        gitattributes: The hub's own `.gitattributes` for this type (`hub_files`).
        recursive_folders: Whether a recursive listing carries `tree` entries for folders. Models: yes, as the
            real `repo/files` sample does (§Op 7). Datasets: no, a choice (UNCERTAIN, §21.5: the SDK skips
            `tree` entries either way); a paged `repo/tree` of blobs only is one sorted range of the tree, so a
            page is a SQL LIMIT/OFFSET, and a folder never takes a page slot that a client then discards.
    """

    name: str
    segment: str
    git_prefix: str
    already_exists: type[AlreadyExists]
    gitattributes: bytes
    recursive_folders: bool


MODEL = RepoType("model", "models", "", AlreadyExists, GITATTRIBUTES, recursive_folders=True)
DATASET = RepoType("dataset", "datasets", "/datasets", DatasetAlreadyExists, DATASET_GITATTRIBUTES, False)
REPO_TYPES = {t.name: t for t in (MODEL, DATASET)}
_BY_SEGMENT = {t.segment: t for t in REPO_TYPES.values()}


def repo_type(name: str) -> RepoType:
    """The type named `name` (`model`, `dataset`).

    Raises:
        ValueError: Any other name.
    """
    try:
        return REPO_TYPES[name]
    except KeyError:
        raise ValueError(f"repo_type must be one of {', '.join(REPO_TYPES)}, got {name!r}") from None


def by_segment(segment: str) -> RepoType:
    """The type whose URL segment is `segment` (`models`, `datasets`).

    Raises:
        NotImplementedOnHub: Another type of the real hub (studios, ...), which local_hub does not emulate.
    """
    found = _BY_SEGMENT.get(segment)
    if found is None:
        raise NotImplementedOnHub(f"{segment} are not emulated by local_hub; only models and datasets are")
    return found
