"""Git smart HTTP, only as far as creating a ref: read the advertisement, send one ref update.

The hub's HTTP API cannot create a branch (protocol.md Op 10, ModelScope issues #1470 and #1582);
its git endpoint can, and a branch at a commit the hub already has needs no objects: one command
line and the 32-byte empty pack (protocol.md §14.1, git's gitprotocol-http and gitprotocol-pack).
Sixty lines of pkt-line code on the project's own session beat a git library here: the session
already brings retries, redirect handling that never leaks a credential, the rate limit, and the
error mapping, and the git token stays a `SecretStr` that only `_auth_headers` ever opens.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from hub_tasks.errors import RequestError
from hub_tasks.repo_types import RepoType, repo_kind
from hub_tasks.wire.session import HubSession

ZERO_ID = "0" * 40
_HEADER = b"PACK" + struct.pack(">II", 2, 0)  # version 2, no objects
EMPTY_PACK = _HEADER + hashlib.sha1(_HEADER).digest()  # the pack trailer is SHA-1 by definition
RECEIVE_PACK = "git-receive-pack"
UPLOAD_PACK = "git-upload-pack"


def pkt_line(payload: bytes) -> bytes:
    """One pkt-line: four hex digits of length (their own included), then the payload.

    Example:
        >>> pkt_line(b"# service=git-receive-pack\\n")
        b'001f# service=git-receive-pack\\n'
    """
    return b"%04x" % (len(payload) + 4) + payload


def read_pkt_lines(data: bytes) -> list[bytes | None]:
    """Split a pkt-line stream; a flush packet (`0000`) is None, payloads keep their newline.

    Raises:
        RequestError: A length that is not hex or runs past the end.

    Example:
        >>> read_pkt_lines(b"000eunpack ok\\n0000")
        [b'unpack ok\\n', None]
    """
    lines: list[bytes | None] = []
    at = 0
    while at < len(data):
        try:
            size = int(data[at : at + 4], 16)
        except ValueError:
            raise RequestError(f"the git endpoint sent a malformed pkt-line at byte {at}") from None
        if size == 0:
            lines.append(None)
            at += 4
            continue
        if size < 4 or at + size > len(data):
            raise RequestError(f"the git endpoint sent a pkt-line of length {size} at byte {at} that does not fit")
        lines.append(data[at + 4 : at + size])
        at += size
    return lines


@dataclass(frozen=True)
class Advertisement:
    """What a receive-pack endpoint offers: every ref with its commit id, and its capabilities."""

    refs: dict[str, str]
    capabilities: frozenset[str]

    def branch(self, name: str) -> str | None:
        """The commit id of `refs/heads/<name>`, or None."""
        return self.refs.get(f"refs/heads/{name}")

    def tag(self, name: str) -> str | None:
        """The id `refs/tags/<name>` names: the commit when the advertisement peels it (`^{}`, as
        upload-pack does), else what the ref holds (an annotated tag's own object id); or None."""
        return self.refs.get(f"refs/tags/{name}^{{}}") or self.refs.get(f"refs/tags/{name}")


def parse_advertisement(body: bytes, service: str = RECEIVE_PACK) -> Advertisement:
    """Read a smart-HTTP ref advertisement (`# service=...`, flush, refs, flush).

    Example:
        >>> body = (pkt_line(b"# service=git-receive-pack\\n") + b"0000"
        ...         + pkt_line(b"a" * 40 + b" refs/heads/master\\0report-status\\n") + b"0000")
        >>> parse_advertisement(body).branch("master") == "a" * 40
        True
    """
    lines = read_pkt_lines(body)
    if not lines or lines[0] is None or lines[0].rstrip(b"\n") != f"# service={service}".encode():
        raise RequestError(f"the git endpoint did not answer as a smart-HTTP {service} server")
    refs: dict[str, str] = {}
    capabilities: frozenset[str] = frozenset()
    for raw in lines[2:]:
        if raw is None:
            break
        line, _, caps = raw.rstrip(b"\n").partition(b"\0")
        if caps:
            capabilities = frozenset(caps.decode().split())
        commit_id, _, name = line.decode().partition(" ")
        if name != "capabilities^{}":  # the placeholder line of a repo without refs
            refs[name] = commit_id
    return Advertisement(refs, capabilities)


def create_ref_request(refname: str, commit_id: str) -> bytes:
    """The receive-pack request that creates `refname` at `commit_id` and sends no objects.

    Example:
        >>> request = create_ref_request("refs/heads/dev", "b" * 40)
        >>> request[:4], request[115:119], request[119:] == EMPTY_PACK
        (b'0073', b'0000', True)
    """
    command = f"{ZERO_ID} {commit_id} {refname}\0report-status\n".encode()
    return pkt_line(command) + b"0000" + EMPTY_PACK


def parse_report(body: bytes, refname: str) -> str | None:
    """The reason `refname` was refused in a report-status answer, or None when it was accepted.

    Raises:
        RequestError: The answer is not a report-status (no `unpack` line, or no line for `refname`).

    Example:
        >>> parse_report(b"000eunpack ok\\n0016ok refs/heads/dev\\n0000", "refs/heads/dev") is None
        True
    """
    lines = [raw.rstrip(b"\n").decode(errors="replace") for raw in read_pkt_lines(body) if raw is not None]
    if not lines or not lines[0].startswith("unpack "):
        raise RequestError("the git endpoint's answer has no report-status")
    unpack = lines[0].removeprefix("unpack ")
    for line in lines[1:]:
        status, _, rest = line.partition(" ")
        name, _, reason = rest.partition(" ")
        if name == refname:
            if status == "ok" and unpack == "ok":
                return None
            return reason or (f"unpack {unpack}" if unpack != "ok" else "refused")
    if unpack != "ok":
        return f"unpack {unpack}"
    raise RequestError(f"the git endpoint's answer says nothing about {refname}")


class GitRefs:
    """Ref reads and ref creation on one repo's git endpoint (`{endpoint}/{owner}/{name}.git` for a model,
    `{endpoint}/datasets/{owner}/{name}.git` for a dataset).

    Authenticates as git does, with Basic `oauth2:<git token>`; the session must hold the git token
    (`HubClient.login()` stores it). Not a public API: `HubClient.create_branch` is.
    """

    def __init__(self, session: HubSession, model_id: str, repo_type: RepoType = "model") -> None:
        self.session = session
        self.model_id = model_id
        self.url = f"{session.endpoint}{repo_kind(repo_type).git(model_id)}"

    def advertisement(self, operation: str, service: str = RECEIVE_PACK) -> Advertisement:
        """The refs as `service` advertises them (a read: retried like any GET). receive-pack's is the
        one a push acts on; upload-pack's also peels annotated tags to their commits."""
        _, response = self.session.call(
            "GET",
            f"{self.url}/info/refs",
            params={"service": service},
            operation=operation,
            model_id=self.model_id,
            auth="git",
            stream=True,
        )
        with response:
            return parse_advertisement(response.content, service)

    def create(self, refname: str, commit_id: str, operation: str) -> str | None:
        """Send the ref creation once; the refusal reason from the hub, or None when it was applied."""
        _, response = self.session.call(
            "POST",
            f"{self.url}/{RECEIVE_PACK}",
            body=create_ref_request(refname, commit_id),
            headers={
                "Content-Type": "application/x-git-receive-pack-request",
                "Accept": "application/x-git-receive-pack-result",
            },
            operation=operation,
            model_id=self.model_id,
            auth="git",
            stream=True,
        )
        with response:
            return parse_report(response.content, refname)
