"""Step 1 of a publish: every refusal of an argument or a folder happens before a single request is sent."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub_tasks import HubClient, InvalidParameter, NotLoginError
from tests.helpers.clients import make_client, push
from tests.helpers.folders import CONFIG, make_folder, manifest, model_folder, remote
from tests.helpers.hub import RunningHub
from tests.helpers.permissions import bound_by_permissions


@pytest.fixture
def alice(hub: RunningHub) -> Any:
    with make_client(hub) as client:
        yield client


def refused(hub: RunningHub, call: Callable[[], Any], match: str, error: type[Exception] = InvalidParameter) -> str:
    """Run `call`, expect `error` matching `match`, and check the hub saw no request at all."""
    with pytest.raises(error, match=match) as info:
        call()
    assert hub.control.requests() == 0, hub.control.stats()["requests"]
    return str(info.value)


# -- the folder ----------------------------------------------------------------------------------
def test_missing_folder(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    refused(hub, lambda: push(alice, "alice/m", tmp_path / "nope", None), "does not exist")


def test_a_file_instead_of_a_folder(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"weights")
    refused(hub, lambda: push(alice, "alice/m", file, None), "is a file, not a folder")


def test_no_configuration_json(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "model", {"README.md": "x"}, config=None)
    message = refused(hub, lambda: push(alice, "alice/m", folder, None), "configuration.json is missing")
    assert "framework" in message  # it shows what to write
    assert not (folder / "configuration.json").exists()  # and never writes one itself


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b'["framework", "pytorch"]', "must hold a JSON object, not list"),
        (b'"pytorch"', "must hold a JSON object, not str"),
        (b"null", "must hold a JSON object"),
    ],
)
def test_configuration_json_must_be_a_json_object(
    hub: RunningHub, alice: HubClient, tmp_path: Path, content: bytes, match: str
) -> None:
    folder = make_folder(tmp_path / "model", config=content)
    refused(hub, lambda: push(alice, "alice/m", folder, None), match)


def test_configuration_json_that_is_a_folder(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "model", config=None)
    (folder / "configuration.json").mkdir()
    refused(hub, lambda: push(alice, "alice/m", folder, None), "configuration.json is missing")


# -- the arguments -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model_id", ["noslash", "a/b/c", "al ice/x", "alice/", "/x", "alice/..", "alice/naïve", "alice/x\n", 42, None]
)
def test_bad_model_id(hub: RunningHub, alice: HubClient, tmp_path: Path, model_id: Any) -> None:
    folder = model_folder(tmp_path / "model", lfs=0)
    refused(hub, lambda: push(alice, model_id, folder, None), "model id")


@pytest.mark.parametrize("revision", ["", "bad name", "a..b", "-x", "x/", "x.lock", "a:b", "a~1", "@{x}", None, 3])
def test_bad_revision_name(hub: RunningHub, alice: HubClient, tmp_path: Path, revision: Any) -> None:
    folder = model_folder(tmp_path / "model", lfs=0)
    refused(hub, lambda: push(alice, "alice/m", folder, None, revision=revision), "revision")


@pytest.mark.parametrize(
    ("tag", "match"),
    [
        ("v 1", "not a valid name"),
        ("v1..2", "not a valid name"),
        ("", "non-empty"),
        ("master", "reserved for branches"),
        ("Main", "reserved for branches"),
        ("v1^", "not a valid name"),
    ],
)
def test_bad_tag_name(hub: RunningHub, alice: HubClient, tmp_path: Path, tag: str, match: str) -> None:
    folder = model_folder(tmp_path / "model", lfs=0)
    refused(hub, lambda: push(alice, "alice/m", folder, None, tag=tag), match)


@pytest.mark.parametrize("workers", [0, -1, 65, True, "4", 2.0])
def test_bad_max_workers(hub: RunningHub, alice: HubClient, tmp_path: Path, workers: Any) -> None:
    folder = model_folder(tmp_path / "model", lfs=0)
    refused(hub, lambda: push(alice, "alice/m", folder, None, max_workers=workers), "max_workers")


@pytest.mark.parametrize("pattern", [123, [1], [r"\.log$", None], [""], b".log", 1.5, "*.log", "(unclosed"])
def test_bad_ignore_file_pattern(hub: RunningHub, alice: HubClient, tmp_path: Path, pattern: Any) -> None:
    folder = model_folder(tmp_path / "model", lfs=0)
    refused(hub, lambda: push(alice, "alice/m", folder, None, ignore_file_pattern=pattern), "ignore_file_pattern")


@pytest.mark.parametrize("pattern", [123, [1], ["*.log", None], [""], b"*.log", 1.5])
def test_bad_ignore_patterns_type(hub: RunningHub, alice: HubClient, tmp_path: Path, pattern: Any) -> None:
    folder = model_folder(tmp_path / "model", lfs=0)
    refused(hub, lambda: push(alice, "alice/m", folder, None, ignore_patterns=pattern), "ignore_patterns")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"visibility": 2}, "visibility"),
        ({"visibility": True}, "visibility"),
        ({"license": ""}, "license"),
        ({"commit_message": "  "}, "commit_message"),
    ],
)
def test_other_bad_arguments(
    hub: RunningHub, alice: HubClient, tmp_path: Path, options: dict[str, Any], match: str
) -> None:
    folder = model_folder(tmp_path / "model", lfs=0)
    refused(hub, lambda: push(alice, "alice/m", folder, None, **options), match)


def test_no_token(hub: RunningHub, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model", lfs=0)
    with make_client(hub, None) as anon:
        refused(hub, lambda: push(anon, "alice/m", folder, None), "no access token", NotLoginError)


# -- the files -----------------------------------------------------------------------------------
def test_a_file_symlink_escaping_the_folder(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("private notes")
    folder = model_folder(tmp_path / "model", lfs=0)
    (folder / "notes.txt").symlink_to(outside)
    refused(hub, lambda: push(alice, "alice/m", folder, None), "symlink that leads outside")


def test_a_folder_symlink_escaping_the_folder(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    outside = make_folder(tmp_path / "elsewhere", {"data.txt": "x"}, config=None)
    folder = model_folder(tmp_path / "model", lfs=0)
    (folder / "sub").mkdir()
    (folder / "sub" / "linked").symlink_to(outside, target_is_directory=True)
    refused(hub, lambda: push(alice, "alice/m", folder, None), "symlink that leads outside")


def test_a_symlink_inside_the_folder_is_published_as_its_target(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = make_folder(tmp_path / "model", {"real/notes.txt": "notes\n"})
    (folder / "alias.txt").symlink_to(folder / "real" / "notes.txt")
    (folder / "latest").symlink_to(folder / "real", target_is_directory=True)  # sorts before its target
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # a loop back to the root is not followed
    push(alice, "alice/links", folder, None)
    published = remote(alice, "alice/links")
    assert set(published) == {"alias.txt", "configuration.json", "latest/notes.txt", "real/notes.txt"}
    assert published["alias.txt"] == published["latest/notes.txt"] == published["real/notes.txt"]


@pytest.mark.parametrize(
    "name", [".env", ".env.production", "id_rsa", "keys/id_ed25519.pub", "x.pem", ".netrc", "a.p12", "sub/server.key"]
)
def test_secret_looking_files_are_refused(hub: RunningHub, alice: HubClient, tmp_path: Path, name: str) -> None:
    folder = make_folder(tmp_path / "model", {"README.md": "x", name: "SECRET=1\n"})
    message = refused(hub, lambda: push(alice, "alice/m", folder, None), "looks like a secret")
    assert name in message and "allow_secret_files" in message


def test_secret_looking_files_may_be_allowed(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "model", {"certs/ca.pem": "CERT", ".env": "A=1"})
    # a list allows only what it names ...
    refused(hub, lambda: push(alice, "alice/m", folder, None, allow_secret_files=["*.pem"]), r"\.env")
    # ... an ignore pattern leaves a file out instead ...
    push(alice, "alice/m", folder, None, allow_secret_files=["*.pem"], ignore_patterns=".env")
    assert set(remote(alice, "alice/m")) == {"configuration.json", "certs/ca.pem"}
    # ... and True allows every one of them.
    push(alice, "alice/m", folder, None, allow_secret_files=True)
    assert remote(alice, "alice/m") == manifest(folder)


def test_an_unreadable_file(hub: RunningHub, tmp_path: Path) -> None:
    """The push runs in a child bound by file permissions (as root too: tests/helpers/permissions.py)."""
    folder = model_folder(tmp_path / "model", lfs=0)
    locked = folder / "locked.txt"
    locked.write_text("x")
    locked.chmod(0)
    call = (
        "    from hub_tasks import HubClient\n"
        "    with HubClient(endpoint=args[0], token=args[1]) as client:\n"
        "        result = client.push_model('alice/m', args[2], hash_cache=None).commit_id"
    )
    try:
        outcome = bound_by_permissions(call, [hub.url, hub.tokens["alice"], str(folder)])
    finally:
        locked.chmod(0o644)
    assert outcome["error"] == "InvalidParameter" and "cannot be read" in outcome["text"], outcome
    assert "locked.txt" in outcome["text"]
    assert hub.control.requests() == 0, hub.control.stats()["requests"]


def test_a_fifo_is_refused(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "model", lfs=0)
    os.mkfifo(folder / "pipe")
    refused(hub, lambda: push(alice, "alice/m", folder, None), "not a regular file")


def test_git_and_cache_folders_and_sdk_state_files_are_skipped(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = make_folder(
        tmp_path / "model",
        {
            ".git/config": "[core]",
            ".cache/x": "y",
            ".ms_upload_progress": "{}",
            "sub/.ms_upload_cache": "{}",
            "w.bin": b"1",
        },
    )
    push(alice, "alice/skips", folder, None)
    assert set(remote(alice, "alice/skips")) == {"configuration.json", "w.bin"}


def test_refusals_never_touch_the_folder(hub: RunningHub, alice: HubClient, tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "model", {".env": "A=1"})
    before = manifest(folder)
    refused(hub, lambda: push(alice, "alice/m", folder, tmp_path / "hashes.sqlite"), "looks like a secret")
    assert manifest(folder) == before and (folder / "configuration.json").read_bytes() == CONFIG
