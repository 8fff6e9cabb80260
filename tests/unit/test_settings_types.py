"""HubSettings from the environment, result types parsed from wire dicts, and the input validators."""

from __future__ import annotations

from datetime import datetime, timezone

import pydantic
import pytest

from hub_tasks.errors import InvalidParameter
from hub_tasks.settings import DEFAULT_ENDPOINT, HubSettings, endpoint_from_env, normalize_endpoint
from hub_tasks.types import Commit, LoginResult, ModelInfo, ModelPage, RepoFile, Revision, parse_time
from hub_tasks.validation import (
    validate_model_id,
    validate_owner,
    validate_page,
    validate_ref,
    validate_tag,
    validate_visibility,
)

TOKEN = "ms-env-token-7e3a9c-SECRET"
ENV = [
    "MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN", "MODELSCOPE_API_TOKEN", "MODELSCOPE_API_TIMEOUT",
    "MODELSCOPE_API_CONNECT_TIMEOUT", "MODELSCOPE_RETRY_ATTEMPTS", "MODELSCOPE_RETRY_BACKOFF_SECONDS",
    "MODELSCOPE_RETRY_AFTER_MAX_SECONDS", "MODELSCOPE_UPLOAD_MAX_CONCURRENT_WORKERS", "MODELSCOPE_LIST_MAX_OFFSET",
    "MODELSCOPE_TREE_LIMIT",
]  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


# -- settings ------------------------------------------------------------------------------------
def test_defaults() -> None:
    settings = HubSettings()
    assert settings.endpoint == DEFAULT_ENDPOINT == "https://www.modelscope.cn"
    assert settings.token is None
    assert (settings.connect_timeout, settings.read_timeout, settings.retry_attempts) == (10.0, 60.0, 4)
    assert (settings.list_max_offset, settings.tree_limit) == (10_000, 3000)


