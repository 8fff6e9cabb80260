"""Folder-level operations of `HubClient`: publish a folder, verify it, download, and list files.

The engines live in `upload.py` and `download.py`; these methods are their typed entry points on the
client, and the file listing (with its walk past the hub's 3000-entry cap) that both rely on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hub_tasks.download import REUSE, download_model, fetch_meta_files_from_url
from hub_tasks.errors import (
    ListingLimitError,
)
from hub_tasks.types import (
    DownloadResult,
    ProgressEvent,
    PushResult,
    RepoFile,
)
from hub_tasks.upload import DEFAULT_HASH_CACHE, push_model, verify_folder
from hub_tasks.validation import (
    validate_model_id,
    validate_ref,
)

if TYPE_CHECKING:
    from hub_tasks.client import HubClient


class FolderMixin:
    """Publish, verify, download and file-listing methods of `HubClient`."""

    # -- publish -------------------------------------------------------------------------------
    def push_model(
        self: HubClient,
        model_id: str,
        model_dir: str | os.PathLike[str],
        visibility: int = 5,
        license: str = "Apache License 2.0",
        chinese_name: str | None = None,
        commit_message: str = "upload model",
        tag: str | None = None,
        revision: str = "master",
        original_model_id: str | None = None,
        ignore_file_pattern: str | Iterable[str] | None = None,
        *,
        delete_missing: bool = True,
        max_workers: int | None = None,
        progress: Callable[[ProgressEvent], None] | None = None,
        hash_cache: str | os.PathLike[str] | None = DEFAULT_HASH_CACHE,
        allow_secret_files: bool | Iterable[str] = False,
    ) -> PushResult:
        """Publish a model folder so that `revision` holds exactly its files, and verify it.

        Only changed files are sent; blobs the hub already has are never re-sent (which is also
        what makes a publish that died half-way resume cheaply); an unchanged folder makes no
        commit. Unlike the seed's git-based push_model, the hub's HTTP API cannot create
        branches: `revision` must be `master` or an existing branch.

        Args:
            model_id: "owner/name"; created (with visibility, license, names) when missing.
            model_dir: The folder; it must hold a configuration.json with a JSON object.
            visibility: 1 private, 3 internal, 5 public (used when the repo is created).
            license: License (used when the repo is created).
            chinese_name: Display name (used when the repo is created).
            commit_message: Message of the commit.
            tag: Tag the resulting commit (never moves an existing tag).
            revision: The branch to publish to.
            original_model_id: The base model (used when the repo is created).
            ignore_file_pattern: A glob or list of globs matched against relative paths and names.
            delete_missing: Delete remote files that are not in the folder (default, like git push).
            max_workers: Parallel blob uploads (default: settings.upload_max_workers).
            progress: Called with a `ProgressEvent` as bytes are hashed and sent.
            hash_cache: Path of the hash cache, "default", or None to hash everything.
            allow_secret_files: True, or globs of secret-looking files that may be published.

        Returns:
            A `PushResult`: commit id (None for a no-op), counts, bytes sent and reused, timings.

        Raises:
            InvalidParameter: Bad arguments or folder, a tag as revision, a missing branch (before any write).
            NotLoginError: No token, or an invalid one.
            AlreadyExistsError: The tag already points at another commit (before any upload).
            ConcurrentChangeError: Someone else changed the revision during the publish.
            VerificationError: The remote tree does not match the folder after the commit.

        Example:
            ```python
            with HubClient(endpoint=URL, token=TOKEN) as client:
                result = client.push_model("alice/demo", "./out", tag="v1.0")
                print(result.commit_id, result.bytes_uploaded)
            ```
        """
        return push_model(
            self,
            model_id,
            model_dir,
            visibility,
            license,
            chinese_name,
            commit_message,
            tag,
            revision,
            original_model_id,
            ignore_file_pattern,
            delete_missing=delete_missing,
            max_workers=max_workers,
            progress=progress,
            hash_cache=hash_cache,
            allow_secret_files=allow_secret_files,
        )

    def verify_folder(
        self: HubClient,
        model_id: str,
        model_dir: str | os.PathLike[str],
        revision: str = "master",
        ignore_file_pattern: str | Iterable[str] | None = None,
        *,
        delete_missing: bool = True,
        hash_cache: str | os.PathLike[str] | None = DEFAULT_HASH_CACHE,
    ) -> int:
        """Check that `revision` holds exactly the folder's files (paths, sizes, sha256).

        Returns:
            How many files were checked.

        Raises:
            VerificationError: Any difference, listed path by path.

        Example:
            ```python
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
            with HubClient(endpoint=URL, token=TOKEN) as client:
                path = client.fetch_meta_files_from_url("https://example.com/train.csv", "./meta")
            ```
        """
        return fetch_meta_files_from_url(self, url, out_path, chunk_size, mode)

    def download_model(
        self: HubClient,
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
            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.download_model("alice/demo", "./demo", allow_patterns=["*.json"]).commit_id)
            ```
        """
        return download_model(self, model_id, local_dir, revision, allow_patterns, ignore_patterns, max_workers)

    # -- files ---------------------------------------------------------------------------------
    def _list_files_page(
        self, model_id: str, revision: str, root: str | None, recursive: bool, headers: dict[str, str] | None
    ) -> list[RepoFile]:
        params: dict[str, Any] = {"Revision": revision, "Recursive": str(bool(recursive))}
        if root:
            params["Root"] = root
        payload, _ = self._call(
            "GET",
            f"/api/v1/models/{model_id}/repo/files",
            operation="get_model_files",
            model_id=model_id,
            params=params,
            headers=headers,
        )
        return [RepoFile.model_validate(f) for f in (self._data(payload) or {}).get("Files") or []]

    def get_model_files(
        self: HubClient,
        model_id: str,
        revision: str | None = None,
        root: str | None = None,
        recursive: bool = False,
        headers: dict[str, str] | None = None,
    ) -> list[RepoFile]:
        """List a revision's files (and folder entries, `type == "tree"`).

        The hub silently truncates a listing at 3000 entries; when a recursive listing comes back
        that long, this walks the folders one level at a time instead, so nothing is missed.
        Unlike the old SDK, `.gitattributes`/`.gitignore` are not hidden.

        Args:
            model_id: "owner/name".
            revision: Branch, tag or commit id; `master` when None.
            root: Only below this folder (repo-relative, no leading '/').
            recursive: Descend into sub-folders.
            headers: Extra request headers.

        Returns:
            One `RepoFile` per entry, sorted by path.

        Raises:
            NotExistError: No such model, revision or folder.
            ListingLimitError: A single folder holds more entries than the hub lists.

        Example:
            ```python
            with HubClient(endpoint=URL, token=TOKEN) as client:
                print([f.path for f in client.get_model_files("alice/demo", recursive=True)])
            ```
        """
        op = "get_model_files"
        validate_model_id(model_id, op)
        revision = validate_ref("master" if revision is None else revision, "revision", op)
        root = (root or "").strip("/") or None
        entries = self._list_files_page(model_id, revision, root, recursive, headers)
        if len(entries) < self.settings.tree_limit:
            return entries
        if not recursive:
            raise ListingLimitError(
                f"folder {root or '/'} has more entries than the hub lists", operation=op, model_id=model_id
            )
        return self._walk(model_id, revision, root, headers)

    def _walk(
        self: HubClient, model_id: str, revision: str, root: str | None, headers: dict[str, str] | None
    ) -> list[RepoFile]:
        """A complete recursive listing built from one non-recursive listing per folder."""
        found: list[RepoFile] = []
        pending = [root]
        while pending:
            folder = pending.pop()
            page = self._list_files_page(model_id, revision, folder, False, headers)
            if len(page) >= self.settings.tree_limit:
                raise ListingLimitError(
                    f"folder {folder or '/'} has more entries than the hub lists",
                    operation="get_model_files",
                    model_id=model_id,
                )
            found.extend(page)
            pending.extend(e.path for e in page if not e.is_file)
        return sorted(found, key=lambda f: f.path)
