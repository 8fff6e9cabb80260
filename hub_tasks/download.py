"""Streaming, atomic, resumable downloads: one URL into a folder, or one model revision into a local mirror.

Each file streams into `.<name>.incomplete` beside its target, hashed while written, and is renamed into
place (`os.replace`) only when complete and checked. A dropped body is a transient `HubConnectionError`;
the next attempt asks for the rest with `Range` (a 200 or 416 instead of 206 starts over). Attempts come
from `HubSession.retrying` (`settings.retry_attempts`), one request each: no private retry counter.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import requests
from tenacity import Retrying

from hub_tasks.errors import (
    DownloadError,
    HubError,
    InvalidParameter,
    RequestError,
    TransientHubError,
    connection_error,
)
from hub_tasks.files import matches, normalize_patterns, sha256_file
from hub_tasks.repo_types import RepoKind, RepoType, repo_kind
from hub_tasks.types import DownloadedFile, DownloadResult, RepoFile
from hub_tasks.validation import validate_model_id, validate_ref

log = logging.getLogger("hub_tasks.download")
REUSE, FORCE = "reuse_dataset_if_exists", "force_redownload"
READ_SIZE = 64 << 10  # download_model's read size: a dropped body loses at most this much
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,16}")


class DownloadHub(Protocol):
    """The hub operations downloads use; `HubClient` provides them (this module never imports it)."""

    def call(
        self, method: str, path: str, *, operation: str, model_id: str | None = None, **kwargs: Any
    ) -> tuple[dict[str, Any] | None, requests.Response]: ...
    def retrying(self, operation: str, model_id: str | None) -> Retrying: ...
    def resolve_ref(self, model_id: str, ref: str = "master", *, repo_type: RepoType = "model") -> str: ...
    def get_repo_files(
        self, repo_id: str, revision: str | None = None, root: str | None = None, recursive: bool = False, *,
        repo_type: RepoType = "model", headers: dict[str, str] | None = None,
    ) -> list[RepoFile]: ...  # fmt: skip


Opener = Callable[[dict[str, str]], requests.Response]
Patterns = str | Iterable[str] | None


@dataclass
class _Fetch:
    """One file's transfer: what arrived, what Range saved, and the validators the server sent."""

    received: int = 0
    resumed: int = 0
    size: int = 0
    sha256: str = ""
    etag: str | None = None
    last_modified: str | None = None


