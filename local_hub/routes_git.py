"""Git smart HTTP, reduced to the one write the HTTP API lacks: creating a branch or a tag by ref update.

local_hub stores no git objects (its commit ids are random 40-hex strings), so it can advertise its
refs and accept ref creations that point at commits it already has, and nothing else: no fetch, no
clone, no objects, no deletions, no moves (protocol.md §14.1; git's `gitprotocol-http.txt` and
`gitprotocol-pack.txt`).

Errors are `text/plain`, not the hub's JSON envelope: git prints such a body to the user as
`remote: ...`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from local_hub.envelope import hub_of, repo_type_of
from local_hub.errors import BadRequest, HubApiError, NotFound, Unauthorized
from local_hub.store import Repo, Store, User, validate_ref_name

ZERO_ID = "0" * 40
AGENT = "agent=local_hub"
# Not offered: side-band-64k (the report goes unwrapped), delete-refs and ofs-delta (we refuse
# deletions and objects, so a client should not plan on them).
RECEIVE_CAPS = f"report-status {AGENT}"
UPLOAD_CAPS = f"symref=HEAD:refs/heads/master {AGENT}"
MAX_PKT_PAYLOAD = 65516  # 65520 bytes per pkt-line, minus the 4-byte length
MAX_REF_LENGTH = 4096
EMPTY_PACK_HEADER = b"PACK\x00\x00\x00\x02\x00\x00\x00\x00"
EMPTY_PACK = EMPTY_PACK_HEADER + hashlib.sha1(EMPTY_PACK_HEADER).digest()
NO_OBJECTS = "local_hub stores no git objects; push a ref to a commit the hub already has"
UPDATES_ONLY = (
    "local_hub serves git ref updates only (push a new branch or tag at a commit the hub has); "
    "clone and fetch through the HTTP API instead"
)
CHALLENGE = {"WWW-Authenticate": 'Basic realm="local_hub"'}

Handler = Callable[[Request], Awaitable[Response]]


class MalformedRequest(ValueError):
    """A receive-pack body that does not follow the pkt-line protocol (served as a 400)."""


# -- pkt-lines -------------------------------------------------------------------------------------
def pkt_line(payload: str | bytes) -> bytes:
    """One pkt-line: 4 lowercase hex digits of the whole length (those 4 included), then the payload.

    Example:
        >>> pkt_line("# service=git-receive-pack\\n")
        b'001f# service=git-receive-pack\\n'
    """
    data = payload.encode() if isinstance(payload, str) else payload
    if not data or len(data) > MAX_PKT_PAYLOAD:
        raise ValueError(f"a pkt-line payload holds 1 to {MAX_PKT_PAYLOAD} bytes, not {len(data)}")
    return f"{len(data) + 4:04x}".encode() + data


FLUSH = b"0000"


def read_pkt_lines(body: bytes) -> tuple[list[bytes], bytes]:
    """Split `body` into the payloads before the first flush and whatever follows that flush.

    Raises:
        MalformedRequest: A length that is not 4 hex digits, a reserved length (1-3), a line
            running past the end of the body, or no flush at all.

    Example:
        >>> read_pkt_lines(b"0009hello0000PACK")
        ([b'hello'], b'PACK')
    """
    lines, pos = [], 0
    while True:
        head = body[pos : pos + 4]
        if len(head) < 4:
            raise MalformedRequest("the command list ended without a flush packet (0000)")
        if not all(c in b"0123456789abcdefABCDEF" for c in head):
            raise MalformedRequest(f"bad pkt-line length {head!r} at byte {pos}: expected 4 hex digits")
        length = int(head, 16)
        if length == 0:
            return lines, body[pos + 4 :]
        if length < 4:
            raise MalformedRequest(f"bad pkt-line length {length} at byte {pos}: 1-3 are reserved")
        if pos + length > len(body):
            raise MalformedRequest(f"pkt-line at byte {pos} claims {length} bytes; the body ends first")
        lines.append(body[pos + 4 : pos + length])
        pos += length


# -- answers ---------------------------------------------------------------------------------------
def text(status: int, message: str, headers: dict[str, str] | None = None) -> PlainTextResponse:
    """A plain-text answer, one line, as git shows it to the user."""
    return PlainTextResponse(message.rstrip("\n") + "\n", status_code=status, headers=headers)


def plain_errors(handler: Handler) -> Handler:
    """Serve the hub's errors (401/403/404/400 from the store or from here) as plain text."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except HubApiError as exc:
            return text(exc.status, exc.message, exc.headers)

    return wrapped


def advertisement(service: str, refs: list[tuple[str, str]], caps: str) -> bytes:
    """The info/refs body of `service`: `(commit id, refname)` lines, capabilities on the first.

    Example:
        >>> advertisement("git-receive-pack", [], "report-status")[:35]
        b'001f# service=git-receive-pack\\n0000'
    """
    lines = refs or [(ZERO_ID, "capabilities^{}")]  # how git advertises a repo without refs
    body = [pkt_line(f"# service={service}\n"), FLUSH]
    for i, (commit_id, refname) in enumerate(lines):
        body.append(pkt_line(f"{commit_id} {refname}\0{caps}\n" if i == 0 else f"{commit_id} {refname}\n"))
    return b"".join([*body, FLUSH])