def test_endpoint_beats_domain_beats_default(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MODELSCOPE_DOMAIN", "hub.example.com")
    assert HubSettings().endpoint == "https://hub.example.com"  # the scheme is added
    clean_env.setenv("MODELSCOPE_DOMAIN", "http://127.0.0.1:8000/")
    assert HubSettings().endpoint == "http://127.0.0.1:8000"  # kept, trailing slash dropped
    clean_env.setenv("MODELSCOPE_ENDPOINT", "http://10.0.0.1:9000/")
    assert HubSettings().endpoint == "http://10.0.0.1:9000"
    assert endpoint_from_env() == "http://10.0.0.1:9000/"
    assert HubSettings(endpoint="https://explicit.example").endpoint == "https://explicit.example"


def test_empty_variables_count_as_unset(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MODELSCOPE_ENDPOINT", "")
    clean_env.setenv("MODELSCOPE_DOMAIN", "hub.example.com")
    clean_env.setenv("MODELSCOPE_API_TOKEN", "")
    settings = HubSettings()
    assert settings.endpoint == "https://hub.example.com"
    assert settings.token is None


def test_an_endpoint_without_a_scheme_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MODELSCOPE_ENDPOINT", "hub.example.com")
    with pytest.raises(pydantic.ValidationError, match="http"):
        HubSettings()
    with pytest.raises(ValueError, match="http"):
        normalize_endpoint("ftp://x")
    assert normalize_endpoint("  HTTPS://Hub.Example/// ") == "HTTPS://Hub.Example"


def test_token_from_the_environment_stays_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MODELSCOPE_API_TOKEN", TOKEN)
    settings = HubSettings()
    assert settings.token is not None and settings.token.get_secret_value() == TOKEN
    for text in (repr(settings), str(settings), str(settings.model_dump()), settings.model_dump_json()):
        assert TOKEN not in text


def test_knobs_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    knobs = {
        "MODELSCOPE_API_TIMEOUT": "7.5", "MODELSCOPE_API_CONNECT_TIMEOUT": "2", "MODELSCOPE_RETRY_ATTEMPTS": "6",
        "MODELSCOPE_RETRY_BACKOFF_SECONDS": "0.25", "MODELSCOPE_RETRY_AFTER_MAX_SECONDS": "12",
        "MODELSCOPE_UPLOAD_MAX_CONCURRENT_WORKERS": "3", "MODELSCOPE_LIST_MAX_OFFSET": "500",
        "MODELSCOPE_TREE_LIMIT": "20",
    }  # fmt: skip
    for var, value in knobs.items():
        clean_env.setenv(var, value)
    s = HubSettings()
    assert (s.read_timeout, s.connect_timeout, s.retry_attempts, s.retry_backoff_seconds) == (7.5, 2.0, 6, 0.25)
    assert (s.retry_after_max_seconds, s.upload_max_workers, s.list_max_offset, s.tree_limit) == (12.0, 3, 500, 20)
    assert HubSettings(read_timeout=1, retry_attempts=2).read_timeout == 1.0  # arguments beat the environment


@pytest.mark.parametrize(
    ("var", "value"),
    [("MODELSCOPE_RETRY_ATTEMPTS", "0"), ("MODELSCOPE_API_TIMEOUT", "0"), ("MODELSCOPE_API_TIMEOUT", "soon"),
     ("MODELSCOPE_TREE_LIMIT", "0"), ("MODELSCOPE_UPLOAD_MAX_CONCURRENT_WORKERS", "65")],
)  # fmt: skip
def test_bad_knobs_are_refused(clean_env: pytest.MonkeyPatch, var: str, value: str) -> None:
    clean_env.setenv(var, value)
    with pytest.raises(pydantic.ValidationError):
        HubSettings()


def test_worst_case_call_seconds() -> None:
    s = HubSettings(retry_attempts=3, connect_timeout=1, read_timeout=2, retry_max_total_wait_seconds=4)
    assert s.worst_case_call_seconds() == 3 * (1 + 2) + 4


# -- types ---------------------------------------------------------------------------------------
def test_parse_time() -> None:
    expected = datetime(2024, 5, 29, 16, 26, 40, tzinfo=timezone.utc)
    for value in (1717000000, 1717000000.0, "1717000000", 1717000000000, "2024-05-29T16:26:40Z",
                  "2024-05-29T16:26:40+00:00", "2024-05-29T16:26:40", datetime(2024, 5, 29, 16, 26, 40)):  # fmt: skip
        assert parse_time(value) == expected, value
    assert parse_time("2024-05-29T18:26:40+02:00") == expected
    for empty in (None, "", 0, [1]):
        assert parse_time(empty) is None


def test_model_info_from_the_legacy_envelope() -> None:
    data = {
        "Id": 7, "Name": "demo", "Path": "alice", "Owner": "alice", "ChineseName": "Demo", "Visibility": 3,
        "License": "MIT", "Description": "d", "OriginalModelId": "x/y", "Downloads": 4, "Stars": 2,
        "CreatedTime": 1717000000, "LastUpdatedTime": 1717000060, "SomethingNew": {"ignored": True},
    }  # fmt: skip
    info = ModelInfo.from_legacy(data)
    assert (info.model_id, info.owner, info.name, info.visibility, info.private) == ("alice/demo", "alice", "demo", 3,
                                                                                     True)  # fmt: skip
    assert (info.license, info.display_name, info.description, info.original_model_id) == ("MIT", "Demo", "d", "x/y")
    assert (info.downloads, info.likes) == (4, 2)
    assert info.created_at == datetime(2024, 5, 29, 16, 26, 40, tzinfo=timezone.utc)
    assert info.last_modified is not None and info.file_size is None
    public = ModelInfo.from_legacy({"Path": "a", "Name": "b", "Visibility": 5})
    assert (public.visibility, public.private, public.created_at) == (5, False, None)
    assert ModelInfo.from_legacy({"Path": "a", "Name": "b"}).visibility is None


def test_model_info_from_the_openapi_listing() -> None:
    wire = {"id": "alice/demo", "private": False, "license": "MIT", "downloads": 3, "gated": False}
    public = ModelInfo.from_openapi({**wire, "created_at": "2024-05-29T16:26:40Z", "file_size": 12})
    assert (public.owner, public.name, public.visibility, public.private, public.file_size) == (
        "alice", "demo", 5, False, 12)  # fmt: skip
    private = ModelInfo.from_openapi({"id": "team/x", "private": True})
    assert (private.visibility, private.private) == (None, True)  # private or internal: the listing cannot tell


def test_results_are_frozen_and_ignore_unknown_fields() -> None:
    page = ModelPage(models=[], total_count=0, page_number=1, page_size=10, unknown="x")
    with pytest.raises(pydantic.ValidationError):
        page.total_count = 3  # type: ignore[misc]
    login = LoginResult(username="alice", AccessToken="git-secret")
    assert "git-secret" not in repr(login) and "git-secret" not in login.model_dump_json()


def test_revision_repo_file_and_commit_from_wire_dicts() -> None:
    tag = Revision.model_validate({"Revision": "v1", "CreatedAt": 1717000000, "kind": "tag", "Extra": 1})
    assert (tag.name, tag.kind, tag.commit_id) == ("v1", "tag", None)
    assert tag.created_at == datetime(2024, 5, 29, 16, 26, 40, tzinfo=timezone.utc)
    assert Revision(name="dev").kind == "branch"
    wire = {"Path": "d/a.bin", "Name": "a.bin", "Type": "blob", "Size": 5, "Sha256": "ab" * 32, "IsLFS": True,
            "Revision": "c" * 40, "CommittedDate": 1717000000, "CommitMessage": "m", "Mode": "33188"}  # fmt: skip
    f = RepoFile.model_validate(wire)
    assert (f.path, f.name, f.size, f.is_lfs, f.last_commit_id, f.is_file) == ("d/a.bin", "a.bin", 5, True, "c" * 40,
                                                                               True)  # fmt: skip
    assert not RepoFile.model_validate({"Path": "d", "Type": "tree"}).is_file
    wire = {"Id": "c" * 40, "ShortId": "cccccccc", "Title": "t", "Message": "t\n\nb", "AuthorName": "alice"}
    c = Commit.model_validate({**wire, "CommittedDate": "2024-05-29T16:26:40Z", "Parent": "x"})
    assert (c.id, c.title, c.author_name, c.committed_date.year) == ("c" * 40, "t", "alice", 2024)


# -- validators ----------------------------------------------------------------------------------
@pytest.mark.parametrize("good", ["alice/demo", "A_b.c-d/Model-1.0", "team/x", "a/.hidden", "a/b..c"])
def test_valid_model_ids(good: str) -> None:
    owner, name = validate_model_id(good)
    assert f"{owner}/{name}" == good


@pytest.mark.parametrize(
    "bad",
    ["alice", "alice/", "/demo", "a/b/c", "alice/de mo", "alice/demo\n", "al ice/demo", "alice/dém", "\u0430lice/x",
     "alice/..", "./x", "alice/de:mo", "", None, 42, ("a", "b")],
)  # fmt: skip
def test_invalid_model_ids(bad: object) -> None:
    with pytest.raises(InvalidParameter, match="model id"):
        validate_model_id(bad, "op")


@pytest.mark.parametrize("good", ["master", "main", "v1.0", "release/2024-05", "feature_x", "a" * 200, "v1.0-rc.1"])
def test_valid_refs(good: str) -> None:
    assert validate_ref(good) == good


@pytest.mark.parametrize(
    "bad",
    ["", " ", "v 1", "v\t1", "v1\n", "v\u00a01", "a..b", "..", "a//b", "/a", "a/", ".a", "a.", "-a", "a.lock", "a~1",
     "a^", "a:b", "a?", "a*", "a[", "a\\b", "a@{1}", "a\x00", None, 1],
)  # fmt: skip
def test_invalid_refs(bad: object) -> None:
    with pytest.raises(InvalidParameter, match="revision"):
        validate_ref(bad)


@pytest.mark.parametrize("reserved", ["main", "master", "Main", "MASTER"])
def test_tags_may_not_be_branch_names(reserved: str) -> None:
    with pytest.raises(InvalidParameter, match="reserved"):
        validate_tag(reserved, "create_tag")
    assert validate_tag("v1.0") == "v1.0"
    with pytest.raises(InvalidParameter, match="tag"):
        validate_tag("v..1")


def test_visibility() -> None:
    assert [validate_visibility(v) for v in (1, 3, 5)] == [1, 3, 5]
    for bad in (0, 2, 4, 6, -1, "5", None, True, False):
        with pytest.raises(InvalidParameter, match="visibility"):
            validate_visibility(bad)


def test_page() -> None:
    assert validate_page(1, 1) == (1, 1)
    assert validate_page(7, 100) == (7, 100)
    for number, size in ((0, 10), (-1, 10), (1, 0), (1, 101), (1.0, 10), (1, 10.0), (True, 10), (1, True),
                         ("1", 10), (None, 10)):  # fmt: skip
        with pytest.raises(InvalidParameter, match="page"):
            validate_page(number, size)


def test_owner() -> None:
    assert validate_owner("team") == "team"
    for bad in ("", "a/b", "a b", "..", None):
        with pytest.raises(InvalidParameter, match="owner"):
            validate_owner(bad)


def test_validation_errors_name_the_operation() -> None:
    with pytest.raises(InvalidParameter) as info:
        validate_model_id("nope", "create_model")
    assert info.value.operation == "create_model" and str(info.value).startswith("create_model: ")
