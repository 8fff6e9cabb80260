"""`ModelSession`: the account (login, the git token), branches, and the model operations.

Create, delete, read and list models. `DatasetSession` (datasets.py) adds the dataset ones and `HubClient`
(client.py) the folder operations of both; everything sends through `HubSession.call`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pydantic import SecretStr

from hub_tasks.branches import create_branch
from hub_tasks.errors import InvalidParameter, ListingLimitError, NotExistError
from hub_tasks.repo_types import RepoType
from hub_tasks.revisions import RevisionSession
from hub_tasks.types import LoginResult, ModelInfo, ModelPage
from hub_tasks.validation import validate_model_id, validate_owner, validate_page, validate_ref, validate_visibility

T = TypeVar("T")


class ModelSession(RevisionSession):
    """`RevisionSession` plus the account, branch and model operations; `HubClient` builds on it."""

    # -- account -------------------------------------------------------------------------------
    def login(self, access_token: str | SecretStr | None = None) -> LoginResult:
        """Verify an SDK token with the hub and use it for this client from now on.

        Args:
            access_token: The token; the client's own token when None.

        Returns:
            Username and email, and whether a git token was issued. The git token itself stays in
            `client.git_token` (a `SecretStr`) and is never part of a result.

        Raises:
            NotLoginError: No token, or the hub rejects it.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.login().username)
            ```
            Prints:
            ```text
            alice
            ```
        """
        if access_token is not None:
            self.settings = self.settings.model_copy(
                update={"token": access_token if isinstance(access_token, SecretStr) else SecretStr(access_token)}
            )
        self.require_token("login")
        assert self.settings.token is not None
        body = {"AccessToken": self.settings.token.get_secret_value()}
        payload, _ = self.call("POST", "/api/v1/login", operation="login", json=body, retry=True)
        data = self.unwrap(payload) or {}
        git = data.get("AccessToken")
        self.git_token = SecretStr(git) if git else None
        return LoginResult(
            username=data.get("Username") or "", email=data.get("Email") or "", git_token_issued=bool(git)
        )

    # -- branches ------------------------------------------------------------------------------
    def create_branch(
        self,
        model_id: str,
        branch: str,
        from_revision: str = "master",
        *,
        exist_ok: bool = False,
        repo_type: RepoType = "model",
    ) -> str:
        """Create a branch at the commit `from_revision` points at; returns that commit id.

        The hub's HTTP API has no branch call, so this is one ref update over its git endpoint
        (`{endpoint}/{owner}/{name}.git`; a dataset's, `repo_type="dataset"`, is under `/datasets/`) with the
        git token login issues (logging in first when needed); no objects are sent. The git token never
        appears in a log, error or result.

        Args:
            model_id: "owner/name".
            branch: The new branch (git check-ref-format rules; not `HEAD`, not a tag's name).
            from_revision: A branch or tag, or the commit id at the head of one.
            exist_ok: Return the existing branch's commit instead of raising `AlreadyExistsError`.
            repo_type: "model" or "dataset".

        Raises:
            InvalidParameter: A bad name, a name equal to a tag, or a missing `from_revision`,
                before anything is written.
            AlreadyExistsError: The branch exists (unless `exist_ok`).
            RequestError: The hub's git endpoint refused; its reason is in the message.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.create_branch("alice/demo", "dev", from_revision="master"))
            ```
            Prints:
            ```text
            <commit id>
            ```
        """
        return create_branch(
            self, model_id, branch, from_revision, exist_ok=exist_ok, login=self.login, repo_type=repo_type
        )

    # -- models --------------------------------------------------------------------------------
    def create_model(
        self,
        model_id: str,
        visibility: int = 5,
        license: str = "Apache License 2.0",
        chinese_name: str | None = None,
        original_model_id: str | None = "",
    ) -> str:
        """Create an empty model repo.

        Safe to retry: after a lost answer it checks whether the model now exists before
        sending again, so a timeout never turns into a spurious "already exists".

        Args:
            model_id: "owner/name".
            visibility: 1 private, 3 internal, 5 public.
            license: License name, e.g. "Apache License 2.0".
            chinese_name: Display name.
            original_model_id: The base model this one was trained from.

        Returns:
            The model's URL.

        Raises:
            InvalidParameter: Bad id or visibility (before any request).
            NotLoginError: No token, or an invalid one.
            AlreadyExistsError: The name is taken.
            PermissionDeniedError: The token may not create models under that owner.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.create_model("alice/new-model", visibility=1))
            ```
            Prints:
            ```text
            <URL>/models/alice/new-model
            ```
        """
        op = "create_model"
        owner, name = validate_model_id(model_id, op)
        validate_visibility(visibility, op)
        if not isinstance(license, str) or not license:
            raise InvalidParameter(f"license must be a non-empty string, got {license!r}", operation=op)
        self.require_token(op, model_id)
        # SDK 1.40's keys; the optional ones only when given, as it sends them. The base model keeps the
        # seed's `OriginalModelId` spelling (SDK 1.40 forwards an unconverted `original_model_id`).
        body: dict[str, Any] = {"Path": owner, "Name": name, "Visibility": visibility, "License": license}
        if chinese_name:
            body["ChineseName"] = chinese_name
        if original_model_id:
            body["OriginalModelId"] = original_model_id

        def send() -> str:
            self.call("POST", "/api/v1/models", operation=op, model_id=model_id, json=body)
            return self.model_url(model_id)

        def landed() -> str | None:
            return self.model_url(model_id) if self.model_exists(model_id) else None

        return self.call_checked(send, landed, operation=op, model_id=model_id)

    def delete_model(self, model_id: str, *, confirm: str | None = None) -> None:
        """Delete a model repo. Irreversible, so it must be confirmed with `confirm=model_id`.

        Args:
            model_id: "owner/name".
            confirm: Must equal `model_id`.

        Raises:
            InvalidParameter: Not confirmed, or a bad id (before any request).
            NotExistError: No such model (or not visible).
            PermissionDeniedError: Not yours.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                client.delete_model("alice/old-model", confirm="alice/old-model")
            ```
        """
        op = "delete_model"
        validate_model_id(model_id, op)
        if confirm != model_id:
            raise InvalidParameter(
                f"deleting {model_id} is irreversible: pass confirm={model_id!r} to proceed", operation=op
            )
        self.require_token(op, model_id)

        def send() -> bool:
            self.call("DELETE", f"/api/v1/models/{model_id}", operation=op, model_id=model_id, retry=False)
            return True

        self.call_checked(send, lambda: None if self.model_exists(model_id) else True, operation=op, model_id=model_id)

    def get_model(self, model_id: str, revision: str | None = None) -> ModelInfo:
        """Fetch a model's metadata.

        Args:
            model_id: "owner/name".
            revision: A branch, tag or commit the model must have.

        Returns:
            The model's `ModelInfo` (exact visibility: 1, 3 or 5).

        Raises:
            NotExistError: No such model or revision, or private to someone else.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.get_model("alice/demo").visibility)
            ```
            Prints:
            ```text
            5
            ```
        """
        op = "get_model"
        validate_model_id(model_id, op)
        params = {"Revision": validate_ref(revision, "revision", op)} if revision is not None else None
        payload, _ = self.call(
            "GET", f"/api/v1/models/{model_id}", operation=op, model_id=model_id, params=params, lookup=True
        )
        return ModelInfo.from_legacy(self.unwrap(payload) or {})

    def model_exists(self, model_id: str) -> bool:
        """True when the model exists and this token may see it (404 means False).

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.model_exists("alice/demo"))
            ```
            Prints:
            ```text
            True
            ```
        """
        try:
            self.get_model(model_id)
        except NotExistError:
            return False
        return True

    def list_models(self, owner_or_group: str, page_number: int = 1, page_size: int = 10) -> ModelPage:
        """One page of the models of an owner or group (`GET /openapi/v1/models`, as SDK 1.40 does).

        Args:
            owner_or_group: User or group name.
            page_number: 1-based page.
            page_size: 1..100.

        Returns:
            The page's models with the total count.

        Raises:
            InvalidParameter: Bad owner, page number or size (before any request).
            ListingLimitError: The page starts at or past the hub's offset window (before any request).

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.list_models("alice", page_size=50).total_count)
            ```
            Prints:
            ```text
            3
            ```
        """
        op = "list_models"
        validate_owner(owner_or_group, op)
        validate_page(page_number, page_size, op)
        self.check_page_window(page_number, page_size, op)
        params = {"owner": owner_or_group, "page_number": page_number, "page_size": page_size}
        payload, _ = self.call("GET", "/openapi/v1/models", operation=op, params=params)
        data = self.unwrap(payload) or {}
        models = [ModelInfo.from_openapi(m) for m in data.get("models") or []]
        return ModelPage(
            models=models, total_count=int(data.get("total_count") or 0), page_number=page_number, page_size=page_size
        )

    def require_complete_listing(
        self, owner_or_group: str, total_count: int, operation: str, noun: str = "models"
    ) -> None:
        """Refuse a listing the hub cannot page through to its end (it lists no model past
        `settings.list_max_offset`), so that no caller ever settles for a truncated one.

        Raises:
            ListingLimitError: `total_count` is past the hub's offset limit.

        Example:
            >>> from hub_tasks import HubClient
            >>> with HubClient(endpoint="http://127.0.0.1:9") as client:
            ...     client.require_complete_listing("alice", 10_000, "iter_models")  # the last listable one
            ...     client.require_complete_listing("alice", 10_001, "iter_models")
            Traceback (most recent call last):
            hub_tasks.errors.ListingLimitError: iter_models: alice has 10001 models; ...
        """
        if total_count > self.settings.list_max_offset:
            raise ListingLimitError(
                f"{owner_or_group} has {total_count} {noun}; the hub lists at most "
                f"{self.settings.list_max_offset} per owner, so a complete listing is impossible",
                operation=operation,
            )

    def iter_models(self, owner_or_group: str, page_size: int = 100) -> Iterator[ModelInfo]:
        """Every model of an owner or group, across all pages.

        Raises:
            ListingLimitError: The owner has more models than the hub can page through (it stops
                at offset 10,000), or a page came back short before the total was reached. A
                listing is never silently truncated.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                ids = [m.model_id for m in client.iter_models("alice")]
            ```
        """

        def read(page_number: int) -> tuple[list[ModelInfo], int]:
            page = self.list_models(owner_or_group, page_number, page_size)
            return page.models, page.total_count

        return self.every_page(owner_or_group, page_size, read, lambda m: m.model_id, "iter_models", "models")

    def every_page(
        self,
        owner_or_group: str,
        page_size: int,
        read: Callable[[int], tuple[list[T], int]],
        key: Callable[[T], str],
        operation: str,
        noun: str,
    ) -> Iterator[T]:
        """The items of every page `read(page_number)` returns as (items, total), each id (`key`) once.

        Raises:
            ListingLimitError: More `noun` than the hub pages through, or a page short of what the total
                promises (the last page too): a listing is never silently truncated.

        Example:
            >>> from hub_tasks import HubClient
            >>> pages = {1: ["a", "b"], 2: ["c"]}
            >>> with HubClient(endpoint="http://127.0.0.1:9") as client:
            ...     list(client.every_page("alice", 2, lambda n: (pages[n], 3), str, "iter_models", "models"))
            ['a', 'b', 'c']
        """
        seen: set[str] = set()
        page_number = 1
        while True:
            items, total = read(page_number)
            self.require_complete_listing(owner_or_group, total, operation, noun)
            for item in items:
                if key(item) not in seen:
                    seen.add(key(item))
                    yield item
            expected = min(page_size, total - (page_number - 1) * page_size)
            if len(items) < expected:  # the last page too: a short one means the hub stopped early
                raise ListingLimitError(
                    f"page {page_number} of {owner_or_group} came back with {len(items)} of {expected} "
                    f"{noun} ({len(seen)} of {total} listed)",
                    operation=operation,
                )
            if page_number * page_size >= total:
                return
            page_number += 1

    def check_page_window(self, page_number: int, page_size: int, operation: str) -> None:
        """Refuse, before any request, a page that starts where the hub lists nothing any more."""
        if (page_number - 1) * page_size >= self.settings.list_max_offset:
            raise ListingLimitError(
                f"page {page_number} of size {page_size} starts past offset {self.settings.list_max_offset}, "
                "the furthest the hub lists",
                operation=operation,
            )
