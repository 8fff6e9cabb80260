"""HubClient against local_hub over HTTP: every operation's success path, each typed error it raises,
validation before any request, pagination and its limits, revisions, tags and file listings."""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hub_tasks import (
    AlreadyExistsError,
    HubClient,
    HubSettings,
    InvalidParameter,
    ListingLimitError,
    NotExistError,
    NotLoginError,
    PermissionDeniedError,
    Revision,
)
from tests.helpers.clients import FAST, make_client
from tests.helpers.hub_http import commit_files, create_models
from tests.helpers.secret_scan import leak_guard, raises


@pytest.fixture(autouse=True)
def _no_token_leaks(hub: Any, caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    yield from leak_guard(hub, caplog)


@pytest.fixture
def alice(hub: Any) -> Iterator[HubClient]:
    with make_client(hub, "alice") as client:
        yield client


@pytest.fixture
def bob(hub: Any) -> Iterator[HubClient]:
    with make_client(hub, "bob") as client:
        yield client


@pytest.fixture
def anon(hub: Any) -> Iterator[HubClient]:
    with make_client(hub, None) as client:
        yield client


# -- construction, login, secrets in reprs ------------------------------------------------------
def test_client_settings_results_and_errors_never_show_the_token(hub: Any, alice: HubClient) -> None:
    token = hub.tokens["alice"]
    login = alice.login()
    alice.create_model("alice/shown", visibility=1)
    info = alice.get_model("alice/shown")
    with raises(NotExistError) as err:
        alice.get_model("alice/missing")
    git = alice.git_token.get_secret_value() if alice.git_token else "no-git-token"
    shown = [
        repr(alice), str(alice), repr(alice.settings), str(alice.settings), str(alice.settings.model_dump()),
        alice.settings.model_dump_json(), repr(alice.token), repr(login), str(login), login.model_dump_json(),
        repr(info), str(info), str(err.value), repr(err.value), str(pickle.loads(pickle.dumps(err.value))),
    ]  # fmt: skip
    for text in shown:
        assert token not in text
        assert git not in text
    assert "***" in repr(alice)


def test_bad_endpoint_is_rejected_before_any_request(hub: Any) -> None:
    with raises(InvalidParameter, match="http"):
        HubClient(endpoint="ftp://example.com", token=hub.tokens["alice"], settings=HubSettings(endpoint=hub.url))
    with HubClient(endpoint=f"{hub.url}//", settings=HubSettings(endpoint="https://elsewhere.example")) as client:
        assert client.endpoint == hub.url  # the argument wins over the settings, normalised
    assert hub.control.requests() == 0


def test_login_reports_the_user_and_keeps_the_git_token_secret(hub: Any, anon: HubClient) -> None:
    result = anon.login(hub.tokens["carol"])
    assert (result.username, result.email, result.git_token_issued) == ("carol", "carol@example.com", True)
    assert anon.git_token is not None and anon.git_token.get_secret_value().startswith("git-")
    assert set(result.model_dump()) == {"username", "email", "git_token_issued"}
    assert anon.token is not None and anon.token.get_secret_value() == hub.tokens["carol"]


def test_login_with_an_unknown_token_is_not_login(hub: Any) -> None:
    with make_client(hub, None) as client, raises(NotLoginError) as err:
        client.login("ms-nobody-0000000000")
    assert err.value.status_code == 400 and err.value.hub_code == 10010103009
    assert hub.control.requests("login") == 1


def test_a_token_the_hub_does_not_know_is_not_login_on_any_call(hub: Any) -> None:
    with HubClient(token="ms-forged-123456789", settings=HubSettings(endpoint=hub.url, **FAST)) as forged:
        with raises(NotLoginError) as err:
            forged.create_model("alice/forged")
        assert err.value.status_code == 401
        with raises(NotLoginError):
            forged.get_model("alice/forged")


# -- validation before any request --------------------------------------------------------------
BAD_INPUT: list[tuple[str, Callable[[HubClient], Any]]] = [
    ("id-without-slash", lambda c: c.get_model("alice")),
    ("id-two-slashes", lambda c: c.get_model("alice/x/y")),
    ("id-space", lambda c: c.get_model("alice/bad name")),
    ("id-empty-name", lambda c: c.get_model("alice/")),
    ("id-only-dots", lambda c: c.get_model("alice/..")),
    ("id-unicode-lookalike", lambda c: c.get_model("\u0430lice/x")),
    ("id-not-a-string", lambda c: c.get_model(None)),
    ("revision-empty", lambda c: c.get_model("alice/x", revision="")),
    ("revision-whitespace", lambda c: c.get_model("alice/x", revision="v 1")),
    ("revision-dotdot", lambda c: c.get_model("alice/x", revision="a..b")),
    ("files-revision-tab", lambda c: c.get_model_files("alice/x", revision="v\t1")),
    ("files-revision-empty", lambda c: c.get_model_files("alice/x", revision="")),
    ("commits-empty-ref", lambda c: c.list_commits("alice/x", ref="")),
    ("commits-page-size-0", lambda c: c.list_commits("alice/x", page_size=0)),
    ("commits-page-size-101", lambda c: c.list_commits("alice/x", page_size=101)),
    ("list-page-size-0", lambda c: c.list_models("alice", page_size=0)),
    ("list-page-size-101", lambda c: c.list_models("alice", page_size=101)),
    ("list-page-number-0", lambda c: c.list_models("alice", page_number=0)),
    ("list-page-size-bool", lambda c: c.list_models("alice", page_size=True)),
    ("list-bad-owner", lambda c: c.list_models("bad owner")),
    ("iter-page-size-101", lambda c: list(c.iter_models("alice", page_size=101))),
    ("create-visibility-2", lambda c: c.create_model("alice/x", visibility=2)),
    ("create-visibility-0", lambda c: c.create_model("alice/x", visibility=0)),
    ("create-visibility-str", lambda c: c.create_model("alice/x", visibility="5")),
    ("create-visibility-bool", lambda c: c.create_model("alice/x", visibility=True)),
    ("create-bad-id", lambda c: c.create_model("alice x")),
    ("create-empty-license", lambda c: c.create_model("alice/x", license="")),
    ("tag-main", lambda c: c.create_tag("alice/x", "main")),
    ("tag-master", lambda c: c.create_tag("alice/x", "master")),
    ("tag-MAIN", lambda c: c.create_tag("alice/x", "MAIN")),
    ("tag-empty", lambda c: c.create_tag("alice/x", "")),
    ("tag-space", lambda c: c.create_tag("alice/x", "v 1")),
    ("tag-dotdot", lambda c: c.create_tag("alice/x", "v1..2")),
    ("tag-newline", lambda c: c.create_tag("alice/x", "v1\n")),
    ("tag-bad-revision", lambda c: c.create_tag("alice/x", "v1", revision="a b")),
    ("delete-unconfirmed", lambda c: c.delete_model("alice/x")),
    ("delete-wrong-confirm", lambda c: c.delete_model("alice/x", confirm="alice/y")),
    ("resolve-dotdot", lambda c: c.resolve_ref("alice/x", "a..b")),
    ("revisions-bad-id", lambda c: c.list_model_revisions("alice")),
    ("branches-bad-id", lambda c: c.get_model_branches_and_tags("a/b/c")),
]


@pytest.mark.parametrize("call", [c for _, c in BAD_INPUT], ids=[i for i, _ in BAD_INPUT])
def test_bad_input_is_invalid_parameter_before_any_request(hub: Any, alice: HubClient, call: Callable) -> None:
    with raises(InvalidParameter) as err:
        call(alice)
    assert isinstance(err.value, ValueError)
    assert hub.control.requests() == 0


NEEDS_TOKEN: list[tuple[str, Callable[[HubClient], Any]]] = [
    ("login", lambda c: c.login()),
    ("create_model", lambda c: c.create_model("alice/x")),
    ("delete_model", lambda c: c.delete_model("alice/x", confirm="alice/x")),
    ("create_tag", lambda c: c.create_tag("alice/x", "v1")),
]


@pytest.mark.parametrize("call", [c for _, c in NEEDS_TOKEN], ids=[i for i, _ in NEEDS_TOKEN])
def test_operations_needing_a_token_raise_not_login_before_sending(hub: Any, anon: HubClient, call: Callable) -> None:
    with raises(NotLoginError, match="MODELSCOPE_API_TOKEN"):
        call(anon)
    assert hub.control.requests() == 0


def test_an_empty_token_counts_as_no_token(hub: Any) -> None:
    with HubClient(token="", settings=HubSettings(endpoint=hub.url, **FAST)) as client:
        with raises(NotLoginError, match="MODELSCOPE_API_TOKEN"):
            client.create_model("alice/x")
        with raises(NotLoginError, match="MODELSCOPE_API_TOKEN"):
            client.login()
    assert hub.control.requests() == 0


# -- models ---------------------------------------------------------------------------------------
def test_create_model_then_get_model(hub: Any, alice: HubClient) -> None:
    url = alice.create_model("alice/demo", visibility=1, license="MIT", chinese_name="Demo", original_model_id="x/y")
    assert url == f"{hub.url}/models/alice/demo"
    info = alice.get_model("alice/demo")
    assert (info.model_id, info.owner, info.name) == ("alice/demo", "alice", "demo")
    assert (info.visibility, info.private, info.license, info.display_name) == (1, True, "MIT", "Demo")
    assert info.original_model_id == "x/y"
    assert info.created_at is not None and abs(info.created_at.timestamp() - time.time()) < 60
    assert alice.model_exists("alice/demo") and not alice.model_exists("alice/other")
    assert hub.control.requests("create_model") == 1


def test_create_model_twice_is_already_exists(hub: Any, alice: HubClient) -> None:
    alice.create_model("alice/twice")
    with raises(AlreadyExistsError) as err:
        alice.create_model("alice/twice")
    assert err.value.status_code == 400 and err.value.hub_code == 10010101001
    assert err.value.model_id == "alice/twice" and err.value.request_id
    assert "create_model alice/twice" in str(err.value)


def test_group_members_may_create_under_the_group_others_may_not(hub: Any, alice: HubClient, bob: HubClient) -> None:
    alice.create_model("team/shared", visibility=1)
    with raises(PermissionDeniedError) as err:
        bob.create_model("team/bobs")
    assert err.value.status_code == 403
    with raises(PermissionDeniedError):
        bob.create_model("alice/bobs")


def test_visibility_decides_who_sees_a_model(hub: Any, alice: HubClient, bob: HubClient, anon: HubClient) -> None:
    alice.create_model("team/private", visibility=1)
    alice.create_model("alice/internal", visibility=3)
    alice.create_model("alice/public", visibility=5)
    with make_client(hub, "carol") as carol:
        assert carol.get_model("team/private").visibility == 1
    for client in (bob, anon):
        with raises(NotExistError) as err:
            client.get_model("team/private")
        assert err.value.status_code == 404
    assert bob.get_model("alice/internal").visibility == 3
    with raises(NotExistError):
        anon.get_model("alice/internal")
    assert anon.get_model("alice/public").private is False


def test_get_model_at_a_revision(hub: Any, alice: HubClient) -> None:
    alice.create_model("alice/revs")
    commit_files(hub, "alice/revs", {"a.txt": "a"})
    alice.create_tag("alice/revs", "v1")
    hub.control.create_branch("alice/revs", "dev")
    for revision in ("v1", "dev", "master", alice.resolve_ref("alice/revs")):
        assert alice.get_model("alice/revs", revision=revision).model_id == "alice/revs"
    with raises(NotExistError, match="v9"):
        alice.get_model("alice/revs", revision="v9")


def test_delete_model_requires_confirmation_and_deletes(hub: Any, alice: HubClient) -> None:
    alice.create_model("alice/doomed")
    with raises(InvalidParameter, match="confirm='alice/doomed'"):
        alice.delete_model("alice/doomed", confirm="alice/other")
    assert hub.control.requests("delete_model") == 0
    alice.delete_model("alice/doomed", confirm="alice/doomed")
    assert not alice.model_exists("alice/doomed")
    with raises(NotExistError):
        alice.delete_model("alice/doomed", confirm="alice/doomed")


def test_delete_someone_elses_model_is_denied(hub: Any, alice: HubClient, bob: HubClient) -> None:
    alice.create_model("alice/mine")
    with raises(PermissionDeniedError):
        bob.delete_model("alice/mine", confirm="alice/mine")
    assert alice.model_exists("alice/mine")


# -- listings -------------------------------------------------------------------------------------
def test_list_models_pages_and_hides_private_models_from_others(hub: Any, alice: HubClient, anon: HubClient) -> None:
    for i in range(5):
        alice.create_model(f"alice/m{i}", visibility=1 if i == 4 else 5)
    page = alice.list_models("alice", page_number=2, page_size=2)
    assert [m.model_id for m in page.models] == ["alice/m2", "alice/m3"]
    assert (page.total_count, page.page_number, page.page_size) == (5, 2, 2)
    assert page.models[0].visibility == 5 and page.models[0].created_at is not None
    assert alice.list_models("alice", page_number=3, page_size=2).models[0].private is True
    assert anon.list_models("alice", page_size=10).total_count == 4
    assert alice.list_models("alice", page_number=9, page_size=10).models == []
    assert alice.list_models("nobody").total_count == 0


def test_list_models_refuses_pages_past_the_offset_window_before_sending(hub: Any, alice: HubClient) -> None:
    with raises(ListingLimitError, match="10000"):
        alice.list_models("alice", page_number=101, page_size=100)
    assert hub.control.requests() == 0
    assert alice.list_models("alice", page_number=100, page_size=100).models == []
    assert hub.control.requests("list_models") == 1


def test_iter_models_walks_every_page(hub: Any, alice: HubClient) -> None:
    ids = [f"team/m{i:02d}" for i in range(23)]
    create_models(hub, ids)
    assert [m.model_id for m in alice.iter_models("team", page_size=10)] == ids
    assert hub.control.requests("list_models") == 3
    assert list(alice.iter_models("nobody")) == []


@pytest.fixture
def offset_window_30(hub: Any) -> Iterator[None]:
    hub.control.configure(max_list_offset=30)
    try:
        yield
    finally:
        hub.control.configure(max_list_offset=10_000)


def test_iter_models_within_the_offset_window(hub: Any, offset_window_30: None) -> None:
    with make_client(hub, "alice", list_max_offset=30) as client:
        create_models(hub, [f"alice/w{i:02d}" for i in range(30)])
        assert len(list(client.iter_models("alice", page_size=7))) == 30
        assert hub.control.requests("list_models") == 5


def test_iter_models_past_the_offset_window_is_a_listing_limit_error(hub: Any, offset_window_30: None) -> None:
    with make_client(hub, "alice", list_max_offset=30) as client:
        create_models(hub, [f"alice/w{i:02d}" for i in range(31)])
        with raises(ListingLimitError, match="31 models"):
            list(client.iter_models("alice", page_size=10))
        assert hub.control.requests("list_models") == 1


def test_iter_models_never_truncates_silently_when_the_hub_stops_early(hub: Any, offset_window_30: None) -> None:
    # The client believes the window is 10,000; the hub stops at 30, with 35 models.
    with make_client(hub, "alice") as client:
        create_models(hub, [f"alice/w{i:02d}" for i in range(35)])
        with raises(ListingLimitError, match="page 4"):
            list(client.iter_models("alice", page_size=10))


# -- revisions, commits, tags -----------------------------------------------------------------------
@pytest.fixture
def history(hub: Any, alice: HubClient) -> dict[str, str]:
    """alice/hist: c1 (tag v1, branch dev) <- c2 (master)."""
    alice.create_model("alice/hist")
    c1 = commit_files(hub, "alice/hist", {"a.txt": "one", "dir/b.txt": "bee"}, message="first\n\nbody")
    hub.control.create_branch("alice/hist", "dev", c1)
    alice.create_tag("alice/hist", "v1")
    c2 = commit_files(hub, "alice/hist", {"a.txt": "two", "dir/sub/c.bin": b"\x00\x01"}, message="second")
    hub.control.reset()  # zero the counters for the test itself
    return {"c1": c1, "c2": c2}


def test_branches_and_tags(alice: HubClient, history: dict[str, str]) -> None:
    assert alice.get_model_branches_and_tags("alice/hist") == (["master", "dev"], ["v1"])
    alice.create_tag("alice/hist", "v2")
    branches, tags = alice.get_model_branches_and_tags_details("alice/hist")
    assert [t.name for t in tags] == ["v2", "v1"] and {t.kind for t in tags} == {"tag"}
    assert {b.kind for b in branches} == {"branch"} and all(b.created_at for b in branches)


@pytest.mark.parametrize("listed", [True, False], ids=["commit-ids-listed", "commit-ids-resolved"])
def test_model_refs_carry_the_commit_each_points_at(
    hub: Any, alice: HubClient, history: dict[str, str], listed: bool
) -> None:
    """Whether or not the revision listing names commits (undocumented on the real hub), every ref
    gets the right one; the `commits` endpoint is only asked when the listing is silent."""
    hub.control.configure(revision_commit_ids=listed)
    try:
        refs = {r.name: (r.kind, r.commit_id) for r in alice.get_model_refs("alice/hist")}
    finally:
        hub.control.configure(revision_commit_ids=True)
    c1, c2 = history["c1"], history["c2"]
    assert refs == {"master": ("branch", c2), "dev": ("branch", c1), "v1": ("tag", c1)}
    assert hub.control.requests("revisions") == 1
    assert hub.control.requests("commits") == (0 if listed else 3)


@pytest.mark.parametrize("value", ["abc123", "", None, 42, "G" * 40])
def test_a_listed_commit_id_that_is_not_a_full_id_is_ignored(value: Any) -> None:
    assert Revision.model_validate({"Revision": "master", "CommitId": value}).commit_id is None
    assert Revision.model_validate({"Revision": "v1", "CommitId": "a" * 40}).commit_id == "a" * 40


def test_list_model_revisions_cutoff_none_means_now(hub: Any, alice: HubClient, history: dict[str, str]) -> None:
    alice.create_tag("alice/hist", "just-now")
    assert alice.list_model_revisions("alice/hist") == ["just-now", "v1"]
    detail = alice.list_model_revisions_detail("alice/hist")
    created = int(detail[0].created_at.timestamp())
    assert alice.list_model_revisions("alice/hist", cutoff_timestamp=created)[0] == "just-now"
    assert alice.list_model_revisions("alice/hist", cutoff_timestamp=created - 3600) == []
    with raises(NotExistError):
        alice.list_model_revisions("alice/nothing")


def test_list_commits_pages_newest_first(hub: Any, alice: HubClient, history: dict[str, str]) -> None:
    commits = alice.list_commits("alice/hist")
    assert [c.id for c in commits] == [history["c2"], history["c1"]]
    assert (commits[1].title, commits[1].message, commits[1].author_name) == ("first", "first\n\nbody", "alice")
    assert commits[0].short_id == history["c2"][:8] and commits[0].committed_date is not None
    assert [c.id for c in alice.list_commits("alice/hist", "master", page_number=2, page_size=1)] == [history["c1"]]
    assert [c.id for c in alice.list_commits("alice/hist", "v1")] == [history["c1"]]
    with raises(NotExistError):
        alice.list_commits("alice/hist", "nope")


def test_resolve_ref_for_branch_tag_and_commit(alice: HubClient, history: dict[str, str]) -> None:
    assert alice.resolve_ref("alice/hist") == history["c2"]
    assert alice.resolve_ref("alice/hist", "dev") == history["c1"]
    assert alice.resolve_ref("alice/hist", "v1") == history["c1"]
    assert alice.resolve_ref("alice/hist", history["c1"]) == history["c1"]
    with raises(NotExistError):
        alice.resolve_ref("alice/hist", "missing")
    assert alice.resolve_ref_or_none("alice/hist", "missing") is None


def test_resolve_ref_of_an_empty_repo_is_not_exist(alice: HubClient) -> None:
    alice.create_model("alice/empty")
    with raises(NotExistError, match="no commits"):
        alice.resolve_ref("alice/empty")
    assert alice.get_model_branches_and_tags("alice/empty") == ([], [])


def test_create_tag_at_a_branch_and_at_a_commit(hub: Any, alice: HubClient, history: dict[str, str]) -> None:
    assert alice.create_tag("alice/hist", "v2") == history["c2"]
    assert alice.create_tag("alice/hist", "dev-tag", revision="dev") == history["c1"]
    assert alice.create_tag("alice/hist", "pinned", revision=history["c1"]) == history["c1"]
    assert alice.resolve_ref("alice/hist", "dev-tag") == history["c1"]
    assert hub.control.requests("create_tag") == 3


def test_create_tag_again_at_the_same_commit_is_a_no_op(hub: Any, alice: HubClient, history: dict[str, str]) -> None:
    assert alice.create_tag("alice/hist", "v1", revision="dev") == history["c1"]
    assert alice.create_tag("alice/hist", "v1", revision=history["c1"]) == history["c1"]
    assert hub.control.requests("create_tag") == 0


def test_create_tag_pointing_elsewhere_fails_before_any_post(hub: Any, alice: HubClient, history: dict) -> None:
    with raises(AlreadyExistsError, match="never moved") as err:
        alice.create_tag("alice/hist", "v1")  # master is c2; v1 is c1
    assert err.value.model_id == "alice/hist"
    assert hub.control.requests("create_tag") == 0
    assert alice.resolve_ref("alice/hist", "v1") == history["c1"]


def test_create_tag_errors_from_the_hub(hub: Any, alice: HubClient, bob: HubClient, history: dict) -> None:
    with raises(NotExistError):
        alice.create_tag("alice/hist", "v3", revision="no-such-branch")
    with raises(NotExistError):
        alice.create_tag("alice/ghost", "v1")
    with raises(NotExistError):
        alice.create_tag("alice/hist", "v3", revision="f" * 40)
    with raises(PermissionDeniedError):
        bob.create_tag("alice/hist", "bobs")
    assert alice.get_model_branches_and_tags("alice/hist")[1] == ["v1"]


# -- files ----------------------------------------------------------------------------------------
def test_get_model_files_recursive_flat_root_and_by_tag(alice: HubClient, history: dict[str, str]) -> None:
    everything = alice.get_model_files("alice/hist", recursive=True)
    assert [(f.path, f.type) for f in everything] == [
        ("a.txt", "blob"), ("dir", "tree"), ("dir/b.txt", "blob"), ("dir/sub", "tree"), ("dir/sub/c.bin", "blob"),
    ]  # fmt: skip
    a = everything[0]
    assert (a.name, a.size, a.is_file, a.last_commit_id) == ("a.txt", 3, True, history["c2"])
    assert a.commit_message == "second"
    assert len(a.sha256) == 64 and a.committed_date is not None
    assert [f.path for f in alice.get_model_files("alice/hist")] == ["a.txt", "dir"]
    assert [f.path for f in alice.get_model_files("alice/hist", root="dir/")] == ["dir/b.txt", "dir/sub"]
    assert [f.path for f in alice.get_model_files("alice/hist", root="dir", recursive=True)] == [
        "dir/b.txt", "dir/sub", "dir/sub/c.bin",
    ]  # fmt: skip
    old = alice.get_model_files("alice/hist", revision="v1", recursive=True)
    assert [f.path for f in old if f.is_file] == ["a.txt", "dir/b.txt"]
    assert old[0].size == 3 and old[0].last_commit_id == history["c1"]


def test_get_model_files_errors_and_empty_repo(alice: HubClient, history: dict[str, str]) -> None:
    with raises(NotExistError):
        alice.get_model_files("alice/hist", root="nowhere")
    with raises(NotExistError):
        alice.get_model_files("alice/hist", revision="v9")
    with raises(NotExistError):
        alice.get_model_files("alice/ghost")
    alice.create_model("alice/empty")
    assert alice.get_model_files("alice/empty", recursive=True) == []


@pytest.fixture
def tree_limit_20(hub: Any) -> Iterator[HubClient]:
    hub.control.configure(tree_limit=20)
    try:
        with make_client(hub, "alice", tree_limit=20) as client:
            yield client
    finally:
        hub.control.configure(tree_limit=3000)


def test_get_model_files_walks_folders_past_the_truncation_limit(hub: Any, tree_limit_20: HubClient) -> None:
    client = tree_limit_20
    client.create_model("alice/wide")
    files = {f"d{i}/s{j}/f{k}.txt": f"{i}{j}{k}" for i in range(4) for j in range(3) for k in range(5)}
    files.update({"README.md": "readme", ".gitattributes": "*.bin filter=lfs\n"})
    commit_files(hub, "alice/wide", files)
    hub.control.reset()
    listing = client.get_model_files("alice/wide", recursive=True)
    assert sorted(f.path for f in listing if f.is_file) == sorted(files)  # 62 files, none hidden
    assert len([f for f in listing if not f.is_file]) == 4 + 12
    assert [f.path for f in listing] == sorted(f.path for f in listing)
    assert len({f.path for f in listing}) == len(listing)
    assert hub.control.requests("repo_files") == 1 + 1 + 4 + 12  # the truncated try, then one per folder


def test_a_folder_over_the_limit_is_a_listing_limit_error(hub: Any, tree_limit_20: HubClient) -> None:
    client = tree_limit_20
    client.create_model("alice/big")
    commit_files(hub, "alice/big", {f"big/f{i:02d}": "x" for i in range(25)} | {"small/a": "a"})
    with raises(ListingLimitError, match="big"):
        client.get_model_files("alice/big", root="big")
    with raises(ListingLimitError, match="big"):
        client.get_model_files("alice/big", recursive=True)
    assert [f.path for f in client.get_model_files("alice/big", root="small", recursive=True)] == ["small/a"]
