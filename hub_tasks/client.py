"""`HubClient`: one `requests.Session`, one method per hub operation.

Sending (auth, retries, redirects, error mapping) is `HubSession` in `wire/session.py`; the byte-moving
calls are `TransferSession` in `wire/transfer.py`; revisions, tags and file listings are
`RevisionSession` in `revisions.py`; the account, branches and models are `ModelSession` in `models.py`;
datasets are `DatasetSession` in `datasets.py`. Here: publishing, verifying and downloading a folder, for
a model or a dataset, which delegate to the engines (`push/engine.py`, `download.py`); those are typed on
the operations they use and never import this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from hub_tasks.datasets import DatasetSession
from hub_tasks.download import REUSE, download_model, fetch_meta_files_from_url
from hub_tasks.push.engine import DEFAULT_HASH_CACHE, push_folder, verify_folder
from hub_tasks.repo_types import RepoType
from hub_tasks.types import DownloadResult, ProgressEvent, PushOptions, PushResult


class HubClient(DatasetSession):
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
        repo_type: RepoType = "model",
    ) -> PushResult:
        """`push_model` with its options as one typed `PushOptions` (what the Prefect layer passes on);
        with `repo_type="dataset"`, `push_dataset`.

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
        return push_folder(self, model_id, model_dir, options or PushOptions(), progress, repo_type)

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
        repo_type: RepoType = "model",
    ) -> int:
        """Check that `revision` of a model (or, with `repo_type="dataset"`, a dataset) holds exactly the
        folder's files (paths, sizes, sha256).

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
            repo_type=repo_type,
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

    # -- datasets: the same engines, the other repo type ---------------------------------------
    def push_dataset(
        self,
        dataset_id: str,
        dataset_dir: str | os.PathLike[str],
        visibility: int = 5,
        license: str | None = "Apache License 2.0",
        chinese_name: str | None = None,
        commit_message: str | None = "upload dataset",
        tag: str | None = None,
        revision: str = "master",
        description: str | None = None,
        ignore_file_pattern: str | Iterable[str] | None = None,
        *,
        ignore_patterns: str | Iterable[str] | None = None,
        delete_missing: bool = True,
        max_workers: int | None = None,
        progress: Callable[[ProgressEvent], None] | None = None,
        hash_cache: str | os.PathLike[str] | None = DEFAULT_HASH_CACHE,
        allow_secret_files: bool | Iterable[str] = False,
    ) -> PushResult:
        """Publish a dataset folder so that `revision` holds exactly its files, and verify it.

        `push_model`'s engine and promises (incremental, resumable, verified, one commit unless the hub's
        limits split it, tags never moved, a missing branch created from `master`), for a dataset: no
        `configuration.json` is needed, the dataset is created when missing, and small data files
        (`.jsonl`, `.parquet`, images, audio) go as LFS blobs as SDK 1.40 sends them.

        Args:
            dataset_id: "owner/name"; created (with visibility, license, names, description) when missing.
            dataset_dir: The folder.
            visibility: 1 private, 3 internal, 5 public (used when the dataset is created).
            license: License (used when the dataset is created); None only when it exists.
            chinese_name: Display name (used when the dataset is created).
            commit_message: Message of the commit; None or "" for the default.
            tag: Tag the resulting commit (never moves an existing tag).
            revision: The branch to publish to; a missing one is created from `master`'s head.
            description: What the data is (used when the dataset is created).
            ignore_file_pattern: Regular expressions of files to leave out (and keep on the hub).
            ignore_patterns: Globs of files to leave out (and keep on the hub).
            delete_missing: Delete remote files that are not in the folder (default).
            max_workers: Parallel blob uploads (default: settings.upload_max_workers).
            progress: Called with a `ProgressEvent` as bytes are hashed and sent.
            hash_cache: Path of the hash cache, "default", or None to hash everything.
            allow_secret_files: True, or globs of secret-looking files that may be published.

        Returns:
            A `PushResult` (`repo_type == "dataset"`): commit id (None for a no-op), counts, bytes, timings.

        Raises:
            InvalidParameter: Bad arguments or folder, a tag as revision, a branch that cannot be made.
            NotLoginError: No token, or an invalid one.
            AlreadyExistsError: The tag already points at another commit (before any upload).
            ConcurrentChangeError: Someone else changed the revision during the publish.
            VerificationError: The remote tree does not match the folder after the commit.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                result = client.push_dataset("alice/corpus", "./data", tag="v1")
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
            commit_message=commit_message or "upload dataset",
            tag=tag,
            revision=revision,
            description=description,
            ignore_file_pattern=ignore_file_pattern,
            ignore_patterns=ignore_patterns,
            delete_missing=delete_missing,
            max_workers=max_workers,
            hash_cache=hash_cache,
            allow_secret_files=allow_secret_files,
        )
        return self.push_folder(dataset_id, dataset_dir, options, progress=progress, repo_type="dataset")

    def verify_dataset_folder(
        self,
        dataset_id: str,
        dataset_dir: str | os.PathLike[str],
        revision: str = "master",
        *,
        ignore_patterns: str | Iterable[str] | None = None,
        delete_missing: bool = True,
        hash_cache: str | os.PathLike[str] | None = DEFAULT_HASH_CACHE,
        allow_secret_files: bool | Iterable[str] = False,
    ) -> int:
        """`verify_folder` for a dataset: `revision` holds exactly the folder's files; returns how many.

        Raises:
            VerificationError: Any difference, listed path by path.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.verify_dataset_folder("alice/corpus", "./data", revision="v1"))
            ```
            Prints:
            ```text
            2
            ```
        """
        return self.verify_folder(
            dataset_id,
            dataset_dir,
            revision,
            ignore_patterns=ignore_patterns,
            delete_missing=delete_missing,
            hash_cache=hash_cache,
            allow_secret_files=allow_secret_files,
            repo_type="dataset",
        )

    def download_dataset(
        self,
        dataset_id: str,
        local_dir: str | os.PathLike[str],
        revision: str = "master",
        allow_patterns: str | Iterable[str] | None = None,
        ignore_patterns: str | Iterable[str] | None = None,
        max_workers: int = 4,
    ) -> DownloadResult:
        """`download_model` for a dataset: mirror one revision into `local_dir`, every file verified.

        Raises:
            InvalidParameter: Bad id, revision, patterns or max_workers (before any request).
            NotExistError: No such dataset or revision.
            DownloadError: Files that failed after retries, as (path, reason) in `failures`.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.download_dataset("alice/corpus", "./corpus", revision="v1").files_downloaded)
            ```
            Prints:
            ```text
            2
            ```
        """
        return download_model(
            self, dataset_id, local_dir, revision, allow_patterns, ignore_patterns, max_workers, repo_type="dataset"
        )