def _attempt(opener: Opener, part: Path, fetch: _Fetch, op: str, model_id: str | None, read: int, html: bool) -> int:
    """One request: resume `part` from its length (or start over) and stream; returns where the body started."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if fetch.etag and not fetch.etag.startswith("W/"):
            headers["If-Range"] = fetch.etag  # a changed resource comes back whole (200), never spliced
    try:
        response = opener(headers)
    except RequestError as exc:
        if exc.status_code != 416 or not offset:
            raise
        part.unlink(missing_ok=True)  # a stale partial the server cannot extend: start over
        raise TransientHubError("the server refused the resume range (HTTP 416); restarting", operation=op) from exc
    with response:
        if not 200 <= response.status_code < 300:
            raise RequestError(f"unexpected HTTP {response.status_code}", operation=op, model_id=model_id)
        if not html and response.headers.get("content-type", "").lower().startswith("text/html"):
            raise RequestError("the server answered with an HTML page, not the file", operation=op, model_id=model_id)
        encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
        match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
        start = 0 if response.status_code != 206 else offset if match and int(match[1]) == offset else None
        if start is None or (start and encoded):  # a range we did not ask for, or encoded bytes we cannot splice
            part.unlink(missing_ok=True)
            raise TransientHubError("a partial answer that does not fit the partial file; restarting", operation=op)
        fetch.etag, fetch.last_modified = response.headers.get("etag"), response.headers.get("last-modified")
        length = None if encoded else response.headers.get("content-length")
        digest = hashlib.sha256()
        with open(part, "r+b" if start else "wb") as out:
            while start and (block := out.read(min(8 << 20, start - out.tell()))):
                digest.update(block)  # the kept prefix, so the sha256 covers the whole file
            out.truncate(start)
            written = 0
            try:
                for chunk in response.iter_content(read):
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    fetch.received += len(chunk)
            except requests.RequestException as exc:  # the body broke off: the next attempt resumes
                raise connection_error(exc, operation=op, model_id=model_id) from exc
    if length is not None and length.isdigit() and written != int(length):
        raise TransientHubError(f"the body ended after {written} of {length} bytes", operation=op, model_id=model_id)
    fetch.size, fetch.sha256 = start + written, digest.hexdigest()
    return start


def _fetch(
    client: DownloadHub, opener: Opener, part: Path, fetch: _Fetch, op: str, model_id: str | None, read: int,
    html: bool,
    expected: RepoFile | None = None,
) -> None:  # fmt: skip
    """Stream into `part` until complete (and matching `expected`), resuming within the client's retry budget.

    A mismatch after a resumed attempt may come from a stale partial: fetch again from the first byte. After a
    whole-file transfer it is what the server serves, and a retry would fetch the same bytes: fail at once.
    """
    for attempt in client.retrying(op, model_id):
        with attempt:
            start = _attempt(opener, part, fetch, op, model_id, read, html)
            if expected is None or (fetch.size, fetch.sha256) == (expected.size, expected.sha256 or fetch.sha256):
                fetch.resumed = start
                return
            part.unlink(missing_ok=True)
            reason = f"got {fetch.size} bytes with sha256 {fetch.sha256}; the listing says {expected.size} bytes"
            reason += f" with sha256 {expected.sha256}" if expected.sha256 else ""
            if start:
                raise TransientHubError(f"{reason}; restarting", operation=op, model_id=model_id)
            raise DownloadError(reason, operation=op, model_id=model_id, failures=[(expected.path, reason)])
    raise AssertionError("unreachable")  # pragma: no cover


def _reusable(target: Path, sidecar: Path, url: str) -> bool:
    """A file a previous call completed: the sidecar names this URL, and the size and sha256 still match."""
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        return (
            meta.get("url") == url
            and target.is_file()
            and target.stat().st_size == meta.get("size")
            and sha256_file(str(target)) == meta.get("sha256")
        )
    except (OSError, ValueError, AttributeError):
        return False


def meta_file_name(url: str) -> str:
    """md5 of the URL (the SDK's name) plus the extension of the URL's path, else of its `FilePath` query.

    Example:
        >>> meta_file_name("https://example.com/data/train.jsonl")
        'e7111663bbafef1e6b9c1491a5317282.jsonl'
    """
    parts = urlsplit(url)
    names = [parts.path, *parse_qs(parts.query).get("FilePath", [])]
    extension = next((e for e in (os.path.splitext(n)[1] for n in names) if _EXTENSION.fullmatch(e)), "")
    return hashlib.md5(url.encode("utf-8")).hexdigest() + extension


def _folder(path: str | os.PathLike[str], what: str, op: str, create: bool = True) -> Path:
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise InvalidParameter(f"{what} {str(folder)!r} exists and is not a folder", operation=op)
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def fetch_meta_files_from_url(
    client: DownloadHub, url: str, out_path: str | os.PathLike[str], chunk_size: int = 1024, mode: str = REUSE
) -> str:
    """Download one URL into a folder, never trusting a partial file (see `HubClient.fetch_meta_files_from_url`)."""
    op = "fetch_meta_files_from_url"
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidParameter(f"url must be an http:// or https:// URL, got {url!r}", operation=op)
    mode = getattr(mode, "value", mode)  # the SDK's `DownloadMode` enum members work too
    if mode not in (REUSE, FORCE):
        raise InvalidParameter(f"mode must be {REUSE!r} or {FORCE!r}, got {mode!r}", operation=op)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidParameter(f"chunk_size must be a positive number of bytes, got {chunk_size!r}", operation=op)
    target = _folder(out_path, "out_path", op) / meta_file_name(url)
    sidecar = target.with_name(target.name + ".meta.json")
    if mode == REUSE and _reusable(target, sidecar, url):
        log.info("reusing %s, completed by an earlier call", target)
        return str(target)
    part = target.with_name(f".{target.name}.incomplete")
    part.unlink(missing_ok=True)

    def opener(headers: dict[str, str]) -> requests.Response:
        return client.call("GET", url, operation=op, stream=True, retry=False, headers=headers)[1]

    html = os.path.splitext(target.name)[1].lower() in (".html", ".htm")
    fetch = _Fetch()
    try:
        _fetch(client, opener, part, fetch, op, None, chunk_size, html)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    sidecar.unlink(missing_ok=True)  # a crash before the new sidecar lands leaves a file that is not reused
    os.replace(part, target)
    meta = {"url": url} | {k: getattr(fetch, k) for k in ("size", "sha256", "etag", "last_modified")}
    part.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(part, sidecar)
    return str(target)


def local_path(local_dir: Path, path: str) -> Path:
    """Where a listed file goes; a path that could leave `local_dir` (absolute, '..', backslash) is refused.

    Example:
        >>> local_path(Path("/m"), "sub/a.bin").as_posix()
        '/m/sub/a.bin'
    """
    pure = PurePosixPath(path)
    if not path or "\\" in path or "\x00" in path or pure.is_absolute() or {"", ".", ".."} & set(path.split("/")):
        raise RequestError(f"the listing holds an unsafe path {path!r}", operation="download_model")
    return local_dir.joinpath(*pure.parts)


def _present(target: Path, entry: RepoFile) -> bool:
    try:
        return bool(entry.sha256) and target.stat().st_size == entry.size and sha256_file(str(target)) == entry.sha256
    except OSError:
        return False


def _download_one(
    client: DownloadHub, model_id: str, commit_id: str, entry: RepoFile, target: Path, fetch: _Fetch, kind: RepoKind
) -> None:
    """Fetch one listed file through its `.incomplete` partial (resumed when one is left), verify, rename."""
    op = f"download_{kind.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.incomplete")
    if part.exists() and part.stat().st_size >= entry.size:
        part.unlink()  # longer than the file (or complete but unverified): nothing a Range could extend
    params = {"Revision": commit_id, "FilePath": entry.path}

    def opener(headers: dict[str, str]) -> requests.Response:
        path = f"{kind.api(model_id)}/repo"
        kwargs = {"params": params, "headers": headers, "stream": True, "retry": False}
        return client.call("GET", path, operation=op, model_id=model_id, **kwargs)[1]

    _fetch(client, opener, part, fetch, op, model_id, READ_SIZE, True, entry)
    os.replace(part, target)


def download_model(
    client: DownloadHub, model_id: str, local_dir: str | os.PathLike[str], revision: str = "master",
    allow_patterns: Patterns = None, ignore_patterns: Patterns = None, max_workers: int = 4,
    repo_type: RepoType = "model",
) -> DownloadResult:  # fmt: skip
    """Mirror one revision of a model (or dataset) into `local_dir`, verifying every file (see
    `HubClient.download_model`, `HubClient.download_dataset`)."""
    kind = repo_kind(repo_type, "download_model")
    op = f"download_{kind.name}"
    validate_model_id(model_id, op, kind.name)
    validate_ref(revision, "revision", op)
    allow = normalize_patterns(allow_patterns, "allow_patterns")
    ignore = normalize_patterns(ignore_patterns, "ignore_patterns")
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise InvalidParameter(f"max_workers must be a positive integer, got {max_workers!r}", operation=op)
    folder = _folder(local_dir, "local_dir", op, create=False)  # created once the listing is known to be safe
    commit_id = client.resolve_ref(model_id, revision, repo_type=kind.name)
    keep = [e for e in client.get_repo_files(model_id, commit_id, recursive=True, repo_type=kind.name) if e.is_file]
    entries = [e for e in keep if (not allow or matches(e.path, allow)) and not matches(e.path, ignore)]
    targets = {e.path: local_path(folder, e.path) for e in entries}  # all checked before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    fetches: list[_Fetch] = []
    transient: set[str] = set()  # paths whose failure a retry may mend (their partials are kept)

    def one(entry: RepoFile) -> DownloadedFile | tuple[str, str]:
        target = targets[entry.path]
        if _present(target, entry):
            return DownloadedFile(path=entry.path, size=entry.size, sha256=entry.sha256, action="present")
        fetch = _Fetch()
        fetches.append(fetch)
        try:
            _download_one(client, model_id, commit_id, entry, target, fetch, kind)
        except DownloadError as exc:
            return exc.failures[0]
        except TransientHubError as exc:  # the client's own retries ran out: a later retry resumes
            transient.add(entry.path)
            return (entry.path, str(exc))
        except (HubError, OSError) as exc:
            return (entry.path, str(exc))
        return DownloadedFile(
            path=entry.path, size=fetch.size, sha256=fetch.sha256, action="downloaded", bytes_resumed=fetch.resumed
        )

    # The largest files first: their transfers fill the link while the small files' round trips (a request
    # each, a redirect hop more behind a CDN) run beside them, instead of the small ones going first with the
    # link idle. Behind 30 ms and 100 MB/s, 200 small files ahead of four 512 MiB ones cost about a second.
    ordered = sorted(entries, key=lambda e: (-e.size, e.path))
    with ThreadPoolExecutor(max_workers, "download") as pool:
        by_path = dict(zip((e.path for e in ordered), pool.map(one, ordered), strict=True))
    outcomes = [by_path[path] for path in sorted(by_path)]
    failures = [o for o in outcomes if isinstance(o, tuple)]
    if failures:
        shown = "; ".join(f"{p}: {r}" for p, r in failures[:10]) + (" ..." if len(failures) > 10 else "")
        retry = all(path in transient for path, _ in failures)
        message = f"{len(failures)} of {len(entries)} files failed" + (" (transient: a retry resumes them)" * retry)
        message += f": {shown}"
        raise DownloadError(message, operation=op, model_id=model_id, failures=failures, transient=retry)
    files = [o for o in outcomes if isinstance(o, DownloadedFile)]
    fresh = [f for f in files if f.action == "downloaded"]
    return DownloadResult(
        model_id=model_id, revision=revision, commit_id=commit_id, local_dir=str(folder), files=files,
        repo_type=kind.name,
        files_downloaded=len(fresh), files_present=len(files) - len(fresh),
        bytes_downloaded=sum(f.received for f in fetches), bytes_resumed=sum(f.bytes_resumed for f in fresh),
    )  # fmt: skip
