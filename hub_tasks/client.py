"""`HubClient`: one `requests.Session`, one method per hub operation.

Sending (auth, retries, redirects, error mapping) is `HubSession` in `wire/session.py`; the byte-moving
calls are `TransferSession` in `wire/transfer.py`; revisions, tags and file listings are
`RevisionSession` in `revisions.py`. Publishing, verifying and downloading a folder
delegate to the engines (`push/engine.py`, `download.py`), which are typed on the operations they use
and never import this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import SecretStr

from hub_tasks.branches import create_branch
from hub_tasks.download import REUSE, download_model, fetch_meta_files_from_url
from hub_tasks.errors import (
    InvalidParameter,
    ListingLimitError,
    NotExistError,
)
from hub_tasks.push.engine import DEFAULT_HASH_CACHE, push_folder, verify_folder
from hub_tasks.revisions import RevisionSession
from hub_tasks.types import (
    DownloadResult,
    LoginResult,
    ModelInfo,
    ModelPage,
    ProgressEvent,
    PushOptions,
    PushResult,
)
from hub_tasks.validation import (
    validate_model_id,
    validate_owner,
    validate_page,
    validate_ref,
    validate_visibility,
)


class HubClient(RevisionSession):
    """Typed access to every ModelScope Hub operation, with bounded retries and typed errors.

    Args:
        endpoint: Hub base URL; defaults to `settings.endpoint` (`MODELSCOPE_ENDPOINT`, ...).
        token: SDK access token; defaults to `settings.token` (`MODELSCOPE_API_TOKEN`).
        settings: Timeouts and retry knobs; read from the environment when None.

    Example:
        ```python
        from hub_tasks import HubClient

        with HubClient(endpoint=URL, token=TOKEN) as client:  # e.g. "https://www.modelscope.cn", "ms-..."
            print([m.model_id for m in client.iter_models("alice")])
        ```
        Prints:
        ```text
        ['alice/demo', 'alice/scratch', 'alice/old-model']
        ```
    """

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
        self, model_id: str, branch: str, from_revision: str = "master", *, exist_ok: bool = False
    ) -> str:
        """Create a branch at the commit `from_revision` points at; returns that commit id.

        The hub's HTTP API has no branch call, so this is one ref update over its git endpoint
        (`{endpoint}/{owner}/{name}.git`) with the git token login issues (logging in first when
        needed); no objects are sent. The git token never appears in a log, error or result.

        Args:
            model_id: "owner/name".
            branch: The new branch (git check-ref-format rules; not `HEAD`, not a tag's name).
            from_revision: A branch or tag, or the commit id at the head of one.
            exist_ok: Return the existing branch's commit instead of raising `AlreadyExistsError`.

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
        return create_branch(self, model_id, branch, from_revision, exist_ok=exist_ok, login=self.login)

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
        if (page_number - 1) * page_size >= self.settings.list_max_offset:
            raise ListingLimitError(
                f"page {page_number} of size {page_size} starts past offset {self.settings.list_max_offset}, "
                "the furthest the hub lists",
                operation=op,
            )
        params = {"owner": owner_or_group, "page_number": page_number, "page_size": page_size}
        payload, _ = self.call("GET", "/openapi/v1/models", operation=op, params=params)
        data = self.unwrap(payload) or {}
        models = [ModelInfo.from_openapi(m) for m in data.get("models") or []]
        return ModelPage(
            models=models, total_count=int(data.get("total_count") or 0), page_number=page_number, page_size=page_size
        )

    def require_complete_listing(self, owner_or_group: str, total_count: int, operation: str) -> None:
        """Refuse a listing the hub cannot page through to its end (it lists no model past
        `settings.list_max_offset`), so that no caller ever settles for a truncated one.

        Raises:
            ListingLimitError: `total_count` is past the hub's offset limit.

        Example:
            >>> with HubClient(endpoint="http://127.0.0.1:9") as client:
            ...     client.require_complete_listing("alice", 10_000, "iter_models")  # the last listable one
            ...     client.require_complete_listing("alice", 10_001, "iter_models")
            Traceback (most recent call last):
            hub_tasks.errors.ListingLimitError: iter_models: alice has 10001 models; ...
        """
        if total_count > self.settings.list_max_offset:
            raise ListingLimitError(
                f"{owner_or_group} has {total_count} models; the hub lists at most "
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
        seen: set[str] = set()
        page_number = 1
        while True:
            page = self.list_models(owner_or_group, page_number, page_size)
            self.require_complete_listing(owner_or_group, page.total_count, "iter_models")
            for model in page.models:
                if model.model_id not in seen:
                    seen.add(model.model_id)
                    yield model
            expected = min(page_size, page.total_count - (page_number - 1) * page_size)
            if len(page.models) < expected:  # the last page too: a short one means the hub stopped early
                raise ListingLimitError(
                    f"page {page_number} of {owner_or_group} came back with {len(page.models)} of {expected} "
                    f"models ({len(seen)} of {page.total_count} listed)",
                    operation="iter_models",
                )
            if page_number * page_size >= page.total_count:
                return
            page_number += 1

    # -- publish -------------------------------------------------------------------------------
    def push_model(
        self,
        model_id: str,
        model_dir: str | os.PathLike[str],
        visibility: int = 5,
        license: str | None = "Apache License 2.0",
        chinese_name: str | None = None,
        commit_message: str | None = "upload model",
        tag: str | None = None,
        revision: str = "master",
        original_model_id: str | None = None,
        ignore_file_pattern: str | Iterable[str] | None = None,
        *,
        ignore_patterns: str | Iterable[str] | None = None,
        delete_missing: bool = True,
        max_workers: int | None = None,
        progress: Callable[[ProgressEvent], None] | None = None,
        hash_cache: str | os.PathLike[str] | None = DEFAULT_HASH_CACHE,
        allow_secret_files: bool | Iterable[str] = False,
    ) -> PushResult:
        """Publish a model folder so that `revision` holds exactly its files, and verify it.

        Only changed files are sent; blobs the hub already has are never re-sent (which is also
        what makes a publish that died half-way resume cheaply); an unchanged folder makes no
        commit. As in the seed, a `revision` that does not exist is created as a branch from
        `master`'s head (one ref update over the hub's git endpoint, `create_branch`) right before
        the first commit, so a publish that fails earlier leaves no branch behind.

        Args:
            model_id: "owner/name"; created (with visibility, license, names) when missing.
            model_dir: The folder; it must hold a configuration.json with a JSON object.
            visibility: 1 private, 3 internal, 5 public (used when the repo is created).
            license: License (used when the repo is created); None only when the repo exists.
            chinese_name: Display name (used when the repo is created).
            commit_message: Message of the commit; None or "" for the default, "upload model".
            tag: Tag the resulting commit (never moves an existing tag).
            revision: The branch to publish to; a missing one is created from `master`'s head.
            original_model_id: The base model (used when the repo is created).
            ignore_file_pattern: A regular expression or list of them (the seed's meaning), searched in each
                relative path, e.g. `r"checkpoint-\\d+"`; matching files are left out and kept on the hub.
            ignore_patterns: Globs (e.g. `"*.log"`) matched against each relative path and name, as SDK
                1.40's `upload_folder` takes them; matching files are left out and kept on the hub.
            delete_missing: Delete remote files that are not in the folder (default, like git push).
            max_workers: Parallel blob uploads (default: settings.upload_max_workers).
            progress: Called with a `ProgressEvent` as bytes are hashed and sent.
            hash_cache: Path of the hash cache, "default", or None to hash everything.
            allow_secret_files: True, or globs of secret-looking files that may be published.

        Returns:
            A `PushResult`: commit id (None for a no-op), counts, bytes sent and reused, timings.

        Raises:
            InvalidParameter: Bad arguments or folder, a tag as revision, a branch name git refuses, or a
                missing branch in a repo with no commit on `master` to start it from (before any write).
            NotLoginError: No token, or an invalid one.
            AlreadyExistsError: The tag already points at another commit (before any upload).
            ConcurrentChangeError: Someone else changed the revision during the publish.
            VerificationError: The remote tree does not match the folder after the commit.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                result = client.push_model("alice/demo", "./out", tag="v1.0")
                print(result.commit_id or "no changes", result.bytes_uploaded)
            ```
            Prints:
            ```text
            no changes 0
            ```
        """
        options = PushOptions(
            visibility=visibility,
            license=license,
            chinese_name=chinese_name,
            commit_message=commit_message,
            tag=tag,
            revision=revision,
            original_model_id=original_model_id,
            ignore_file_pattern=ignore_file_pattern,
            ignore_patterns=ignore_patterns,
            delete_missing=delete_missing,
            max_workers=max_workers,
            hash_cache=hash_cache,
            allow_secret_files=allow_secret_files,
        )
        return self.push_folder(model_id, model_dir, options, progress=progress)

    def push_folder(
        self,
        model_id: str,
        model_dir: str | os.PathLike[str],
        options: PushOptions | None = None,
        *,
        progress: Callable[[ProgressEvent], None] | None = None,
    ) -> PushResult:
        """`push_model` with its options as one typed `PushOptions` (what the Prefect layer passes on).

        Raises:
            InvalidParameter: Bad id or folder, a tag as revision, a branch that cannot be made (before any write).

        Example:
            ```python
            from hub_tasks import HubClient, PushOptions

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.push_folder("alice/demo", "./out", PushOptions(tag="v1.0")).commit_id or "no changes")
            ```
            Prints:
            ```text
            no changes
            ```
        """
        return push_folder(self, model_id, model_dir, options or PushOptions(), progress)

    def verify_folder(
        self,
        model_id: str,
        model_dir: str | os.PathLike[str],
        revision: str = "master",
        ignore_file_pattern: str | Iterable[str] | None = None,
        *,
        ignore_patterns: str | Iterable[str] | None = None,
        delete_missing: bool = True,
        hash_cache: str | os.PathLike[str] | None = DEFAULT_HASH_CACHE,
        allow_secret_files: bool | Iterable[str] = False,
    ) -> int:
        """Check that `revision` holds exactly the folder's files (paths, sizes, sha256).

        A folder with secret-looking files (keys, .env, credentials) is refused unless they are
        allowed (`allow_secret_files=True`, or globs of them), as in `push_model`.

        Returns:
            How many files were checked.

        Raises:
            VerificationError: Any difference, listed path by path.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                client.verify_folder("alice/demo", "./out", revision="v1.0")
            ```
        """
        return verify_folder(
            self,
            model_id,
            model_dir,
            revision,
            ignore_file_pattern,
            delete_missing=delete_missing,
            hash_cache=hash_cache,
            allow_secret_files=allow_secret_files,
            ignore_patterns=ignore_patterns,
        )

    # -- downloads -----------------------------------------------------------------------------
    def fetch_meta_files_from_url(
        self, url: str, out_path: str | os.PathLike[str], chunk_size: int = 1024, mode: str = REUSE
    ) -> str:
        """Download one URL into the folder `out_path` as `<md5 of url><url's extension>`; returns the local path.

        Fixes the SDK: only http(s); connect and read timeouts; a non-2xx answer, or an HTML page where the URL
        names no .html file, is a typed error and writes nothing; the body goes to a temporary file renamed into
        place once complete (its length checked against Content-Length), never appended to an existing file; a
        dropped body resumes with Range (a partial left by a crashed process is discarded: nothing vouches for
        it); the token goes only to the hub's own origin (scheme, host and port). Bytes are saved exactly as
        served: no jsonl-to-csv conversion (the SDK's needed pandas and misaligned columns). Reuse means reuse
        of a file a previous call completed: `<file>.meta.json` records URL, size, ETag, Last-Modified and
        sha256, and size and sha256 are re-checked (no request).

        Args:
            url: An http:// or https:// URL.
            out_path: The folder (created when missing).
            chunk_size: Streaming read size in bytes (the SDK misused it as a line count).
            mode: `reuse_dataset_if_exists` or `force_redownload` (the SDK's `DownloadMode` members too); a forced
            download keeps the old file until the new one is complete.

        Returns:
            The path of the downloaded or reused file.

        Raises:
            InvalidParameter: Bad url, mode or chunk_size, or `out_path` is a file (before any request).
            NotExistError: HTTP 404 (other 4xx: their `HubError` subclass).
            RequestError: An HTML page instead of data, or an answer that is neither 2xx nor an error.
            TransientHubError: 5xx, 429, drops or timeouts that outlasted the retry budget.

        Example:
            ```python
            from hub_tasks import HubClient

            url = f"{URL}/api/v1/models/alice/demo/repo?Revision=master&FilePath=README.md"
            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.fetch_meta_files_from_url(url, "./meta"))
            ```
            Prints:
            ```text
            meta/<hash>.md
            ```
        """
        return fetch_meta_files_from_url(self, url, out_path, chunk_size, mode)

    def download_model(
        self,
        model_id: str,
        local_dir: str | os.PathLike[str],
        revision: str = "master",
        allow_patterns: str | Iterable[str] | None = None,
        ignore_patterns: str | Iterable[str] | None = None,
        max_workers: int = 4,
    ) -> DownloadResult:
        """Mirror one revision into `local_dir`: fetch what is missing or different, verify every file.

        Lists and fetches at the commit `revision` points at, so a branch moving meanwhile cannot mix commits.
        A local file is present only when its size and sha256 match the listing; the others stream in parallel
        through `.incomplete` partials with Range resume (a partial left by an interrupted call is resumed, and
        fetched again from the first byte if the result does not match). Unlike the SDK, files that still fail
        make the call raise, listing each failure, after every other file was tried. Local files that are not
        in the listing are left alone.

        Args:
            model_id: "owner/name".
            local_dir: The folder to fill (created when missing).
            revision: Branch, tag or commit id.
            allow_patterns: Globs matched against each path and file name; only matching files are fetched.
            ignore_patterns: Globs of files to leave out (applied after `allow_patterns`).
            max_workers: Files downloaded in parallel.

        Returns:
            A `DownloadResult`: commit id, files downloaded and present, bytes received and resumed.

        Raises:
            InvalidParameter: Bad id, revision, patterns or max_workers, or `local_dir` is a file (before any request).
            NotExistError: No such model or revision.
            RequestError: The listing holds a path that would leave `local_dir` (nothing is written).
            DownloadError: Files that failed after retries, as (path, reason) in `failures`.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.download_model("alice/demo", "./demo", allow_patterns=["*.json"]).commit_id)
            ```
            Prints:
            ```text
            <commit id>
            ```
        """
        return download_model(self, model_id, local_dir, revision, allow_patterns, ignore_patterns, max_workers)