def repo_refs(store: Store, repo: Repo) -> list[tuple[str, str]]:
    """Every branch and tag as `(commit id, full refname)`, in git's order (bytewise by refname)."""
    branches, tags = store.refs(repo)
    refs = [(b.commit_id, f"refs/heads/{b.name}") for b in branches]
    refs += [(t.commit_id, f"refs/tags/{t.name}") for t in tags]
    return sorted(refs, key=lambda ref: ref[1].encode())


# -- who is calling --------------------------------------------------------------------------------
def basic_user(request: Request, store: Store) -> User | None:
    """The user whose git token is the Basic-auth password (any user name); None without credentials.

    Raises:
        Unauthorized: Credentials that are malformed or carry no known git token (with the Basic
            challenge, so that git asks again). The message never echoes what was sent.
    """
    auth = request.headers.get("authorization")
    if not auth:
        return None
    scheme, _, encoded = auth.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    _, colon, password = decoded.partition(":")
    user = store.user_for_git_token(password) if scheme.lower() == "basic" and colon and password else None
    if user is None:
        raise Unauthorized("authentication failed: the password must be your git token", headers=CHALLENGE)
    return user


def require_basic_user(request: Request, store: Store) -> User:
    """`basic_user`, with no credentials at all being a 401 challenge too (git only then sends them)."""
    user = basic_user(request, store)
    if user is None:
        raise Unauthorized("authentication required: use your git token (login's AccessToken)", headers=CHALLENGE)
    return user


def writable_repo(request: Request) -> Repo:
    """The repo of the URL, which the Basic-auth user may write (401, then 404/403 as HTTP writes are)."""
    store = hub_of(request).store
    user = require_basic_user(request, store)
    params, kind = request.path_params, repo_type_of(request)
    return store.repo_for(user, params["owner"], params["name"], write=True, repo_type=kind.name)


# -- routes ----------------------------------------------------------------------------------------
@plain_errors
async def info_refs(request: Request) -> Response:
    """GET /{owner}/{name}.git/info/refs?service=… (a dataset's: /datasets/{owner}/{name}.git/…, §21.10): the
    v0 ref advertisement of the smart protocol.

    receive-pack needs the git token of a writer. upload-pack is advertised (for `git ls-remote`) to
    whoever may read the repo; a `Git-Protocol: version=2` request gets v0 all the same, which git
    accepts. Anonymous callers who may not see the repo get the Basic challenge, whether it exists or
    not: git sends the credentials from its URL only after a 401.
    """
    service = request.query_params.get("service")
    if service is None:
        return text(404, "local_hub speaks git's smart HTTP protocol only (no dumb info/refs)")
    hub = hub_of(request)
    owner, name = request.path_params["owner"], request.path_params["name"]
    if service == "git-receive-pack":
        repo = await run_in_threadpool(writable_repo, request)
        refs = await run_in_threadpool(repo_refs, hub.store, repo)
        body = advertisement(service, refs, RECEIVE_CAPS)
    elif service == "git-upload-pack":
        user = await run_in_threadpool(basic_user, request, hub.store)
        try:
            repo = await run_in_threadpool(hub.store.repo_for, user, owner, name, repo_type=repo_type_of(request).name)
        except NotFound:
            if user is None:
                raise Unauthorized(f"{owner}/{name}: authentication required", headers=CHALLENGE) from None
            raise
        refs = await run_in_threadpool(repo_refs, hub.store, repo)
        head = next((commit_id for commit_id, ref in refs if ref == "refs/heads/master"), None)
        body = advertisement(service, ([(head, "HEAD")] if head else []) + refs, UPLOAD_CAPS)
    else:
        return text(403, f"unsupported service {service!r}: local_hub serves git-receive-pack and git-upload-pack")
    headers = {"Cache-Control": "no-cache"}
    return Response(body, media_type=f"application/x-{service}-advertisement", headers=headers)


@plain_errors
async def upload_pack(request: Request) -> Response:
    """POST /{owner}/{name}.git/git-upload-pack: fetch and clone are not served (no git objects here)."""
    return text(403, UPDATES_ONLY)


@dataclass(frozen=True)
class Command:
    """One ref update of a push: `old` and `new` commit ids, the full refname."""

    old: str
    new: str
    ref: str


def parse_commands(lines: list[bytes]) -> tuple[list[Command], set[str]]:
    """The commands of a receive-pack request and the capabilities the first one carries.

    Raises:
        MalformedRequest: A line that is not `<old> <new> <refname>` with two 40-hex ids.
    """
    commands, caps = [], set()
    for i, raw in enumerate(lines):
        line, _, cap_text = raw.rstrip(b"\n").partition(b"\0")
        if i == 0:
            caps = set(cap_text.decode("utf-8", "replace").split())
        parts = line.decode("utf-8", "replace").split(" ")
        is_hex = [len(p) == 40 and all(c in "0123456789abcdef" for c in p) for p in parts[:2]]
        if len(parts) != 3 or not all(is_hex):
            raise MalformedRequest(f"command {i + 1} is not '<old-id> <new-id> <refname>'")
        if not parts[2] or len(parts[2]) > MAX_REF_LENGTH:  # the ng line echoes it: keep it one pkt-line
            raise MalformedRequest(f"command {i + 1} has an empty refname or one over {MAX_REF_LENGTH} characters")
        commands.append(Command(*parts))
    return commands, caps


