"""local_hub's git smart HTTP over the real wire: ref advertisements read by the real `git ls-remote`,
branch and tag creation by a hand-built receive-pack request, every refusal, the Basic-auth rules, and a
real `git push` of objects failing with local_hub's reason (protocol.md §14.1)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from local_hub.routes_git import RECEIVE_CAPS, advertisement
from tests.helpers.hub import TOKENS
from tests.helpers.hub_http import TIMEOUT, HubWriter, api, git_token

MODEL = "alice/git-model"
PRIVATE = "alice/git-private"
ZERO = "0" * 40
UNKNOWN = "1234567890abcdef" * 2 + "12345678"
EMPTY_PACK = b"PACK\0\0\0\2\0\0\0\0" + hashlib.sha1(b"PACK\0\0\0\2\0\0\0\0").digest()
# A pack header announcing one object (with a made-up body): what a push that carries objects sends.
OBJECTS_PACK = b"PACK\0\0\0\2\0\0\0\1" + b"\x95\x0ax\x9c" + b"\0" * 20
NO_OBJECTS = "local_hub stores no git objects; push a ref to a commit the hub already has"


def pkt(payload: str | bytes) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return f"{len(data) + 4:04x}".encode() + data


def pkt_payloads(body: bytes) -> list[bytes]:
    """The payloads of a pkt-line stream, flushes as b"" (the test's own reader, not the hub's)."""
    out, pos = [], 0
    while pos < len(body):
        length = int(body[pos : pos + 4], 16)
        out.append(body[pos + 4 : pos + length] if length else b"")
        pos += length or 4
    return out


def git_url(hub, model_id: str, password: str | None = None) -> str:
    netloc = urlsplit(hub.url).netloc
    return f"http://{f'oauth2:{password}@' if password else ''}{netloc}/{model_id}.git"


def refs_of(hub, model_id: str) -> dict[str, str]:
    """`refs/heads/<b>` and `refs/tags/<t>` -> commit id, as the hub's revisions API reports them."""
    response = api(hub, "GET", f"/api/v1/models/{model_id}/revisions")
    assert response.status_code == 200, response.text
    revision_map = response.json()["Data"]["RevisionMap"]
    refs = {f"refs/heads/{b['Revision']}": b["CommitId"] for b in revision_map["Branches"]}
    refs.update({f"refs/tags/{t['Revision']}": t["CommitId"] for t in revision_map["Tags"]})
    return refs


def receive_pack(
    hub, commands: list[str], pack: bytes = EMPTY_PACK, password: str | None = None, model_id: str = MODEL
) -> requests.Response:
    """A git-receive-pack POST built by hand: command pkt-lines (caps on the first), a flush, the pack."""
    lines = [pkt(f"{c}\0report-status\n" if i == 0 else f"{c}\n") for i, c in enumerate(commands)]
    return requests.post(
        f"{hub.url}/{model_id}.git/git-receive-pack",
        data=b"".join(lines) + b"0000" + pack,
        headers={"Content-Type": "application/x-git-receive-pack-request"},
        auth=("oauth2", password or git_token(hub)),
        timeout=TIMEOUT,
    )


