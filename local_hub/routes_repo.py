"""Repo-content endpoints: file listing, download (with Range), LFS batch, blob PUT, commit, file delete."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import threading
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from local_hub.blobs import BlobWriter, is_sha256
from local_hub.cdn import blob_path, redirects
from local_hub.envelope import hub_of, json_body, legacy_ok, repo_type_of, requested_repo, require_caller
from local_hub.errors import BadRequest, LengthRequired, NotFound, NotImplementedOnHub, Unprocessable
from local_hub.host_gate import lfs_refusal
from local_hub.hosts import HOST_SCOPE_KEY, Host
from local_hub.store import MAX_COMMIT_ACTIONS, CommitAction, Repo, TreeEntry, parse_action, validate_repo_path

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from local_hub.state import Stats

CHUNK = 1 << 20  # read and write blobs a MiB at a time
WRITE_BATCH = 4 * CHUNK  # an upload's received chunks go to its writer thread in batches of this many bytes
WRITE_QUEUE_DEPTH = 4  # batches queued per upload before the loop stops reading (bounds memory to ~16 MiB)
MAX_BATCH_OBJECTS = 1000
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def head_of(request: Request, repo: Repo, revision: str) -> str | None:
    """Commit id of `revision`; None for `master` of a repo without commits; 404 otherwise."""
    store = hub_of(request).store
    head = store.resolve(repo, revision)
    if head is None and not (revision == "master" and not store.refs(repo)[0]):
        raise NotFound(f"revision {revision!r} not found in {repo.repo_id}")
    return head


def entry_json(entry: TreeEntry) -> dict[str, Any]:
    """A listing entry with exactly the key set of the real sample (§Op 7, OLD-TEST): a file (`blob`), or
    a folder (`tree`: no sha256, size 0, the commit of the newest change below it)."""
    blob = entry.kind == "blob"
    return {
        "CommitMessage": entry.commit_message,
        "CommittedDate": entry.committed_at,
        "CommitterName": entry.committer,
        "InCheck": False,
        "IsLFS": entry.is_lfs,
        "Mode": "33188" if blob else "16384",
        "Name": entry.path.rsplit("/", 1)[-1],
        "Path": entry.path,
        "Revision": entry.last_commit,
        "Sha256": entry.sha256,
        "Size": entry.size,
        "Type": entry.kind,
    }


def listing_params(request: Request) -> tuple[str, bool, str]:
    """(Revision, Recursive, Root) of a listing: master, false and the whole repo unless given; `Root`
    without its slashes (`/` is the whole repo)."""
    query = request.query_params
    revision = query.get("Revision") or "master"
    recursive = (query.get("Recursive") or "false").lower() == "true"
    root = (query.get("Root") or "").strip("/")
    if root:
        validate_repo_path(root)
    return revision, recursive, root


async def repo_files(request: Request) -> JSONResponse:
    """GET /api/v1/models/{o}/{n}/repo/files?Revision=&Recursive=&Root= (§Op 7).

    Like the real hub, a listing silently stops at `tree_limit` entries (3000); clients walk
    folders with `Root` and `Recursive=False` to see past it. A `Root` that holds no file is a 404
    (choice: the new SDK tolerates it; §19).
    """
    repo = requested_repo(request)
    revision, recursive, root = listing_params(request)
    head = head_of(request, repo, revision)
    if head is None:
        return legacy_ok(request, {"Files": []})
    hub = hub_of(request)
    folders = repo.kind.recursive_folders
    listing = await run_in_threadpool(
        hub.store.list_tree, head, root, recursive=recursive, folders=folders, limit=hub.options.tree_limit
    )
    return legacy_ok(request, {"Files": [entry_json(e) for e in listing]})


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for one `bytes=` range; None to serve the whole file.

    Raises:
        _Unsatisfiable: The range starts past the end of the file (answered 416).
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match or not (match[1] or match[2]):
        return None  # malformed or multi-range: RFC 9110 lets us ignore it and send 200
    if match[1]:
        start = int(match[1])
        end = int(match[2]) if match[2] else size - 1
        if match[2] and end < start:
            return None  # last-pos before first-pos is an invalid range-spec: ignored, like a malformed one
        if start >= size:
            raise _Unsatisfiable
        return start, min(end, size - 1)
    suffix = int(match[2])
    if suffix == 0 or size == 0:
        raise _Unsatisfiable
    return max(0, size - suffix), size - 1


class _Unsatisfiable(Exception):
    """A Range outside the file: answered 416."""


def _close_when_idle(fd: int, reading: asyncio.Future[bytes] | None) -> None:
    """Close `fd` now, or once the read still running on it finishes (its outcome is dropped)."""

    def close(future: asyncio.Future[bytes] | None) -> None:
        if future is not None and not future.cancelled():
            future.exception()  # retrieved, so asyncio does not log it as lost
        os.close(fd)

    if reading is None or reading.done():
        close(reading)
    else:
        reading.add_done_callback(close)


class BlobResponse(Response):
    """Streams (a range of) a blob from disk a MiB at a time; never loads the file into memory.

    Reads run on a worker thread one chunk ahead of the socket: while a MiB is being sent (and
    the connection drains), the next one is already being read, so disk and network overlap.
    At most two chunks are held at any time.
    """

    def __init__(
        self, path: os.PathLike[str] | str, start: int, end: int, status: int, headers: dict[str, str], stats: Stats
    ) -> None:
        super().__init__(status_code=status, headers=headers)
        self.path, self.start, self.end, self.stats = path, start, end, stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if scope["method"] == "HEAD" or self.end < self.start:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        loop = asyncio.get_running_loop()
        fd = await loop.run_in_executor(None, os.open, self.path, os.O_RDONLY)
        offset, stop = self.start, self.end + 1

        def read_at(position: int) -> tuple[int, asyncio.Future[bytes]] | None:
            if position >= stop:
                return None
            size = min(CHUNK, stop - position)
            return size, loop.run_in_executor(None, os.pread, fd, size, position)

        ahead = read_at(offset)
        try:
            while ahead is not None:
                size, reading = ahead
                chunk = await asyncio.shield(reading)  # a cancelled wait must not orphan a read on `fd`
                if len(chunk) != size:
                    raise OSError(f"blob {self.path} ended early")
                offset += size
                ahead = read_at(offset)
                self.stats.add("download_bytes_sent", size)
                await send({"type": "http.response.body", "body": chunk, "more_body": ahead is not None})
        finally:
            _close_when_idle(fd, ahead[1] if ahead is not None else None)


def blob_answer(
    request: Request, sha256: str, size: int, modified: float, headers: dict[str, str] | None = None
) -> Response:
    """A stored blob as a download answer: whole (200), one `Range` of it (206) or 416, with the hub's
    download headers (and `headers` on top). The file route and the CDN (`routes_cdn`) both serve this."""
    hub = hub_of(request)
    headers = {
        "accept-ranges": "bytes",
        "content-type": "application/octet-stream",
        "etag": f'"{sha256}"',
        "x-linked-etag": f'"{sha256}"',
        "x-linked-size": str(size),
        "last-modified": formatdate(modified, usegmt=True),
        **(headers or {}),
    }
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except _Unsatisfiable:
        headers["content-range"] = f"bytes */{size}"
        return Response(b"", status_code=416, headers=headers)
    start, end, status = 0, size - 1, 200
    if wanted is not None:
        (start, end), status = wanted, 206
        headers["content-range"] = f"bytes {start}-{end}/{size}"
    headers["content-length"] = str(end - start + 1)
    return BlobResponse(hub.blobs.path_for(sha256), start, end, status, headers, hub.stats)


def _cdn_redirect(request: Request, entry: TreeEntry) -> Response | None:
    """A 302 to a signed `cdn.` URL for a file the hub's `download_redirect` mode sends there, else None.

    Only downloads asked of `www.` by name are redirected: the direct address serves every file itself,
    as plain loopback always did. The 302 has an empty body (nothing a client could take for the file).
    """
    host: Host | None = request.scope.get(HOST_SCOPE_KEY)
    options = hub_of(request).options
    if host is None or host.role != "www" or not redirects(options.download_redirect or "off", entry.is_lfs):
        return None
    path = blob_path(entry.sha256)
    auth_key = hub_of(request).signer.sign(path, options.cdn_url_ttl_seconds)
    query = urlencode({"auth_key": auth_key, "filename": entry.path.rsplit("/", 1)[-1]}, quote_via=quote)
    location = f"{request.url.scheme}://{host.sibling('cdn')}{path}?{query}"
    linked = {"x-linked-etag": f'"{entry.sha256}"', "x-linked-size": str(entry.size)}
    return Response(status_code=302, headers={"location": location, **linked})


async def download(request: Request) -> Response:
    """GET /api/v1/{models|datasets}/{o}/{n}/repo?Revision=&FilePath= with Range/206/416 (§Op 12, §18.2
    item 8, §21.8), or a 302 to the CDN under host names (`--download-redirect`, §22.1)."""
    repo = requested_repo(request)
    query = request.query_params
    path = query.get("FilePath")
    if not path:
        raise BadRequest("FilePath is required")
    validate_repo_path(path)
    revision = query.get("Revision") or "master"
    head = head_of(request, repo, revision)
    hub = hub_of(request)
    entry = hub.store.file_entry(head, path) if head else None
    if entry is None:
        raise NotFound(f"file {path!r} not found in {repo.repo_id} at {revision}")
    return _cdn_redirect(request, entry) or blob_answer(request, entry.sha256, entry.size, entry.committed_at)


async def lfs_batch(request: Request) -> JSONResponse:
    """POST /api/v1/repos/{models|datasets}/{o}/{n}/info/lfs/objects/batch (§10.3, §21.7).

    Every requested oid is echoed; those the store lacks carry `actions.upload.href`; stored ones
    carry no `actions` key at all (never null). The store is global across repos (§18.2 item 5).
    """
    requested_repo(request, write=True)
    body = await json_body(request)
    if body.get("operation", "upload") != "upload":
        raise BadRequest("only the 'upload' operation is supported")
    objects = body.get("objects")
    if not isinstance(objects, list) or not objects or len(objects) > MAX_BATCH_OBJECTS:
        raise BadRequest(f"objects must be a list of 1 to {MAX_BATCH_OBJECTS} {{oid, size}} entries")
    hub, base = hub_of(request), str(request.base_url).rstrip("/")
    host: Host | None = request.scope.get(HOST_SCOPE_KEY)
    if host is not None and host.role == "www":  # under host names blobs go to `lfs.` (§22.1)
        base = f"{request.url.scheme}://{host.sibling('lfs')}"
    params, segment = request.path_params, repo_type_of(request).segment
    answer = []
    for obj in objects:
        oid, size = (obj.get("oid"), obj.get("size")) if isinstance(obj, dict) else (None, None)
        if not is_sha256(oid) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadRequest("each object needs a 64-hex lowercase 'oid' and an integer 'size' >= 0")
        item: dict[str, Any] = {"oid": oid, "size": size}
        if not hub.blobs.has(oid, size):
            href = f"{base}/api/v1/repos/{segment}/{params['owner']}/{params['name']}/info/lfs/objects/{oid}"
            item["actions"] = {"upload": {"href": href}}
        answer.append(item)
    return legacy_ok(request, {"objects": answer})


class _WriterThread:
    """Hashes and writes one upload's batches on a dedicated thread, in order, behind a bounded queue.

    The event loop only hands over lists of received chunks (no joining, no copying), so it keeps
    receiving while the previous batches are hashed and written; when `depth` batches are waiting it
    stops taking more until one is done, which stops reading the socket (TCP back-pressure) and
    bounds the memory held to about `depth` batches. The thread owns the `BlobWriter`: commit and
    abort run there too, so the file is never touched from two threads.
    """

    def __init__(self, writer: BlobWriter, depth: int) -> None:
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(depth)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="blob-writer", daemon=True)
        self._thread.start()

    async def put(self, chunks: list[bytes]) -> None:
        """Queue a batch, waiting (without blocking the loop) while the queue is full."""
        await self._slots.acquire()
        if self.error is not None:
            self._slots.release()
            raise self.error
        self._queue.put(chunks)

    async def commit(self, sha256: str, size: int) -> str:
        """Write what is queued, then verify, fsync and rename on the thread; the thread then exits."""
        done: asyncio.Future[str] = self._loop.create_future()
        self._queue.put(("commit", sha256, size, done))
        return await done

    def abort(self) -> None:
        """Drop queued batches and the temp file (on the thread, after any write in progress); no await."""
        self._queue.put(("abort",))

    def _release(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone (server shutting down)
            self._loop.call_soon_threadsafe(self._slots.release)

    def _settle(self, done: asyncio.Future[str], result: str | None, error: BaseException | None) -> None:
        def apply() -> None:
            if done.cancelled():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result or "")

        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(apply)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, list):
                if self.error is None:
                    try:
                        self._writer.write_many(item)
                    except BaseException as exc:  # e.g. disk full: reported at the next put or commit
                        self.error = exc
                        self._writer.abort()
                self._release()
            elif item[0] == "commit":
                _, sha256, size, done = item
                if self.error is not None:
                    self._settle(done, None, self.error)
                    return
                try:
                    digest = self._writer.commit(sha256, size)  # aborts (removes the temp file) on failure
                except BaseException as exc:
                    self._settle(done, None, exc)
                else:
                    self._settle(done, digest, None)
                return
            else:
                self._writer.abort()
                return


async def blob_put(request: Request) -> JSONResponse:
    """PUT <href>: stream a blob to disk while hashing; verify sha256 and length, then store (§10.4).

    The event loop receives; a writer thread hashes and writes (see `_WriterThread`). A size or
    sha256 mismatch is a 400 and leaves nothing behind; so does a dropped connection. On `lfs.` an
    upload without credentials or write permission is refused first, in that host's words (`host_gate`).
    """
    refused = lfs_refusal(request)
    if refused is not None:
        return refused
    requested_repo(request, write=True)
    oid = request.path_params["oid"]
    if not is_sha256(oid):
        raise BadRequest("the object id in the URL must be a 64-hex lowercase sha256")
    try:
        length = int(request.headers["content-length"])
    except (KeyError, ValueError) as exc:
        raise LengthRequired("blob uploads need an explicit Content-Length") from exc
    hub = hub_of(request)
    already = hub.blobs.has(oid, length)
    pipe = _WriterThread(hub.blobs.writer(), depth=WRITE_QUEUE_DEPTH)
    received, batch, batched = 0, [], 0
    try:
        try:
            async for chunk in request.stream():
                received += len(chunk)
                batch.append(chunk)
                batched += len(chunk)
                if batched >= WRITE_BATCH:
                    await pipe.put(batch)
                    batch, batched = [], 0
            if batch:
                await pipe.put(batch)
        except BaseException:
            pipe.abort()
            raise
        await pipe.commit(oid, length)
    finally:
        hub.stats.add("blob_bytes_received", received)
    hub.stats.add("blob_puts")
    if not already:
        hub.stats.add("blob_bytes_stored", length)
    # The old client requires Code 200 + Message in the body (§10.4).
    return legacy_ok(request, None)


async def commit(request: Request) -> JSONResponse:
    """POST /api/v1/repos/{models|datasets}/{o}/{n}/commit/{revision...}: apply actions atomically (§10.5).

    `create` is an upsert; `delete` removes; more than 2000 actions is a 422; a revision that is
    not an existing branch is a 400 with the hub's own message (§10.6). Answers `Data: {"oid"}`.
    """
    user = require_caller(request)
    repo = requested_repo(request, write=True)
    revision = request.path_params["revision"]
    body = await json_body(request)
    actions, message = body.get("actions"), body.get("commit_message", "")
    if not isinstance(actions, list) or not isinstance(message, str):
        raise BadRequest("a commit needs 'actions' (a list) and 'commit_message' (a string)")
    if len(actions) > MAX_COMMIT_ACTIONS:
        raise Unprocessable(
            f"commit request exceeds actions limit: {len(actions)} > {MAX_COMMIT_ACTIONS}; "
            "split the commit into smaller batches"
        )
    parsed = [parse_action(a) for a in actions]
    hub = hub_of(request)
    made = await run_in_threadpool(
        hub.store.commit, repo, revision, message, user, parsed, gitattributes=hub.options.gitattributes
    )
    hub.stats.add("commits")
    return legacy_ok(request, {"oid": made.id})


async def delete_file(request: Request) -> JSONResponse:
    """DELETE /api/v1/models/{o}/{n}/file?Revision=&FilePath= (old delete_files, §Op 11), and a dataset's
    DELETE /api/v1/datasets/{o}/{n}/repo?FilePath= (§21.9, no Revision: master): one commit."""
    user = require_caller(request)
    repo = requested_repo(request, write=True)
    path = validate_repo_path(request.query_params.get("FilePath"))
    revision = request.query_params.get("Revision") or "master"
    hub = hub_of(request)
    made = await run_in_threadpool(
        hub.store.commit, repo, revision, f"Delete {path}", user, [CommitAction("delete", path)]
    )
    hub.stats.add("commits")
    return legacy_ok(request, {"oid": made.id})


async def acceleration_info(request: Request) -> JSONResponse:
    """GET /api/v1/repos/internalAccelerationInfo: not offered here; 404 is what clients tolerate (§12.1)."""
    raise NotFound("internal acceleration is not available on local_hub")


async def not_emulated(request: Request) -> JSONResponse:
    """Surfaces of the real hub that local_hub does not emulate (MsDataset's OSS and STS routes, §21.10):
    501, never a fake 200."""
    raise NotImplementedOnHub(f"{request.url.path} is not emulated by local_hub")
