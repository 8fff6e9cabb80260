"""`RevisionSession`: a repo's revisions and files: branches, tags, commits, refs and file listings.

The read side of a model's or dataset's history (and `create_tag`, which only points a name at a
commit); every method takes the repo type, whose routes `repo_types.py` holds. It sends through
`HubSession.call` like every other operation.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from typing import Any

from hub_tasks.errors import (
    AlreadyExistsError,
    ListingLimitError,
    NotExistError,
    RequestError,
)
from hub_tasks.repo_types import RepoType, repo_kind
from hub_tasks.types import (
    Commit,
    RepoFile,
    Revision,
)
from hub_tasks.validation import (
    COMMIT_ID_RE,
    validate_cutoff,
    validate_model_id,
    validate_page,
    validate_ref,
    validate_tag,
)
from hub_tasks.wire.transfer import TransferSession

TREE_PAGE_SIZE = 200  # what the SDK asks for (§21.5A)
TREE_PAGES_IN_FLIGHT = 16


class RevisionSession(TransferSession):
    """`TransferSession` plus the revision and file-listing operations; `HubClient` builds on it."""

    # -- revisions -----------------------------------------------------------------------------
    def _revision_map(
        self, model_id: str, end_time: int | None, op: str, repo_type: RepoType = "model"
    ) -> tuple[list[Revision], list[Revision]]:
        kind = repo_kind(repo_type, op)
        validate_model_id(model_id, op, kind.name)
        params = {"EndTime": end_time} if end_time is not None else None
        payload, _ = self.call("GET", f"{kind.api(model_id)}/revisions", operation=op, model_id=model_id, params=params)
        rev_map = (self.unwrap(payload) or {}).get("RevisionMap") or {}
        branches = [Revision.model_validate({**b, "kind": "branch"}) for b in rev_map.get("Branches") or []]
        tags = [Revision.model_validate({**t, "kind": "tag"}) for t in rev_map.get("Tags") or []]
        return branches, tags

    def list_model_revisions_detail(
        self, model_id: str, cutoff_timestamp: int | None = None, use_cookies: bool | CookieJar = False
    ) -> list[Revision]:
        """Tags created at or before `cutoff_timestamp`, newest first, as `Revision` objects.

        Differs from the SDK on purpose: `cutoff_timestamp=None` means every tag up to the hub's own
        "now" (the SDK silently uses its own release date and hides newer tags). No `EndTime` is sent
        then, as the SDK's `get_model_branches_and_tags` does not send one: a cutoff computed from this
        machine's clock would hide a tag just created on a hub whose clock runs ahead.

        Args:
            model_id: "owner/name".
            cutoff_timestamp: Whole epoch seconds, or None for all tags.
            use_cookies: Accepted for the SDK's signature and ignored: the token authenticates every
                request, and no cookie is ever sent or stored.

        Raises:
            InvalidParameter: A bad model id, or a cutoff that is not whole epoch seconds.
            NotExistError: No such model.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print([t.name for t in client.list_model_revisions_detail("alice/demo")])
            ```
            Prints:
            ```text
            ['v1.0']
            ```
        """
        end = validate_cutoff(cutoff_timestamp, "list_model_revisions")
        return self._revision_map(model_id, end, "list_model_revisions")[1]

    def list_model_revisions(
        self, model_id: str, cutoff_timestamp: int | None = None, use_cookies: bool | CookieJar = False
    ) -> list[str]:
        """Tag names created at or before `cutoff_timestamp` (None: all), newest first.

        Args:
            model_id: "owner/name".
            cutoff_timestamp: Whole epoch seconds, or None for all tags (see `list_model_revisions_detail`).
            use_cookies: Accepted for the SDK's signature and ignored: the token authenticates every
                request, and no cookie is ever sent or stored.

        Raises:
            InvalidParameter: A bad model id, or a cutoff that is not whole epoch seconds.
            NotExistError: No such model.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.list_model_revisions("alice/demo"))
            ```
            Prints:
            ```text
            ['v1.0']
            ```
        """
        return [t.name for t in self.list_model_revisions_detail(model_id, cutoff_timestamp, use_cookies)]

    def get_model_branches_and_tags_details(self, model_id: str) -> tuple[list[Revision], list[Revision]]:
        """Branches and tags (newest first) as `Revision` objects (with commit ids if the hub lists them).

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                branches, tags = client.get_model_branches_and_tags_details("alice/demo")
            ```
        """
        return self.get_branches_and_tags_details(model_id)

    def get_branches_and_tags_details(
        self, repo_id: str, *, repo_type: RepoType = "model"
    ) -> tuple[list[Revision], list[Revision]]:
        """Branches and tags (newest first) of a model or dataset as `Revision` objects.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                branches, tags = client.get_branches_and_tags_details("alice/corpus", repo_type="dataset")
            ```
        """
        op = "get_model_branches_and_tags" if repo_type == "model" else f"get_{repo_type}_branches_and_tags"
        return self._revision_map(repo_id, None, op, repo_type)

    def get_model_branches_and_tags(
        self, model_id: str, use_cookies: bool | CookieJar = False
    ) -> tuple[list[str], list[str]]:
        """Branch names and tag names (tags newest first).

        Args:
            model_id: "owner/name".
            use_cookies: Accepted for the SDK's signature and ignored: the token authenticates every
                request, and no cookie is ever sent or stored.

        Raises:
            NotExistError: No such model.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                branches, tags = client.get_model_branches_and_tags("alice/demo")
            ```
        """
        branches, tags = self.get_model_branches_and_tags_details(model_id)
        return [b.name for b in branches], [t.name for t in tags]

    def list_commits(
        self,
        model_id: str,
        ref: str = "master",
        page_number: int = 1,
        page_size: int = 10,
        *,
        repo_type: RepoType = "model",
    ) -> list[Commit]:
        """One page of a revision's history, newest first.

        Raises:
            NotExistError: No such model or revision.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.list_commits("alice/demo", "master")[0].id)
            ```
            Prints:
            ```text
            <commit id>
            ```
        """
        op = "list_commits"
        kind = repo_kind(repo_type, op)
        validate_model_id(model_id, op, kind.name)
        validate_ref(ref, "ref", op)
        validate_page(page_number, page_size, op)
        params = {"Ref": ref, "PageNumber": page_number, "PageSize": page_size}
        payload, _ = self.call("GET", f"{kind.api(model_id)}/commits", operation=op, model_id=model_id, params=params)
        return [Commit.model_validate(c) for c in (self.unwrap(payload) or {}).get("Commit") or []]

    def resolve_ref(self, model_id: str, ref: str = "master", *, repo_type: RepoType = "model") -> str:
        """The commit id a branch or tag points at (the revision listing carries none).

        Raises:
            NotExistError: No such model or revision, or the revision has no commits yet.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print(client.resolve_ref("alice/demo", "v1.0"))
            ```
            Prints:
            ```text
            <commit id>
            ```
        """
        commits = self.list_commits(model_id, ref, 1, 1, repo_type=repo_type)
        if not commits:
            raise NotExistError(f"revision {ref!r} has no commits yet", operation="resolve_ref", model_id=model_id)
        return commits[0].id

    def resolve_ref_or_none(self, model_id: str, ref: str, *, repo_type: RepoType = "model") -> str | None:
        """Like `resolve_ref`, but None when the revision does not exist (or has no commits)."""
        try:
            return self.resolve_ref(model_id, ref, repo_type=repo_type)
        except NotExistError:
            return None

    def get_model_refs(self, model_id: str) -> list[Revision]:
        """Every branch and tag with the commit it points at.

        One request when the revision listing carries each ref's commit id; otherwise one
        `commits` call more per ref that lacks it.

        Returns:
            Branches first (in creation order), then tags (newest first), each with `commit_id`.

        Raises:
            NotExistError: No such model, or a ref vanished while being resolved.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print({r.name: r.commit_id for r in client.get_model_refs("alice/demo")})
            ```
            Prints:
            ```text
            {'master': '<commit id>', 'v1.0': '<commit id>'}
            ```
        """
        return self.get_refs(model_id)

    def get_refs(self, repo_id: str, *, repo_type: RepoType = "model") -> list[Revision]:
        """`get_model_refs` for a model or a dataset: every branch and tag with its commit id.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print([r.name for r in client.get_refs("alice/corpus", repo_type="dataset")])
            ```
            Prints:
            ```text
            ['master', 'v1']
            ```
        """
        branches, tags = self.get_branches_and_tags_details(repo_id, repo_type=repo_type)
        return [
            ref
            if ref.commit_id
            else ref.model_copy(update={"commit_id": self.resolve_ref(repo_id, ref.name, repo_type=repo_type)})
            for ref in branches + tags
        ]

    def create_tag(self, model_id: str, tag: str, revision: str = "master", *, repo_type: RepoType = "model") -> str:
        """Tag the commit `revision` points at now; returns that commit id.

        Tagging again at the same commit is a no-op; a tag that points at another commit is
        never moved. The hub is sent the commit id as `Ref`, so a branch moving meanwhile cannot
        make the tag land elsewhere. Safe to retry after a lost answer. `repo_type="dataset"` tags a
        dataset (SDK 1.40's `create_repo_tag(..., repo_type="dataset")`).

        Raises:
            InvalidParameter: Bad tag (empty, whitespace, '..', 'master'/'main') before any request.
            AlreadyExistsError: The tag exists and points at another commit.
            NotExistError: No such model or revision.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                client.create_tag("alice/demo", "v1.0")
            ```
        """
        op = "create_tag"
        kind = repo_kind(repo_type, op)
        validate_model_id(model_id, op, kind.name)
        validate_tag(tag, op)
        validate_ref(revision, "revision", op)
        self.require_token(op, model_id)
        target = (
            revision if COMMIT_ID_RE.fullmatch(revision) else self.resolve_ref(model_id, revision, repo_type=repo_type)
        )
        current = self.resolve_ref_or_none(model_id, tag, repo_type=repo_type)
        if current == target:
            return target
        if current is not None:
            raise AlreadyExistsError(
                f"tag {tag!r} already points at {current}, not {target}; tags are never moved",
                operation=op,
                model_id=model_id,
            )

        def send() -> str:
            self.call(
                "POST",
                f"{kind.api(model_id)}/repo/tag",
                operation=op,
                model_id=model_id,
                json={"TagName": tag, "Ref": target},
            )
            return target

        def landed() -> str | None:
            now = self.resolve_ref_or_none(model_id, tag, repo_type=repo_type)
            if now is not None and now != target:
                raise AlreadyExistsError(
                    f"tag {tag!r} was created at {now} by someone else meanwhile", operation=op, model_id=model_id
                )
            return now

        return self.call_checked(send, landed, operation=op, model_id=model_id)

    # -- files ---------------------------------------------------------------------------------
    def _list_files_page(
        self,
        model_id: str,
        revision: str,
        root: str | None,
        recursive: bool,
        headers: dict[str, str] | None,
        page: int | None = None,
        repo_type: RepoType = "model",
    ) -> list[RepoFile]:
        """One listing request: a model's `/repo/files`, or a dataset's `/repo/tree` (one page of it when
        `page` is given; the SDK sends no paging parameters for a non-recursive listing)."""
        kind = repo_kind(repo_type)
        params: dict[str, Any] = {"Revision": revision, "Recursive": str(bool(recursive))}
        if page is not None:
            params |= {"PageNumber": page, "PageSize": TREE_PAGE_SIZE}
        if root:
            params["Root"] = root
        payload, _ = self.call(
            "GET",
            f"{kind.api(model_id)}/repo/{'tree' if kind.paged_tree else 'files'}",
            operation=f"get_{repo_type}_files",
            model_id=model_id,
            params=params,
            headers=headers,
        )
        data = self.unwrap(payload)
        entries = data.get("Files") if isinstance(data, dict) else data  # §21.5: `{"Files": [...]}` or a bare list
        return [RepoFile.model_validate(f) for f in entries or []]

    def _tree_pages(
        self, repo_id: str, revision: str, root: str | None, headers: dict[str, str] | None, repo_type: RepoType
    ) -> list[RepoFile]:
        """A dataset's recursive tree, page by page until a short page (the only end the hub marks, §21.5A).

        The first page is read alone (a small tree costs one request); the rest TREE_PAGES_IN_FLIGHT at a
        time: a 20,000-file tree is 101 pages, and one after the other they would cost 101 round trips. A
        page past the end comes back empty, so reading ahead costs a few small requests at most.
        """
        found: list[RepoFile] = []
        first, wave_size = 1, 1  # page 1 alone: most trees fit one page, and then one request is all it costs
        with ThreadPoolExecutor(TREE_PAGES_IN_FLIGHT, "tree") as pool:
            while True:
                wave = [
                    pool.submit(self._list_files_page, repo_id, revision, root, True, headers, page, repo_type)
                    for page in range(first, first + wave_size)
                ]
                for future in wave:
                    entries = future.result()
                    found.extend(entries)
                    if len(entries) < TREE_PAGE_SIZE:
                        for rest in wave:
                            rest.cancel()
                        return self._unique(found, repo_id)
                first += wave_size
                wave_size = TREE_PAGES_IN_FLIGHT

    @staticmethod
    def _unique(found: list[RepoFile], repo_id: str) -> list[RepoFile]:
        """Entries sorted by path; a hub that ignored the paging parameters repeats entries, which is an error
        rather than a listing that never ends or counts files twice."""
        by_path = {f.path: f for f in found}
        if len(by_path) != len(found):
            raise RequestError(
                f"the hub listed {len(found) - len(by_path)} entries twice: it does not page the tree as asked",
                operation="get_dataset_files",
                model_id=repo_id,
            )
        return sorted(by_path.values(), key=lambda f: f.path)

    def get_model_files(
        self,
        model_id: str,
        revision: str | None = None,
        root: str | None = None,
        recursive: bool = False,
        use_cookies: bool | CookieJar = False,
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
            use_cookies: Accepted for the SDK's signature and ignored: the token authenticates every
                request, and no cookie is ever sent or stored.
            headers: Extra request headers.

        Returns:
            One `RepoFile` per entry, sorted by path.

        Raises:
            NotExistError: No such model, revision or folder.
            ListingLimitError: A single folder holds more entries than the hub lists.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print([f.path for f in client.get_model_files("alice/demo", recursive=True)])
            ```
            Prints:
            ```text
            ['README.md', 'configuration.json', 'notes.txt', 'weights', 'weights/w.bin']
            ```
        """
        return self.get_repo_files(model_id, revision, root, recursive, headers=headers)

    def get_repo_files(
        self,
        repo_id: str,
        revision: str | None = None,
        root: str | None = None,
        recursive: bool = False,
        *,
        repo_type: RepoType = "model",
        headers: dict[str, str] | None = None,
    ) -> list[RepoFile]:
        """`get_model_files` for a model or a dataset (a dataset's recursive tree is read page by page,
        several pages at a time). Folder entries, when the hub lists them, have `type == "tree"`.

        Example:
            ```python
            from hub_tasks import HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                print([f.path for f in client.get_repo_files("alice/corpus", recursive=True, repo_type="dataset")])
            ```
            Prints:
            ```text
            ['README.md', 'data/train.jsonl']
            ```
        """
        kind = repo_kind(repo_type, f"get_{repo_type}_files")
        op = f"get_{kind.name}_files"
        validate_model_id(repo_id, op, kind.name)
        revision = validate_ref("master" if revision is None else revision, "revision", op)
        root = (root or "").strip("/") or None
        if kind.paged_tree and recursive:
            return self._tree_pages(repo_id, revision, root, headers, kind.name)
        entries = self._list_files_page(repo_id, revision, root, recursive, headers, repo_type=kind.name)
        if kind.paged_tree:
            return self._unique(entries, repo_id)
        if len(entries) < self.settings.tree_limit:
            return entries
        if not recursive:
            raise ListingLimitError(
                f"folder {root or '/'} has more entries than the hub lists", operation=op, model_id=repo_id
            )
        return self._walk(repo_id, revision, root, headers)

    def _walk(self, model_id: str, revision: str, root: str | None, headers: dict[str, str] | None) -> list[RepoFile]:
        """A complete recursive listing of a model built from one non-recursive listing per folder."""
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