def pack_problem(pack: bytes) -> str | None:
    """None for no pack or the 32-byte empty pack; else the `unpack` error to report.

    Raises:
        MalformedRequest: Bytes after the commands that are not a pack at all.
    """
    if not pack:
        return None  # git sends no pack when every command is a deletion
    if len(pack) < 12 or pack[:4] != b"PACK":
        raise MalformedRequest("the data after the commands' flush is not a packfile (no 'PACK' header)")
    if int.from_bytes(pack[8:12], "big") != 0:
        return NO_OBJECTS
    if pack != EMPTY_PACK:
        return "corrupt empty pack: expected version 2, count 0 and the SHA-1 of those 12 bytes"
    return None


def refusal(store: Store, repo: Repo, command: Command) -> str | None:
    """Why `command` may not be applied (the `ng` reason), or None when it is a valid creation."""
    if command.new == ZERO_ID:
        return "deleting refs is not supported"
    if command.old != ZERO_ID:
        return "moving an existing ref is not supported: only creations (old id all zeros)"
    kind, _, short = command.ref.removeprefix("refs/").partition("/")
    if not command.ref.startswith("refs/") or kind not in ("heads", "tags"):
        return "only refs/heads/* and refs/tags/* can be created"
    try:
        validate_ref_name(short, "branch" if kind == "heads" else "tag")
    except BadRequest:
        return f"invalid ref name {command.ref!r} (see git check-ref-format)"
    if kind == "tags" and short.lower() in ("master", "main"):
        return f"tag name {short!r} is reserved for branches"  # the same rule as POST .../repo/tag
    branches, tags = store.refs(repo)
    current = {r.name: r.commit_id for r in (branches if kind == "heads" else tags)}.get(short)
    if current is not None:
        return f"{command.ref} already exists (at {current})"
    if store.resolve(repo, command.new) != command.new:
        return f"unknown commit {command.new}: {repo.repo_id} has no such commit"
    return None


def apply_commands(store: Store, repo: Repo, commands: list[Command], unpack_error: str | None) -> list[bytes]:
    """Check and apply each command on its own (git's non-atomic push); the report's pkt-lines."""
    report = [pkt_line(f"unpack {unpack_error or 'ok'}\n")]
    for command in commands:
        reason = f"unpack failed: {unpack_error}" if unpack_error else None
        if reason is None:
            reason = refusal(store, repo, command)
        if reason is None:
            short = command.ref.split("/", 2)[2]
            create = store.create_branch if command.ref.startswith("refs/heads/") else store.create_tag
            try:
                create(repo, short, command.new)
            except HubApiError as exc:  # lost a race with another writer of the same ref
                reason = exc.message
        report.append(pkt_line(f"ok {command.ref}\n" if reason is None else f"ng {command.ref} {reason}\n"))
    return [*report, FLUSH]


def side_band(report: bytes) -> bytes:
    """`report` as band-1 packets, for a client that asked for side-band-64k although not offered."""
    step = MAX_PKT_PAYLOAD - 1
    return b"".join(pkt_line(b"\x01" + report[i : i + step]) for i in range(0, len(report), step)) + FLUSH


@plain_errors
async def receive_pack(request: Request) -> Response:
    """POST /{owner}/{name}.git/git-receive-pack: create branches and tags at commits the hub has.

    The body is command pkt-lines, a flush, then a pack that must be empty (or absent). Each command
    gets `ok` or `ng <reason>`; a pack with objects fails the unpack and every command.
    """
    repo = await run_in_threadpool(writable_repo, request)
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip() != "application/x-git-receive-pack-request":
        return text(415, "expected Content-Type application/x-git-receive-pack-request")
    body = await request.body()
    try:
        if request.headers.get("content-encoding", "").lower() in ("gzip", "x-gzip"):
            body = zlib.decompress(body, wbits=16 + zlib.MAX_WBITS)
        lines, pack = read_pkt_lines(body)
        commands, caps = parse_commands(lines)
        unpack_error = pack_problem(pack)
    except (MalformedRequest, zlib.error) as exc:
        return text(400, f"malformed git-receive-pack request: {exc}")
    if not commands:  # git's receive-pack answers nothing when there is nothing to update
        return Response(b"", media_type="application/x-git-receive-pack-result")
    store = hub_of(request).store
    report = b"".join(await run_in_threadpool(apply_commands, store, repo, commands, unpack_error))
    if "side-band-64k" in caps:
        report = side_band(report)
    return Response(report, media_type="application/x-git-receive-pack-result", headers={"Cache-Control": "no-cache"})