def report(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-git-receive-pack-result"
    return [p.decode() for p in pkt_payloads(response.content)]


@pytest.fixture
def commits(hub) -> tuple[str, str]:
    """MODEL with two commits on master and tag v1 at the first; returns (first, head)."""
    writer = HubWriter(hub)
    writer.create(MODEL)
    first = writer.commit(MODEL, {"README.md": b"one"})
    writer.tag(MODEL, "v1", first)
    return first, writer.commit(MODEL, {"README.md": b"two"})


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    """The real git, isolated from this machine's configuration and never prompting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return {**env, "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def git(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=30, check=False)


# -- advertisements --------------------------------------------------------------------------------
def test_git_ls_remote_lists_the_hub_refs(hub, commits, git_env):
    hub.control.create_branch(MODEL, "dev", commits[0])
    expected = refs_of(hub, MODEL)
    assert set(expected) == {"refs/heads/master", "refs/heads/dev", "refs/tags/v1"}

    result = git(git_env, "ls-remote", git_url(hub, MODEL, git_token(hub)))
    assert result.returncode == 0, result.stderr
    listed = [line.split("\t") for line in result.stdout.splitlines()]
    assert listed[0] == [commits[1], "HEAD"]
    assert [ref for _, ref in listed[1:]] == sorted(expected)  # git's order: bytewise by refname
    assert {ref: sha for sha, ref in listed[1:]} == expected


def test_receive_pack_advertisement_is_exact(hub, commits):
    first, head = commits
    response = requests.get(
        f"{hub.url}/{MODEL}.git/info/refs",
        params={"service": "git-receive-pack"},
        auth=("oauth2", git_token(hub)),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-git-receive-pack-advertisement"
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == (
        b"001f# service=git-receive-pack\n0000"
        + pkt(f"{head} refs/heads/master\0report-status agent=local_hub\n")
        + pkt(f"{first} refs/tags/v1\n")
        + b"0000"
    )


def test_a_repo_without_refs_advertises_capabilities_only():
    # Repos of the running hub may start with a commit, so the ref-less case is checked on the builder.
    body = advertisement("git-receive-pack", [], RECEIVE_CAPS)
    assert body == (
        b"001f# service=git-receive-pack\n0000"
        + pkt(f"{ZERO} capabilities^{{}}\0report-status agent=local_hub\n")
        + b"0000"
    )


# -- receive-pack: creations -----------------------------------------------------------------------
def test_receive_pack_creates_a_branch_at_an_existing_commit(hub, commits):
    head = commits[1]
    response = receive_pack(hub, [f"{ZERO} {head} refs/heads/dev"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-git-receive-pack-result"
    assert response.content == b"000eunpack ok\n0016ok refs/heads/dev\n0000"
    assert refs_of(hub, MODEL)["refs/heads/dev"] == head
    assert hub.control.requests("git_receive_pack") == 1


def test_receive_pack_creates_a_tag_and_judges_each_command_alone(hub, commits):
    first = commits[0]
    lines = report(receive_pack(hub, [f"{ZERO} {first} refs/tags/v2", f"{ZERO} {UNKNOWN} refs/heads/x"]))
    assert lines[:2] == ["unpack ok\n", "ok refs/tags/v2\n"]
    assert lines[2].startswith("ng refs/heads/x unknown commit") and lines[3] == ""
    refs = refs_of(hub, MODEL)
    assert refs["refs/tags/v2"] == first and "refs/heads/x" not in refs


# -- receive-pack: refusals ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("{head} {zero} refs/heads/master", "deleting refs is not supported"),
        ("{head} {first} refs/heads/master", "moving an existing ref is not supported"),
        ("{zero} {first} refs/heads/master", "refs/heads/master already exists"),
        ("{zero} {head} refs/tags/v1", "refs/tags/v1 already exists"),
        ("{zero} {unknown} refs/heads/x", f"unknown commit {UNKNOWN}"),
        ("{zero} {head} refs/heads/a..b", "invalid ref name 'refs/heads/a..b'"),
        ("{zero} {head} refs/notes/x", "only refs/heads/* and refs/tags/* can be created"),
    ],
)
def test_receive_pack_refuses_everything_but_a_creation(hub, commits, command, reason):
    first, head = commits
    before = refs_of(hub, MODEL)
    command = command.format(zero=ZERO, first=first, head=head, unknown=UNKNOWN)
    ref = command.split(" ")[2]
    lines = report(receive_pack(hub, [command]))
    assert lines[0] == "unpack ok\n" and lines[-1] == "" and len(lines) == 3
    assert lines[1].startswith(f"ng {ref} {reason}"), lines[1]
    assert refs_of(hub, MODEL) == before


def test_receive_pack_refuses_a_pack_with_objects(hub, commits):
    before = refs_of(hub, MODEL)
    lines = report(receive_pack(hub, [f"{ZERO} {commits[1]} refs/heads/dev"], pack=OBJECTS_PACK))
    assert lines == [f"unpack {NO_OBJECTS}\n", f"ng refs/heads/dev unpack failed: {NO_OBJECTS}\n", ""]
    assert refs_of(hub, MODEL) == before


def test_malformed_receive_pack_body_is_a_plain_400(hub, commits):
    response = requests.post(
        f"{hub.url}/{MODEL}.git/git-receive-pack",
        data=b"00zzjunk",
        headers={"Content-Type": "application/x-git-receive-pack-request"},
        auth=("oauth2", git_token(hub)),
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert "bad pkt-line length" in response.text


def test_fetch_and_dumb_protocol_are_refused_in_plain_text(hub, commits):
    fetch = requests.post(f"{hub.url}/{MODEL}.git/git-upload-pack", data=b"0000", timeout=TIMEOUT)
    assert fetch.status_code == 403 and fetch.headers["content-type"].startswith("text/plain")
    assert "ref updates only" in fetch.text and "HTTP API" in fetch.text
    dumb = requests.get(f"{hub.url}/{MODEL}.git/info/refs", timeout=TIMEOUT)
    assert dumb.status_code == 404 and dumb.headers["content-type"].startswith("text/plain")


# -- auth ------------------------------------------------------------------------------------------
def test_receive_pack_auth(hub, commits):
    writer = HubWriter(hub)
    writer.create(PRIVATE, visibility=1)
    advert = f"{hub.url}/{MODEL}.git/info/refs?service=git-receive-pack"
    bob = git_token(hub, "bob")
    answers = []

    def get(url: str, auth: tuple[str, str] | None) -> requests.Response:
        answers.append(requests.get(url, auth=auth, timeout=TIMEOUT))
        return answers[-1]

    for response in (get(advert, None), get(advert, ("oauth2", TOKENS["alice"]))):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic ")
        assert response.headers["content-type"].startswith("text/plain")
    assert get(advert, ("oauth2", bob)).status_code == 403
    assert get(advert.replace(MODEL, PRIVATE), ("oauth2", bob)).status_code == 404
    assert get(advert, ("anything", git_token(hub))).status_code == 200  # any user name will do

    command = [f"{ZERO} {commits[1]} refs/heads/dev"]
    answers += [receive_pack(hub, command, password=TOKENS["alice"]), receive_pack(hub, command, password=bob)]
    assert [r.status_code for r in answers[-2:]] == [401, 403]
    anonymous = requests.post(f"{hub.url}/{MODEL}.git/git-receive-pack", data=b"0000", timeout=TIMEOUT)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Basic ")
    assert "refs/heads/dev" not in refs_of(hub, MODEL)

    secrets = [*TOKENS.values(), git_token(hub), bob]
    for response in [*answers, anonymous]:
        assert not any(s in response.text or s in str(response.headers) for s in secrets)


def test_upload_pack_advertisement_auth(hub, commits):
    HubWriter(hub).create(PRIVATE, visibility=1)
    url = f"{hub.url}/{{}}.git/info/refs?service=git-upload-pack"
    public = requests.get(url.format(MODEL), timeout=TIMEOUT)
    assert public.status_code == 200
    assert public.headers["content-type"] == "application/x-git-upload-pack-advertisement"
    assert requests.get(url.format(MODEL), auth=("oauth2", "wrong"), timeout=TIMEOUT).status_code == 401
    private = requests.get(url.format(PRIVATE), timeout=TIMEOUT)
    assert private.status_code == 401 and private.headers["www-authenticate"].startswith("Basic ")
    bob = requests.get(url.format(PRIVATE), auth=("oauth2", git_token(hub, "bob")), timeout=TIMEOUT)
    assert bob.status_code == 404
    alice = requests.get(url.format(PRIVATE), auth=("oauth2", git_token(hub)), timeout=TIMEOUT)
    assert alice.status_code == 200


# -- the real git push -----------------------------------------------------------------------------
def test_real_git_push_of_objects_fails_with_the_hub_reason(hub, commits, git_env, tmp_path):
    work = tmp_path / "work"
    assert git(git_env, "init", "-q", "-b", "main", str(work)).returncode == 0
    (work / "file.txt").write_text("new content\n")
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    assert git(git_env, "add", "file.txt", cwd=work).returncode == 0
    assert git(git_env, *ident, "commit", "-q", "-m", "local", cwd=work).returncode == 0

    token = git_token(hub)
    result = git(git_env, "push", git_url(hub, MODEL, token), "HEAD:refs/heads/x", cwd=work)
    assert result.returncode != 0
    assert "local_hub stores no git objects" in result.stderr, result.stderr
    assert "refs/heads/x" not in refs_of(hub, MODEL)
    assert token not in result.stderr + result.stdout
