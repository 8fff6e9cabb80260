"""`create_branch`: one ref update over git smart HTTP, checked against git's own server and local_hub."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub_tasks import AlreadyExistsError, HubClient, HubSettings, InvalidParameter, NotLoginError
from hub_tasks.errors import HubError
from tests.helpers.clients import FAST, make_client, push
from tests.helpers.folders import make_folder
from tests.helpers.git_backend import git, git_http_backend

GIT_TOKEN = "git-tok-7c1e5b9a-SECRET"
MODEL = "alice/served"


@pytest.fixture
def server(tmp_path: Path):
    with git_http_backend(tmp_path, GIT_TOKEN) as running:
        yield running


def git_client(url: str, git_token: str = GIT_TOKEN) -> HubClient:
    """A client whose git token is already known (as after login), pointed at git's own server."""
    client = HubClient(token="sdk-token-unused", settings=HubSettings(endpoint=url, **FAST))
    client.git_token = SecretStr(git_token)
    return client


def test_creates_the_branch_in_gits_own_server(server, caplog: pytest.LogCaptureFixture) -> None:
    head = server.bare_repo(MODEL, {"README.md": "hi\n"})
    caplog.set_level(logging.DEBUG)
    with git_client(server.url) as client:
        assert client.create_branch(MODEL, "dev") == head
        assert client.create_branch(MODEL, "release/1.x", from_revision="dev") == head
        assert client.create_branch(MODEL, "dev", exist_ok=True) == head
        with pytest.raises(AlreadyExistsError, match="already exists"):
            client.create_branch(MODEL, "dev")
        assert GIT_TOKEN not in repr(client)
    refs = server.refs(MODEL)
    assert refs["refs/heads/dev"] == refs["refs/heads/release/1.x"] == refs["refs/heads/master"] == head
    # git's receive-pack accepted exactly two updates, one POST each.
    assert server.requests["POST git-receive-pack"] == 2
    assert GIT_TOKEN not in caplog.text


def test_from_a_tag_and_from_a_head_commit_id(server) -> None:
    head = server.bare_repo(MODEL, {"a.txt": "a"})
    git("tag", "v1", cwd=server.root / f"{MODEL}.git", home=server.home)
    git("tag", "-a", "v2", "-m", "annotated", cwd=server.root / f"{MODEL}.git", home=server.home)
    with git_client(server.url) as client:
        assert client.create_branch(MODEL, "from-tag", from_revision="v1") == head
        assert client.create_branch(MODEL, "from-annotated", from_revision="v2") == head  # peeled
        assert client.create_branch(MODEL, "from-id", from_revision=head) == head
    assert {server.refs(MODEL)[f"refs/heads/{b}"] for b in ("from-tag", "from-annotated", "from-id")} == {head}


@pytest.mark.parametrize(
    ("branch", "from_revision", "match", "requests"),
    [
        ("a..b", "master", "check-ref-format", 0),
        ("feature/.hidden", "master", "check-ref-format", 0),
        ("x.lock", "master", "check-ref-format", 0),
        ("HEAD", "master", "read as something else", 0),
        ("refs/heads/x", "master", "read as something else", 0),
        ("dev", "a b", "not a valid name", 0),
        ("v1", "master", "name of an existing tag", 1),
        ("dev", "nope", "'nope' does not exist", 1),
        ("dev", "f" * 40, "does not exist", 1),
    ],
)
def test_bad_input_is_refused_before_any_write(server, branch, from_revision, match, requests) -> None:
    server.bare_repo(MODEL, {"a.txt": "a"})
    git("tag", "v1", cwd=server.root / f"{MODEL}.git", home=server.home)
    before = server.refs(MODEL)
    with git_client(server.url) as client, pytest.raises(InvalidParameter, match=match):
        client.create_branch(MODEL, branch, from_revision=from_revision)
    assert server.refs(MODEL) == before
    assert server.requests["POST git-receive-pack"] == 0
    # Reads only: the advertisement (after git's 401 challenge and the authenticated retry: one GET here).
    assert sum(n for key, n in server.requests.items() if key.startswith("GET")) == requests


def test_a_wrong_git_token_is_refused_and_never_shown(server) -> None:
    server.bare_repo(MODEL, {"a.txt": "a"})
    wrong = "git-wrong-0d9e8f-SECRET"
    with git_client(server.url, wrong) as client, pytest.raises(HubError) as caught:
        client.create_branch(MODEL, "dev")
    assert isinstance(caught.value, NotLoginError)
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    assert "refs/heads/dev" not in server.refs(MODEL)


def test_against_local_hub_login_supplies_the_git_token(hub, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with make_client(hub) as client:
        push(client, "alice/branchy", make_folder(tmp_path, {"a.txt": "a"}), None)
        head = client.resolve_ref("alice/branchy", "master")
        assert client.git_token is None  # not logged in yet: create_branch does it
        assert client.create_branch("alice/branchy", "dev") == head
        assert client.git_token is not None
        refs = {r.name: r.commit_id for r in client.get_model_refs("alice/branchy")}
        git_token = client.git_token.get_secret_value()
    assert refs == {"master": head, "dev": head}
    assert git_token not in caplog.text and hub.tokens["alice"] not in caplog.text
    assert hub.control.requests("git_receive_pack") == 1


def test_an_empty_repo_has_nothing_to_branch_from(hub) -> None:
    hub.control.configure(gitattributes="off")
    with make_client(hub) as client:
        client.create_model("alice/empty", visibility=5)
        with pytest.raises(InvalidParameter, match="no commits yet; publish to master first"):
            client.create_branch("alice/empty", "dev")
    assert hub.control.requests("git_receive_pack") == 0


def test_someone_elses_repo_is_refused(hub, tmp_path: Path) -> None:
    with make_client(hub) as alice:
        push(alice, "alice/mine", make_folder(tmp_path, {"a.txt": "a"}), None)
    with make_client(hub, "bob") as bob, pytest.raises(HubError) as caught:
        bob.create_branch("alice/mine", "dev")
    assert caught.value.status_code == 403
    with make_client(hub) as alice:
        assert [b for b in alice.get_model_branches_and_tags("alice/mine")[0]] == ["master"]
