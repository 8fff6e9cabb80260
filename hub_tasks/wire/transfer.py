"""The byte-moving hub calls (LFS batch, blob PUT, commit) on top of `HubSession`.

They live apart from `client.py` to keep that module about the hub's metadata operations; they
still send through `HubSession.call()`, the one place that sends. File downloads stream through
`call(..., stream=True)` in `download.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hub_tasks.errors import InvalidParameter, RequestError
from hub_tasks.repo_types import RepoType, repo_kind
from hub_tasks.types import CommitOperation
from hub_tasks.validation import validate_model_id, validate_ref
from hub_tasks.wire.session import HubSession

CHUNK = 1 << 20
LFS_BATCH_MAX = 64  # objects per negotiation request, as the SDK sends (§10.3)


class FileBody:
    """A file as a request body: `len()` gives Content-Length, `read()` hands out 1 MiB pieces.

    http.client asks for 8 KiB at a time; answering with 1 MiB cuts per-call overhead ~100x on fast
    links. Exactly `size` bytes are sent; a file that shrank meanwhile is an error, never a short
    upload the hub would store.
    """

    def __init__(self, path: str, size: int, on_bytes: Callable[[int], None] | None = None) -> None:
        self._handle = open(path, "rb")  # noqa: SIM115 - closed by the sender after each attempt
        self._size = size
        self._left = size
        self._on_bytes = on_bytes

    def __len__(self) -> int:
        return self._size

    def read(self, _hint: int = -1) -> bytes:
        """The next piece (up to 1 MiB), b"" at the end."""
        if self._left <= 0:
            return b""
        chunk = self._handle.read(min(CHUNK, self._left))
        if not chunk:
            raise OSError(f"{self._handle.name} shrank while being uploaded")
        self._left -= len(chunk)
        if self._on_bytes:
            self._on_bytes(len(chunk))
        return chunk

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


class TransferSession(HubSession):
    """`HubSession` plus the byte-moving calls: blob negotiation, blob upload and commit."""

    def lfs_batch(
        self, model_id: str, objects: Iterable[tuple[str, int]], *, repo_type: RepoType = "model"
    ) -> dict[str, str | None]:
        """Ask which blobs the hub lacks: oid -> upload URL, or None when already stored.

        Sends at most 64 objects per request. Safe to retry (it changes nothing).

        Args:
            model_id: "owner/name" of the model or dataset.
            objects: (sha256, size) pairs.
            repo_type: "model" or "dataset".

        Raises:
            RequestError: The hub's answer left out an object (never guessed as "stored").

        Example:
            ```python
            import hashlib
            import os

            from hub_tasks import HubClient

            with open("weights.bin", "rb") as handle:
                oid = hashlib.sha256(handle.read()).hexdigest()
            with HubClient(endpoint=URL, token=TOKEN) as client:
                hrefs = client.lfs_batch("alice/demo", [(oid, os.path.getsize("weights.bin"))])
                print("to upload" if hrefs[oid] else "already stored")
            ```
            Prints:
            ```text
            already stored
            ```
        """
        op = "lfs_batch"
        kind = repo_kind(repo_type, op)
        validate_model_id(model_id, op, kind.name)
        self.require_token(op, model_id)
        wanted = dict(objects)
        answer: dict[str, str | None] = {}
        oids = list(wanted)
        for start in range(0, len(oids), LFS_BATCH_MAX):
            chunk = [{"oid": oid, "size": wanted[oid]} for oid in oids[start : start + LFS_BATCH_MAX]]
            payload, _ = self.call(
                "POST",
                f"{kind.repos(model_id)}/info/lfs/objects/batch",
                operation=op,
                model_id=model_id,
                json={"operation": "upload", "objects": chunk},
                retry=True,
            )
            for obj in (self.unwrap(payload) or {}).get("objects") or []:
                href = ((obj.get("actions") or {}).get("upload") or {}).get("href")
                answer[obj.get("oid")] = href or None
                if href:
                    self.grant_upload(href)  # the hub named it: it may get the token (if on the hub's site)
        missing = [oid for oid in oids if oid not in answer]
        if missing:
            raise RequestError(
                f"the hub did not answer for {len(missing)} blob(s), e.g. {missing[0]}", operation=op, model_id=model_id
            )
        return answer

    def upload_blob(
        self,
        model_id: str,
        href: str,
        path: str,
        size: int,
        on_bytes: Callable[[int], None] | None = None,
    ) -> int:
        """Stream one file to the upload URL from `lfs_batch`; retried on transient faults.

        Like every call, it waits at most `read_timeout` for the hub's answer once the body is sent (a hub
        that never answers fails the upload within the configured bounds, `worst_case_call_seconds`).

        Returns:
            Bytes sent by the successful attempt (the file's size).

        Example:
            ```python
            import hashlib
            import os

            from hub_tasks import HubClient

            with open("weights.bin", "rb") as handle:
                oid = hashlib.sha256(handle.read()).hexdigest()
            size = os.path.getsize("weights.bin")
            with HubClient(endpoint=URL, token=TOKEN) as client:
                href = client.lfs_batch("alice/demo", [(oid, size)])[oid]
                if href is not None:  # None: the hub already holds these bytes
                    client.upload_blob("alice/demo", href, "weights.bin", size)
            ```
        """
        self.call(
            "PUT",
            href,
            operation="upload_blob",
            model_id=model_id,
            retry=True,
            body=lambda: FileBody(path, size, on_bytes),
        )
        return size

    def create_commit(
        self,
        model_id: str,
        revision: str,
        message: str,
        operations: list[CommitOperation],
        *,
        repo_type: RepoType = "model",
    ) -> str:
        """One commit of `operations` on branch `revision` of a model (or, with `repo_type="dataset"`, a dataset).

        Never retried here: a commit whose answer is lost may have landed. Callers that retry
        (the push engine) first check whether it did.

        Raises:
            InvalidParameter: Over 2000 actions, an unknown branch, a tag as revision (the hub's 400/422).
            RequestError: The hub answered without a commit id.

        Example:
            ```python
            from hub_tasks import CommitOperation, HubClient

            with HubClient(endpoint=URL, token=TOKEN) as client:
                remove = CommitOperation(action="delete", path="notes.txt")
                print(client.create_commit("alice/demo", "master", "remove notes", [remove]))
            ```
            Prints:
            ```text
            <commit id>
            ```
        """
        op = "create_commit"
        kind = repo_kind(repo_type, op)
        validate_model_id(model_id, op, kind.name)
        validate_ref(revision, "revision", op)
        if not operations:
            raise InvalidParameter("a commit needs at least one operation", operation=op, model_id=model_id)
        self.require_token(op, model_id)
        body: dict[str, Any] = {"commit_message": message, "actions": [o.to_wire() for o in operations]}
        payload, _ = self.call(
            "POST",
            f"{kind.repos(model_id)}/commit/{revision}",
            operation=op,
            model_id=model_id,
            json=body,
            retry=False,
        )
        oid = (self.unwrap(payload) or {}).get("oid")
        if not isinstance(oid, str) or not oid:
            raise RequestError("the hub answered the commit without a commit id", operation=op, model_id=model_id)
        return oid
