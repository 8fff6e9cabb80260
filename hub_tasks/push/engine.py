"""The push engine: make a revision's tree equal a local folder, incrementally, verified and resumable.

Order of work (each step fails before the next touches the hub):

1. check the arguments and the folder (configuration.json, symlinks, secret-looking files);
2. scan it deterministically;
3. read the remote state (does the repo exist, is `revision` a branch, its tree, the tag); a
   missing branch will start from master's head (the seed's promise);
4. hash files in threads through the hash cache while blobs the hub lacks are negotiated (LFS
   batch, 64 per request) and streamed up in parallel, so uploads overlap hashing;
5. plan: changed files are committed, missing ones deleted, identical ones left alone; an empty
   plan is a no-op (no commit, no blob request);
6. create the repo and the missing branch (over git, `create_branch`) if needed, then commit once
   (split only by the hub's limits); a commit whose answer is lost is checked, never blindly re-sent;
7. verify the remote tree against the manifest; repair a commit that landed on top of a
   concurrent one, or raise `ConcurrentChangeError` when someone committed after us;
8. tag the commit.

How many requests and how much waiting this may take at worst is written in
`hub_tasks/prefect/runtime.py` (the retry budgets), with those of a snapshot read and a download.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from hub_tasks.errors import AlreadyExistsError, ConcurrentChangeError, InvalidParameter, VerificationError
from hub_tasks.files import IgnoreRules
from hub_tasks.push.hashcache import HashCache, default_cache_path
from hub_tasks.push.plan import PushPlan, commit_batches, is_lfs, plan_push, to_operation, tree_differences
from hub_tasks.push.progress import Progress
from hub_tasks.push.protocol import PushHub
from hub_tasks.push.scan import LocalFile, check_folder, scan_folder
from hub_tasks.repo_types import RepoType, repo_kind
from hub_tasks.types import FileChange, ProgressEvent, PushOptions, PushResult, RepoFile
from hub_tasks.validation import validate_branch, validate_model_id
from hub_tasks.wire.transfer import LFS_BATCH_MAX

log = logging.getLogger("hub_tasks.push.engine")
DEFAULT_HASH_CACHE = "default"
REPAIR_ROUNDS = 2
DEFAULT_BRANCH = "master"  # the hub's default branch, which a missing target branch starts from
# Hashed blobs are negotiated (and start uploading) once this many bytes or LFS_BATCH_MAX blobs wait:
# without a byte bound, a folder of fewer than 64 LFS files would upload nothing until all were hashed.
NEGOTIATE_EVERY_BYTES = 64 << 20
# Hashing threads: one core is left to the uploads (and, on loopback, to the hub). On 2 cores two hashers
# cost more CPU than one (2.65 against 2.47 CPU-s per cold 2 GiB publish, 5 interleaved rounds) and were
# no faster; on a real link the uploads, not the hashing, set the pace.
HASH_WORKERS = max(1, min(4, (os.cpu_count() or 2) - 1))


def open_hash_cache(choice: str | os.PathLike[str] | None) -> HashCache:
    """The cache a `hash_cache` argument names: "default", a path, or None/"off" for none."""
    if choice in (None, False, "off"):
        return HashCache(None)
    return HashCache(default_cache_path() if choice == DEFAULT_HASH_CACHE else choice)


@dataclass
class RemoteState:
    """What the hub holds for the target revision before (or after) our commit."""

    exists: bool
    head: str | None = None
    tree: dict[str, RepoFile] = field(default_factory=dict)
    tag_commit: str | None = None
    # The target branch is missing and will be created from the default branch's head (`head`).
    branch_missing: bool = False


class Publisher:
    """One publish of a folder; `run()` does it, phase by phase (each phase is one method)."""

    def __init__(
        self,
        hub: PushHub,
        model_id: str,
        model_dir: str | os.PathLike[str],
        options: PushOptions,
        progress: Callable[[ProgressEvent], None] | None = None,
        repo_type: RepoType = "model",
    ) -> None:
        self.hub = hub
        self.kind = repo_kind(repo_type, "push_model")
        self.repo_type: RepoType = self.kind.name
        self.op = f"push_{self.kind.name}"  # the operation errors name: push_model or push_dataset
        self.model_id = model_id
        self.model_dir = model_dir
        self.options = options
        self.created_repo = False
        self.created_branch = False
        self.timings: dict[str, float] = {}
        self.files: dict[str, LocalFile] = {}
        self.manifest: dict[str, tuple[str, int]] = {}
        self.bytes_uploaded = self.bytes_reused = self.bytes_hashed = self.cache_hits = 0
        self.progress = Progress(progress, model_id)
        self._counter_lock = threading.Lock()

    # -- 1. checks ------------------------------------------------------------------------------
    def _validate(self) -> IgnoreRules:
        """The repo id (the options validated themselves when they were built)."""
        validate_model_id(self.model_id, self.op, self.repo_type)
        return self.options.ignored

    def _open_cache(self) -> HashCache:
        return open_hash_cache(self.options.hash_cache)

    def _resolve(self, ref: str) -> str:
        return self.hub.resolve_ref(self.model_id, ref, repo_type=self.repo_type)

    def _resolve_or_none(self, ref: str) -> str | None:
        return self.hub.resolve_ref_or_none(self.model_id, ref, repo_type=self.repo_type)

    # -- 3. remote state ------------------------------------------------------------------------
    def _remote_files(self, revision: str) -> dict[str, RepoFile]:
        listing = self.hub.get_repo_files(self.model_id, revision, recursive=True, repo_type=self.repo_type)
        return {f.path: f for f in listing if f.is_file}

    def _read_remote(self) -> RemoteState:
        hub, revision, tag = self.hub, self.options.revision, self.options.tag
        if revision != DEFAULT_BRANCH:
            validate_branch(revision, self.op)  # it may have to be created: git's rules, checked now
        if not hub.repo_exists(self.model_id, repo_type=self.repo_type):
            if self.options.license is None:
                raise InvalidParameter(
                    f"{self.model_id} does not exist and license=None: a new repo needs a license, "
                    "e.g. license='Apache License 2.0'",
                    operation=self.op,
                    model_id=self.model_id,
                )
            return RemoteState(exists=False, branch_missing=revision != DEFAULT_BRANCH)
        branch_refs, tag_refs = hub.get_branches_and_tags_details(self.model_id, repo_type=self.repo_type)
        branches, tags = [b.name for b in branch_refs], [t.name for t in tag_refs]
        tag_commit = self._resolve_or_none(tag) if tag and tag in tags else None
        if revision in branches:
            head = self._resolve(revision)
            return RemoteState(exists=True, head=head, tree=self._remote_files(head), tag_commit=tag_commit)
        if revision in tags:
            raise InvalidParameter(
                f"revision {revision!r} is a tag, and files can only change on a branch: publish to a branch "
                f"(a missing one is created from {DEFAULT_BRANCH}) and pass tag=... to version it",
                operation=self.op,
                model_id=self.model_id,
            )
        if revision == DEFAULT_BRANCH:
            return RemoteState(exists=True, tag_commit=tag_commit)  # an empty repo: the first commit makes master
        if DEFAULT_BRANCH not in branches:
            raise InvalidParameter(
                f"branch {revision!r} cannot be created: {self.model_id} has no commit on {DEFAULT_BRANCH} to start "
                f"it from; publish to {DEFAULT_BRANCH} first",
                operation=self.op,
                model_id=self.model_id,
            )
        # The seed's promise: a missing branch is created from the default branch's head.
        base = self._resolve(DEFAULT_BRANCH)
        return RemoteState(
            exists=True, head=base, tree=self._remote_files(base), tag_commit=tag_commit, branch_missing=True
        )

    def _ensure_repo(self, remote: RemoteState) -> None:
        if remote.exists:
            return
        o = self.options
        assert o.license is not None, "_read_remote refuses license=None for a repo it must create"
        try:
            self.hub.create_repo(
                self.model_id,
                repo_type=self.repo_type,
                visibility=o.visibility,
                license=o.license,
                chinese_name=o.chinese_name,
                description=o.description,
                original_model_id=o.original_model_id or "",
            )
            self.created_repo = True
        except AlreadyExistsError:
            if not self.hub.repo_exists(self.model_id, repo_type=self.repo_type):
                raise
        remote.exists = True

    def _ensure_branch(self, remote: RemoteState) -> RemoteState:
        """Create the missing target branch at the default branch's head, over git (`create_branch`).

        The branch is made right before the first commit, so a publish that fails earlier leaves no
        branch behind. When the head it lands on is not the one the plan was made against (a new
        repo's first commit, or master moved meanwhile), the caller re-plans against its tree.
        """
        if not remote.branch_missing:
            return remote
        try:
            head = self.hub.create_branch(
                self.model_id, self.options.revision, DEFAULT_BRANCH, exist_ok=True, repo_type=self.repo_type
            )
        except InvalidParameter as exc:
            if remote.head is not None or not self.created_repo:
                raise
            # A repo this publish just created, which the hub did not start with a commit: there is
            # nothing to branch from. The empty repo is ours and half of a failed publish: remove it.
            self.hub.delete_repo(self.model_id, repo_type=self.repo_type, confirm=self.model_id)
            self.created_repo = False
            raise InvalidParameter(
                f"branch {self.options.revision!r} cannot be created: the new repo {self.model_id} has no commit on "
                f"{DEFAULT_BRANCH} to start it from (the repo this publish created was removed again); publish to "
                f"{DEFAULT_BRANCH} first",
                operation=self.op,
                model_id=self.model_id,
            ) from exc
        self.created_branch = True
        log.info("%s: created branch %s at %s (%s's head)", self.model_id, self.options.revision, head, DEFAULT_BRANCH)
        tree = remote.tree if head == remote.head else self._remote_files(head)
        return RemoteState(exists=True, head=head, tree=tree, tag_commit=remote.tag_commit)

    # -- 4. hash and upload ---------------------------------------------------------------------
    def _hash_one(self, cache: HashCache, file: LocalFile) -> tuple[LocalFile, str]:
        """Read and hash a file the cache was already asked about (`run` looked every file up once)."""
        sha = cache.compute(file, lambda n: self.progress.add("hash", n))
        self.progress.add("hash", files=1)
        with self._counter_lock:
            self.bytes_hashed += file.size
        return file, sha

    def _upload_one(self, href: str, file: LocalFile) -> None:
        self.hub.upload_blob(self.model_id, href, file.abspath, file.size, lambda n: self.progress.add("upload", n))
        self.progress.add("upload", files=1)
        with self._counter_lock:
            self.bytes_uploaded += file.size

    def _negotiate(
        self, pending: list[tuple[str, LocalFile]], remote: RemoteState, pool: ThreadPoolExecutor
    ) -> list[Future[None]]:
        """Ask which of these blobs the hub lacks and start uploading those."""
        self._ensure_repo(remote)
        hrefs = self.hub.lfs_batch(self.model_id, [(sha, f.size) for sha, f in pending], repo_type=self.repo_type)
        futures = []
        for sha, file in pending:
            href = hrefs.get(sha)
            if href is None:
                self.bytes_reused += file.size
                continue
            self.progress.expect(file.size)
            futures.append(pool.submit(self._upload_one, href, file))
        return futures

    def _hash_and_upload(
        self,
        files: list[LocalFile],
        cache: HashCache,
        remote: RemoteState,
        defer: bool,
        known: dict[str, str],
    ) -> None:
        """Hash every file not in `known` (path -> sha256 the cache already gave); unless `defer`, upload
        changed LFS blobs while later files still hash."""
        workers = self.options.max_workers or self.hub.settings.upload_max_workers
        pending: list[tuple[str, LocalFile]] = []
        seen: set[str] = set()
        uploads: list[Future[None]] = []
        started = time.perf_counter()
        self.progress.start("hash", sum(f.size for f in files), len(files))
        self.progress.start("upload")
        with (
            ThreadPoolExecutor(HASH_WORKERS, "hash") as hasher,
            ThreadPoolExecutor(workers, "upload") as uploader,
        ):

            def accept(file: LocalFile, sha: str) -> None:
                nonlocal pending
                self.manifest[file.path] = (sha, file.size)
                theirs = remote.tree.get(file.path)
                if (
                    defer
                    or sha in seen
                    or not is_lfs(file.path, file.size, self.repo_type)
                    or (theirs is not None and (theirs.sha256, theirs.size) == (sha, file.size))
                ):
                    return
                seen.add(sha)
                pending.append((sha, file))
                if len(pending) >= LFS_BATCH_MAX or sum(f.size for _, f in pending) >= NEGOTIATE_EVERY_BYTES:
                    uploads.extend(self._negotiate(pending, remote, uploader))
                    pending = []

            hits = [f for f in files if f.path in known]
            self.cache_hits += len(hits)
            self.progress.add("hash", sum(f.size for f in hits), len(hits))
            hashing = [
                hasher.submit(self._hash_one, cache, f)
                for f in sorted(files, key=lambda f: -f.size)
                if f.path not in known
            ]
            try:
                for file in hits:  # no thread hop per file: 20,000 cached files are 20,000 dictionary reads
                    accept(file, known[file.path])
                for done in as_completed(hashing):
                    accept(*done.result())
                self.timings["hash"] = time.perf_counter() - started
                cache.flush()
                if pending:
                    uploads += self._negotiate(pending, remote, uploader)
                for done_upload in as_completed(uploads):
                    done_upload.result()
            except BaseException:
                for future in hashing + uploads:
                    future.cancel()
                raise
        self.timings["upload"] = time.perf_counter() - started - self.timings["hash"]

    def _upload_plan(self, plan: PushPlan, remote: RemoteState) -> None:
        """Make sure every LFS blob of `plan` is on the hub (repair rounds; blobs usually are)."""
        blobs = {c.sha256: self.files[c.path] for c in plan.uploads if c.lfs}
        if not blobs:
            return
        workers = self.options.max_workers or self.hub.settings.upload_max_workers
        with ThreadPoolExecutor(workers, "upload") as pool:
            for future in self._negotiate(list(blobs.items()), remote, pool):
                future.result()

    # -- 6. commit ------------------------------------------------------------------------------
    def _inline(self, change: FileChange) -> bytes | None:
        if change.change == "deleted" or change.lfs:
            return None
        data = Path(self.files[change.path].abspath).read_bytes()
        if hashlib.sha256(data).hexdigest() != change.sha256:
            raise InvalidParameter(
                f"{change.path} changed during the publish: publish again after training ends",
                operation=self.op,
                model_id=self.model_id,
            )
        return data

    def _applied(self, batch: list[FileChange], tree: dict[str, RepoFile]) -> bool:
        for change in batch:
            theirs = tree.get(change.path)
            if change.change == "deleted":
                if theirs is not None:
                    return False
            elif theirs is None or (theirs.sha256, theirs.size) != (change.sha256, change.size):
                return False
        return True

    def _commit(self, plan: PushPlan, parent: str | None) -> list[str]:
        """Commit the plan (one commit unless the hub's limits split it); returns the commit ids."""
        revision, message = self.options.revision, self.options.commit_message
        batches = commit_batches(plan.changes())
        made: list[str] = []
        for number, batch in enumerate(batches, 1):
            operations = [to_operation(c, self._inline(c)) for c in batch]
            text = message if len(batches) == 1 else f"{message} (batch {number}/{len(batches)})"
            before = parent

            def send(operations: list = operations, text: str = text) -> str:
                return self.hub.create_commit(self.model_id, revision, text, operations, repo_type=self.repo_type)

            def landed(batch: list[FileChange] = batch, before: str | None = before) -> str | None:
                head = self._resolve_or_none(revision)
                if head is None or head == before or not self._applied(batch, self._remote_files(head)):
                    return None
                return head

            try:
                parent = self.hub.call_checked(send, landed, operation="create_commit", model_id=self.model_id)
            except InvalidParameter as exc:  # e.g. deleting a file someone else deleted meanwhile
                now = self._resolve_or_none(revision)
                if now == before:
                    raise
                raise ConcurrentChangeError(
                    f"a concurrent change was detected: {revision} moved to {now} while we committed, and the hub "
                    f"refused our commit ({exc.message}); publish again",
                    operation=self.op,
                    model_id=self.model_id,
                ) from exc
            made.append(parent)
        return made

    # -- 7/8. verify and tag --------------------------------------------------------------------
    def _check_tag(self, plan: PushPlan, remote: RemoteState) -> None:
        tag = self.options.tag
        if not tag or remote.tag_commit is None:
            return
        if plan.empty and remote.tag_commit == remote.head:
            return
        lands = "a new commit" if not plan.empty else f"the current head {remote.head}"
        raise AlreadyExistsError(
            f"tag {tag!r} already points at {remote.tag_commit}, but this publish lands on {lands}; tags are never "
            "moved: choose a new tag",
            operation=self.op,
            model_id=self.model_id,
        )

    def run(self) -> PushResult:
        """Publish; see the module docstring for the order of work."""
        started = time.perf_counter()
        ignore = self._validate()
        folder = check_folder(self.model_dir, f"{self.kind.name}_dir", require_config=self.kind.name == "model")
        cache = self._open_cache()
        try:
            files = scan_folder(folder, ignore, self.options.allow_secret_files, skip_paths=cache.files())
            self.files = {f.path: f for f in files}
            self.timings["scan"] = time.perf_counter() - started
            self.hub.require_token(self.op, self.model_id)
            # The remote state is read while the cache is asked which files need no hashing (reads only: a bad
            # folder was refused above, before the hub heard of this publish).
            with ThreadPoolExecutor(1, "remote") as reader:
                reading = reader.submit(self._read_remote)
                known = {f.path: sha for f in files if (sha := cache.lookup(f)) is not None}
                remote = reading.result()
            self._hash_and_upload(files, cache, remote, defer=remote.tag_commit is not None, known=known)
        finally:
            cache.close()
        first_plan = plan = plan_push(self.manifest, remote.tree, self.options.delete_missing, ignore, self.repo_type)
        self._check_tag(plan, remote)
        if remote.branch_missing:
            self._ensure_repo(remote)
            base = remote.head
            remote = self._ensure_branch(remote)
            if remote.head != base:
                first_plan = plan = plan_push(
                    self.manifest, remote.tree, self.options.delete_missing, ignore, self.repo_type
                )
                self._upload_plan(plan, remote)
        commits: list[str] = []
        head = remote.head
        self.timings["commit"] = self.timings["verify"] = 0.0
        for round_number in range(REPAIR_ROUNDS + 1):
            if plan.empty:
                break
            step = time.perf_counter()
            if round_number:
                self._upload_plan(plan, remote)
            self._ensure_repo(remote)
            commits += self._commit(plan, head)
            self.timings["commit"] += time.perf_counter() - step
            step = time.perf_counter()
            head = self._resolve(self.options.revision)
            # The tree of that very commit: a listing by branch name could already show a later commit.
            remote = RemoteState(exists=True, head=head, tree=self._remote_files(head))
            self.timings["verify"] += time.perf_counter() - step
            problems = tree_differences(self.manifest, remote.tree, self.options.delete_missing, ignore)
            if not problems:
                break
            if head != commits[-1]:
                raise ConcurrentChangeError(
                    f"a concurrent change was detected: {self.options.revision} moved to {head} after our commit "
                    f"{commits[-1]}; the hub now differs from the folder: {'; '.join(problems[:10])}",
                    operation=self.op,
                    model_id=self.model_id,
                )
            log.warning(
                "%s: a concurrent commit landed under ours; re-applying the folder (%d differences)",
                self.model_id,
                len(problems),
            )
            plan = plan_push(self.manifest, remote.tree, self.options.delete_missing, ignore, self.repo_type)
        else:
            raise ConcurrentChangeError(
                f"a concurrent change was detected and {REPAIR_ROUNDS} repairs did not converge",
                operation=self.op,
                model_id=self.model_id,
            )
        tag = self.options.tag
        if tag and head is not None:
            self.hub.create_tag(self.model_id, tag, head, repo_type=self.repo_type)
        self.timings["total"] = time.perf_counter() - started
        return self._result(first_plan, commits, tag if head is not None else None)

    def _result(self, plan: PushPlan, commits: list[str], tag: str | None) -> PushResult:
        counts = {kind: sum(1 for c in plan.uploads if c.change == kind) for kind in ("added", "changed")}
        inline = sum(c.size for c in plan.uploads if not c.lfs)
        return PushResult(
            model_id=self.model_id,
            revision=self.options.revision,
            model_url=self.hub.repo_url(self.model_id, self.repo_type),
            repo_type=self.repo_type,
            commit_id=commits[-1] if commits else None,
            commit_ids=commits,
            created_repo=self.created_repo,
            created_branch=self.created_branch,
            tag=tag,
            files_added=counts["added"],
            files_changed=counts["changed"],
            files_deleted=len(plan.deletes),
            files_unchanged=plan.unchanged,
            bytes_uploaded=self.bytes_uploaded,
            bytes_reused=self.bytes_reused,
            bytes_inline=inline if commits else 0,
            hash_cache_hits=self.cache_hits,
            bytes_hashed=self.bytes_hashed,
            verified=True,
            changes=plan.changes(),
            timings={k: round(v, 4) for k, v in self.timings.items()},
        )


def push_folder(
    hub: PushHub,
    model_id: str,
    model_dir: str | os.PathLike[str],
    options: PushOptions,
    progress: Callable[[ProgressEvent], None] | None = None,
    repo_type: RepoType = "model",
) -> PushResult:
    """Publish a model (or dataset) folder so that `options.revision` holds exactly its files (see
    `HubClient.push_model` and `HubClient.push_dataset`)."""
    return Publisher(hub, model_id, model_dir, options, progress, repo_type).run()


def verify_folder(
    hub: PushHub,
    model_id: str,
    model_dir: str | os.PathLike[str],
    revision: str = "master",
    ignore_file_pattern: str | Iterable[str] | None = None,
    *,
    delete_missing: bool = True,
    hash_cache: str | os.PathLike[str] | None = DEFAULT_HASH_CACHE,
    allow_secret_files: bool | Iterable[str] = False,
    ignore_patterns: str | Iterable[str] | None = None,
    repo_type: RepoType = "model",
) -> int:
    """Check that `revision` of a model (or dataset) holds exactly the folder's files (paths, sizes,
    sha256); returns how many.

    Raises:
        VerificationError: Any difference, listed path by path.
    """
    ignore = IgnoreRules.parse(ignore_file_pattern, ignore_patterns)
    kind = repo_kind(repo_type, "verify_folder")
    folder = check_folder(model_dir, f"{kind.name}_dir", require_config=kind.name == "model")
    cache = open_hash_cache(hash_cache)
    try:
        files = scan_folder(folder, ignore, allow_secret_files, cache.files())
        manifest = {f.path: (cache.hash(f)[0], f.size) for f in files}
    finally:
        cache.close()
    listing = hub.get_repo_files(model_id, revision, recursive=True, repo_type=kind.name)
    remote = {f.path: f for f in listing if f.is_file}
    problems = tree_differences(manifest, remote, delete_missing, ignore)
    if problems:
        raise VerificationError(
            f"{revision} differs from {folder}: {'; '.join(problems[:20])}"
            + (f" ... and {len(problems) - 20} more" if len(problems) > 20 else ""),
            operation="verify_folder",
            model_id=model_id,
        )
    return len(manifest)
