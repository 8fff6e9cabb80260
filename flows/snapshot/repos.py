"""The repo types as a snapshot lists and reads them: `Listed`, one listed repo of either type, and the
few hub calls that differ by type, in one table (`CALLS`). Listing and reading are otherwise one code path
with a repo type (`listing.py`, `reading.py`): the refs, files and tags of a dataset are read exactly as a
model's, with `repo_type="dataset"`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from flows.snapshot.format import repo_label
from hub_tasks import DatasetInfo, HubClient, ModelInfo
from hub_tasks.repo_types import RepoType


class Listed(BaseModel):
    """A repo as its owner's listing shows it: what the snapshot records of it besides its refs."""

    model_config = ConfigDict(frozen=True)

    repo_type: RepoType = "model"
    repo_id: str
    private: bool = False
    visibility: int | None = None
    license: str = ""
    last_modified: datetime | None = None

    @property
    def label(self) -> str:
        """Unique across repo types (`repo_label`): `alice/demo`, `datasets/alice/corpus`."""
        return repo_label(self.repo_type, self.repo_id)

    @classmethod
    def of(cls, repo_type: RepoType, info: ModelInfo | DatasetInfo) -> Listed:
        """From a model's or a dataset's listing entry.

        Example:
            >>> Listed.of("dataset", DatasetInfo(dataset_id="o/d", owner="o", name="d", private=True)).label
            'datasets/o/d'
        """
        repo_id = info.model_id if isinstance(info, ModelInfo) else info.dataset_id
        return cls(
            repo_type=repo_type,
            repo_id=repo_id,
            private=info.private,
            visibility=info.visibility,
            license=info.license,
            last_modified=info.last_modified,
        )


@dataclass(frozen=True)
class RepoCalls:
    """The hub calls of a snapshot that differ by repo type (every other read takes `repo_type`)."""

    listing: str  # the listing's operation name, for errors
    list_page: Callable[[HubClient, str, int, int], tuple[list[Listed], int]]  # (repos, total count) of a page
    visibility: Callable[[HubClient, str], int | None]  # the exact visibility code, from the repo's own page


def _model_page(client: HubClient, owner: str, number: int, size: int) -> tuple[list[Listed], int]:
    page = client.list_models(owner, number, size)
    return [Listed.of("model", m) for m in page.models], page.total_count


def _dataset_page(client: HubClient, owner: str, number: int, size: int) -> tuple[list[Listed], int]:
    page = client.list_datasets(owner, number, size)
    return [Listed.of("dataset", d) for d in page.datasets], page.total_count


CALLS: dict[RepoType, RepoCalls] = {
    "model": RepoCalls("list_models", _model_page, lambda client, repo_id: client.get_model(repo_id).visibility),
    "dataset": RepoCalls(
        "list_datasets", _dataset_page, lambda client, repo_id: client.get_dataset(repo_id).visibility
    ),
}
