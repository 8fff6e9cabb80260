"""`DatasetSession`: the dataset operations, and the repo-type dispatch the engines publish through.

A dataset is the hub's other repo type (protocol.md §21). Its revisions, tags, branches, blobs and
commits go through the same code as a model's with `repo_type="dataset"` (`RevisionSession`,
`TransferSession`, the push and download engines); what is a dataset's own is here: the multipart
create with `Owner`, the legacy metadata with its numeric `Id`, the OpenAPI listing, and the faces
named after SDK 1.40's dataset calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.cookiejar import CookieJar

from hub_tasks.errors import InvalidParameter, NotExistError
from hub_tasks.models import ModelSession
from hub_tasks.repo_types import DATASET, RepoType, repo_kind
from hub_tasks.types import DatasetInfo, DatasetPage, RepoFile, Revision
from hub_tasks.validation import validate_cutoff, validate_model_id, validate_owner, validate_page, validate_visibility


class DatasetSession(ModelSession):
    """`ModelSession` plus the dataset operations and `repo_exists` / `create_repo` / `delete_repo`."""

    # -- datasets ------------------------------------------------------------------------------
    def create_dataset(
        self,
        dataset_id: str,
        visibility: int = 5,
        license: str = "Apache License 2.0",
        chinese_name: str | None = None,
        description: str | None = None,
    ) -> str:
        """Create an empty dataset repo (`POST /api/v1/datasets`, multipart, as SDK 1.40 sends it).

        Safe to retry: after a lost answer it checks whether the dataset now exists before sending
        again, so a timeout never turns into a spurious "already exists".

        Args:
            dataset_id: "owner/name".
            visibility: 1 private, 3 internal, 5 public.
            license: License name, e.g. "Apache License 2.0".
            chinese_name: Display name.
            description: What the data is.

        Returns:
            The dataset's URL.

        Raises:
            InvalidParameter: Bad id or visibility (before any request).
            NotLoginError: No token, or an invalid one.
            AlreadyExistsError: The name is taken.
            PermissionDeniedError: The token may not create datasets under that owner.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.create_dataset("alice/new-corpus", visibility=1))
            ```
            Prints:
            ```text
            <URL>/datasets/alice/new-corpus
            ```
        """
        op = "create_dataset"
        owner, name = validate_model_id(dataset_id, op, "dataset")
        validate_visibility(visibility, op)
        if not isinstance(license, str) or not license:
            raise InvalidParameter(f"license must be a non-empty string, got {license!r}", operation=op)
        self.require_token(op, dataset_id)
        # SDK 1.40's fields in its order, each `(None, str(value))`; the optional ones only when given.
        fields = {"Owner": owner, "Name": name, "Visibility": visibility, "License": license}
        fields |= {k: v for k, v in (("ChineseName", chinese_name), ("Description", description)) if v}
        form = {key: (None, str(value)) for key, value in fields.items()}

        def send() -> str:
            self.call("POST", "/api/v1/datasets", operation=op, model_id=dataset_id, files=form)
            return self.repo_url(dataset_id, "dataset")

        def landed() -> str | None:
            return self.repo_url(dataset_id, "dataset") if self.dataset_exists(dataset_id) else None

        return self.call_checked(send, landed, operation=op, model_id=dataset_id)

    def delete_dataset(self, dataset_id: str, *, confirm: str | None = None) -> None:
        """Delete a dataset repo. Irreversible, so it must be confirmed with `confirm=dataset_id`.

        Raises:
            InvalidParameter: Not confirmed, or a bad id (before any request).
            NotExistError: No such dataset (or not visible).
            PermissionDeniedError: Not yours.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                client.delete_dataset("alice/old-corpus", confirm="alice/old-corpus")
            ```
        """
        op = "delete_dataset"
        validate_model_id(dataset_id, op, "dataset")
        if confirm != dataset_id:
            raise InvalidParameter(
                f"deleting {dataset_id} is irreversible: pass confirm={dataset_id!r} to proceed", operation=op
            )
        self.require_token(op, dataset_id)

        def send() -> bool:
            self.call("DELETE", DATASET.api(dataset_id), operation=op, model_id=dataset_id, retry=False)
            return True

        def landed() -> bool | None:
            return None if self.dataset_exists(dataset_id) else True

        self.call_checked(send, landed, operation=op, model_id=dataset_id)

    def get_dataset(self, dataset_id: str) -> DatasetInfo:
        """Fetch a dataset's metadata from the legacy route, the one that carries its numeric `Id`.

        Returns:
            The dataset's `DatasetInfo` (exact visibility: 1, 3 or 5; `id` and `type` as the hub numbers them).

        Raises:
            NotExistError: No such dataset, or private to someone else.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.get_dataset("alice/corpus").visibility)
            ```
            Prints:
            ```text
            5
            ```
        """
        op = "get_dataset"
        validate_model_id(dataset_id, op, "dataset")
        payload, _ = self.call("GET", DATASET.api(dataset_id), operation=op, model_id=dataset_id, lookup=True)
        return DatasetInfo.from_legacy(self.unwrap(payload) or {})

    def dataset_exists(self, dataset_id: str) -> bool:
        """True when the dataset exists and this token may see it (404 means False).

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.dataset_exists("alice/corpus"))
            ```
            Prints:
            ```text
            True
            ```
        """
        try:
            self.get_dataset(dataset_id)
        except NotExistError:
            return False
        return True

    def list_datasets(self, owner_or_group: str, page_number: int = 1, page_size: int = 10) -> DatasetPage:
        """One page of the datasets of an owner or group (`GET /openapi/v1/datasets`, as SDK 1.40 does).

        Raises:
            InvalidParameter: Bad owner, page number or size (before any request).
            ListingLimitError: The page starts at or past the hub's offset window (before any request).

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.list_datasets("alice", page_size=50).total_count)
            ```
            Prints:
            ```text
            2
            ```
        """
        op = "list_datasets"
        validate_owner(owner_or_group, op)
        validate_page(page_number, page_size, op)
        self.check_page_window(page_number, page_size, op)
        params = {"owner": owner_or_group, "page_number": page_number, "page_size": page_size}
        payload, _ = self.call("GET", "/openapi/v1/datasets", operation=op, params=params)
        data = self.unwrap(payload) or {}
        items = data.get("datasets") or data.get("items") or []
        return DatasetPage(
            datasets=[DatasetInfo.from_openapi(d) for d in items],
            total_count=int(data.get("total_count") or data.get("TotalCount") or data.get("total") or 0),
            page_number=page_number,
            page_size=page_size,
        )

    def iter_datasets(self, owner_or_group: str, page_size: int = 100) -> Iterator[DatasetInfo]:
        """Every dataset of an owner or group, across all pages; never silently truncated.

        Raises:
            ListingLimitError: More datasets than the hub can page through, or a page came back short
                before the total was reached.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(sorted(d.dataset_id for d in client.iter_datasets("alice")))
            ```
            Prints:
            ```text
            ['alice/corpus', 'alice/old-corpus']
            ```
        """

        def read(page_number: int) -> tuple[list[DatasetInfo], int]:
            page = self.list_datasets(owner_or_group, page_number, page_size)
            return page.datasets, page.total_count

        return self.every_page(owner_or_group, page_size, read, lambda d: d.dataset_id, "iter_datasets", "datasets")

    # -- a dataset's revisions and files -------------------------------------------------------
    def get_dataset_files(
        self,
        dataset_id: str,
        revision: str | None = None,
        root: str | None = None,
        recursive: bool = False,
        use_cookies: bool | CookieJar = False,
    ) -> list[RepoFile]:
        """List a dataset revision's files (`/repo/tree`; a recursive listing is read page by page, several
        pages at a time, until the short page that ends it).

        Args:
            dataset_id: "owner/name".
            revision: Branch, tag or commit id; `master` when None.
            root: Only below this folder.
            recursive: Descend into sub-folders.
            use_cookies: Accepted for the SDK's signature and ignored.

        Raises:
            NotExistError: No such dataset, revision or folder.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print([f.path for f in client.get_dataset_files("alice/corpus", recursive=True)])
            ```
            Prints:
            ```text
            ['README.md', 'data/train.jsonl']
            ```
        """
        return self.get_repo_files(dataset_id, revision, root, recursive, repo_type="dataset")

    def get_dataset_branches_and_tags(self, dataset_id: str) -> tuple[list[str], list[str]]:
        """Branch names and tag names (tags newest first) of a dataset.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.get_dataset_branches_and_tags("alice/corpus"))
            ```
            Prints:
            ```text
            (['master'], ['v1'])
            ```
        """
        branches, tags = self.get_branches_and_tags_details(dataset_id, repo_type="dataset")
        return [b.name for b in branches], [t.name for t in tags]

    def list_dataset_revisions(self, dataset_id: str, cutoff_timestamp: int | None = None) -> list[Revision]:
        """A dataset's tags created at or before `cutoff_timestamp` (None: all, up to the hub's "now"),
        newest first, as `Revision` objects (`list_model_revisions_detail` for datasets).

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print([t.name for t in client.list_dataset_revisions("alice/corpus")])
            ```
            Prints:
            ```text
            ['v1']
            ```
        """
        end = validate_cutoff(cutoff_timestamp, "list_dataset_revisions")
        return self._revision_map(dataset_id, end, "list_dataset_revisions", "dataset")[1]

    # -- either repo type ----------------------------------------------------------------------
    def repo_exists(self, repo_id: str, *, repo_type: RepoType = "model") -> bool:
        """`model_exists` or `dataset_exists`, by repo type.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.repo_exists("alice/corpus", repo_type="dataset"))
            ```
            Prints:
            ```text
            True
            ```
        """
        kind = repo_kind(repo_type, "repo_exists")
        return self.dataset_exists(repo_id) if kind is DATASET else self.model_exists(repo_id)

    def create_repo(
        self,
        repo_id: str,
        *,
        repo_type: RepoType = "model",
        visibility: int = 5,
        license: str = "Apache License 2.0",
        chinese_name: str | None = None,
        description: str | None = None,
        original_model_id: str | None = None,
    ) -> str:
        """`create_model` or `create_dataset`, by repo type (the fields the other type lacks are ignored).

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.create_repo("alice/more-data", repo_type="dataset", visibility=1))
            ```
            Prints:
            ```text
            <URL>/datasets/alice/more-data
            ```
        """
        if repo_kind(repo_type, "create_repo") is DATASET:
            return self.create_dataset(repo_id, visibility, license, chinese_name, description)
        return self.create_model(repo_id, visibility, license, chinese_name, original_model_id)

    def delete_repo(self, repo_id: str, *, repo_type: RepoType = "model", confirm: str | None = None) -> None:
        """`delete_model` or `delete_dataset`, by repo type; `confirm` must equal `repo_id`.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                client.delete_repo("alice/scratch", confirm="alice/scratch")
            ```
        """
        if repo_kind(repo_type, "delete_repo") is DATASET:
            self.delete_dataset(repo_id, confirm=confirm)
        else:
            self.delete_model(repo_id, confirm=confirm)
