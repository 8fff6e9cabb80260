"""The seed's signatures and documented behaviours hold: `use_cookies`, "ValueError if not login",
`commit_message=None`, `license=None` for an existing repo, and `cutoff_timestamp`.

Each test talks to local_hub over HTTP; refusals are checked to happen before any request.
"""

from __future__ import annotations

import pytest

from hub_tasks import (
    HubClient,
    InvalidParameter,
    ModelScopeCredentials,
    NotLoginError,
    get_model_branches_and_tags,
    get_model_files,
    list_model_revisions,
)
from tests.helpers.clients import make_client
from tests.helpers.folders import model_dir


@pytest.fixture
def demo(hub, tmp_path) -> HubClient:
    """alice's client, with alice/demo published and tagged v1."""
    client = make_client(hub)
    client.push_model("alice/demo", model_dir(tmp_path / "demo"), tag="v1", hash_cache=None)
    yield client
    client.close()


def test_use_cookies_is_accepted_where_the_seed_has_it_and_changes_nothing(demo: HubClient, hub) -> None:
    # Positional, in the seed's order.
    assert demo.list_model_revisions("alice/demo", None, True) == demo.list_model_revisions("alice/demo") == ["v1"]
    assert demo.get_model_branches_and_tags("alice/demo", True) == (["master"], ["v1"])
    with_cookies = demo.get_model_files("alice/demo", None, None, False, True)
    assert [f.path for f in with_cookies] == [f.path for f in demo.get_model_files("alice/demo")]
    block = ModelScopeCredentials(token=hub.tokens["alice"], endpoint=hub.url)
    assert list_model_revisions.fn("alice/demo", None, True, modelscope_credentials=block) == ["v1"]
    assert get_model_branches_and_tags.fn("alice/demo", True, modelscope_credentials=block) == (["master"], ["v1"])
    assert get_model_files.fn("alice/demo", use_cookies=True, modelscope_credentials=block)


def test_not_logged_in_is_a_value_error_as_the_seed_documents(hub) -> None:
    with make_client(hub, user=None) as anonymous, pytest.raises(ValueError) as info:
        anonymous.create_model("alice/new")
    assert isinstance(info.value, NotLoginError)


@pytest.mark.parametrize("message", [None, ""])
def test_an_empty_commit_message_means_the_default(demo: HubClient, tmp_path, message: str | None) -> None:
    folder = model_dir(tmp_path / "v2", {"README.md": "# v2\n"})
    result = demo.push_model("alice/demo", folder, commit_message=message, hash_cache=None)
    assert result.commit_id
    assert demo.list_commits("alice/demo", "master")[0].title == "upload model"


def test_license_none_publishes_to_an_existing_repo(demo: HubClient, tmp_path) -> None:
    folder = model_dir(tmp_path / "v2", {"README.md": "# v2\n"})
    result = demo.push_model("alice/demo", folder, license=None, hash_cache=None)
    assert result.commit_id and not result.created_repo


def test_license_none_for_a_new_repo_is_refused_before_any_write(hub, tmp_path) -> None:
    hub.control.reset()
    with make_client(hub) as client, pytest.raises(InvalidParameter, match="needs a license"):
        client.push_model("alice/fresh", model_dir(tmp_path / "fresh"), license=None, hash_cache=None)
    requests = hub.control.stats()["requests"]
    assert not {"create_model", "lfs_batch", "commit"} & set(requests), requests


@pytest.mark.parametrize("cutoff", ["1700000000", 1.5, True, -1])
def test_a_cutoff_that_is_not_whole_epoch_seconds_is_refused_before_any_request(hub, cutoff: object) -> None:
    hub.control.reset()
    with make_client(hub) as client, pytest.raises(InvalidParameter, match="cutoff_timestamp"):
        client.list_model_revisions("alice/demo", cutoff)  # type: ignore[arg-type]
    assert hub.control.requests() == 0


def test_no_cutoff_shows_a_tag_just_made_on_a_hub_whose_clock_runs_ahead(demo: HubClient, hub) -> None:
    hub.control.configure(clock_offset_seconds=3600)
    try:
        demo.create_tag("alice/demo", "v2")
        assert demo.list_model_revisions("alice/demo") == ["v2", "v1"]
    finally:
        hub.control.configure(clock_offset_seconds=0)
    # An explicit cutoff from this machine's clock still filters by the hub's CreatedAt, as the seed says.
    created = {t.name: t.created_at for t in demo.list_model_revisions_detail("alice/demo")}
    assert demo.list_model_revisions("alice/demo", int(created["v2"].timestamp()) - 1) == ["v1"]
