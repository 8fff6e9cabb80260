"""`download_model` against local_hub: a byte-identical mirror of what the official SDK uploaded, patterns,
re-download of damaged local files, Range resume (within a call and across calls), and failures that
raise instead of being logged (a sha256 mismatch injected by local_hub's `corrupt_body` fault)."""

from __future__ import annotations

import hashlib
import pickle
import random
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub_tasks import DownloadError, HubClient, InvalidParameter, NotExistError, RequestError
from hub_tasks.download import local_path
from tests.helpers.clients import make_client
from tests.helpers.folders import manifest, remote_all, tree_of, without_hub_files
from tests.helpers.sdk import run_sdk, sdk_env
from tests.helpers.secret_scan import leak_guard, raises

MIB = 1 << 20
BIG = "weights/model.bin"


@pytest.fixture(autouse=True)
def _no_token_leaks(hub: Any, caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    yield from leak_guard(hub, caplog)


@pytest.fixture
def alice(hub: Any) -> Iterator[HubClient]:
    with make_client(hub, "alice") as client:
        yield client


def make_folder(root: Path) -> Path:
    """Nested folders, small text files, and a 3 MiB binary (an LFS blob)."""
    files = {
        "README.md": b"# demo\n",
        "config.json": b'{"hidden": 8}\n',
        "configuration.json": b'{"framework": "pytorch", "task": "text-generation"}\n',
        "tokenizer/vocab.txt": "\n".join(f"tok{i}" for i in range(200)).encode(),
        "sub/deep/notes.txt": "naïve ünïcode ✓\n".encode(),
        "empty.txt": b"",
        BIG: random.Random(1234).randbytes(3 * MIB),
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def listed(client: HubClient, model_id: str = "alice/demo") -> dict[str, str]:
    """repo path -> sha256 of every file the hub lists at master, its own files included."""
    return {path: sha for path, (sha, _) in remote_all(client, model_id).items()}


@pytest.fixture
def published(hub: Any, alice: HubClient, tmp_path: Path) -> Path:
    """alice/demo holds make_folder's files (published with our own push engine); counters zeroed."""
    folder = make_folder(tmp_path / "folder")
    alice.push_model("alice/demo", folder, hash_cache=None)
    hub.control.reset()
    return folder


def test_the_mirror_is_byte_identical_to_what_the_official_sdk_uploaded(hub: Any, alice: HubClient, tmp_path: Path):
    folder = make_folder(tmp_path / "folder")
    script = textwrap.dedent(
        """
        import json, os
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.login(os.environ["MODELSCOPE_API_TOKEN"])
        api.create_model("alice/sdk-made")
        api.upload_folder(repo_id="alice/sdk-made", folder_path=FOLDER, commit_message="by the SDK")
        print(json.dumps({"ok": True}))
        """
    ).replace("FOLDER", repr(str(folder)))
    assert run_sdk(script, sdk_env(hub, tmp_path / "sdk", hub.tokens["alice"]), timeout=120) == {"ok": True}
    hub.control.reset()

    result = alice.download_model("alice/sdk-made", tmp_path / "mirror")
    # The mirror is the revision: the folder, plus the hub's own .gitattributes in the modes that write one.
    hub_tree = remote_all(alice, "alice/sdk-made")
    assert without_hub_files(hub_tree) == manifest(folder)
    want = {path: sha for path, (sha, _) in hub_tree.items()}
    assert tree_of(tmp_path / "mirror") == want
    assert result.commit_id == alice.resolve_ref("alice/sdk-made", "master")
    assert (result.files_downloaded, result.files_present) == (len(want), 0)
    assert result.bytes_downloaded == sum(size for _, size in hub_tree.values())
    assert result.bytes_resumed == 0 and result.local_dir == str(tmp_path / "mirror")
    assert {f.path: f.sha256 for f in result.files} == want
    assert hub.control.requests("download") == len(want)

    again = alice.download_model("alice/sdk-made", tmp_path / "mirror")
    assert (again.files_downloaded, again.files_present, again.bytes_downloaded) == (0, len(want), 0)
    assert hub.control.requests("download") == len(want)  # nothing fetched twice


def test_patterns_select_files_and_folder_entries_are_skipped(alice: HubClient, published: Path, tmp_path: Path):
    result = alice.download_model(
        "alice/demo", tmp_path / "m", allow_patterns=["*.json", "tokenizer/*"], ignore_patterns="config.json"
    )
    assert sorted(f.path for f in result.files) == ["configuration.json", "tokenizer/vocab.txt"]
    assert sorted(tree_of(tmp_path / "m")) == ["configuration.json", "tokenizer/vocab.txt"]
    only_notes = alice.download_model("alice/demo", tmp_path / "n", allow_patterns="notes.txt")  # basename match
    assert [f.path for f in only_notes.files] == ["sub/deep/notes.txt"]


def test_damaged_local_files_are_downloaded_again(hub: Any, alice: HubClient, published: Path, tmp_path: Path):
    mirror = tmp_path / "m"
    alice.download_model("alice/demo", mirror)
    with open(mirror / BIG, "r+b") as handle:  # same size, one byte flipped: only the sha256 can tell
        handle.seek(MIB)
        byte = handle.read(1)
        handle.seek(MIB)
        handle.write(bytes([byte[0] ^ 0xFF]))
    (mirror / "README.md").write_bytes(b"# de")  # truncated
    (mirror / "config.json").unlink()
    (mirror / "local-only.txt").write_text("mine")  # not in the listing: left alone
    before = hub.control.requests("download")

    result = alice.download_model("alice/demo", mirror)
    assert sorted(f.path for f in result.files if f.action == "downloaded") == ["README.md", "config.json", BIG]
    assert result.files_present == len(listed(alice)) - 3
    assert hub.control.requests("download") - before == 3
    assert tree_of(mirror) == {**listed(alice), "local-only.txt": hashlib.sha256(b"mine").hexdigest()}


def test_a_dropped_body_resumes_with_range(hub: Any, alice: HubClient, published: Path, tmp_path: Path):
    size = (published / BIG).stat().st_size
    hub.control.set_faults([{"route": "download", "effect": "drop_mid_body", "times": 1}])
    result = alice.download_model("alice/demo", tmp_path / "m", allow_patterns="*.bin")
    assert (tmp_path / "m" / BIG).read_bytes() == (published / BIG).read_bytes()
    assert 0 < result.bytes_resumed < size and result.files[0].bytes_resumed == result.bytes_resumed
    assert result.bytes_downloaded == size  # every byte arrived once: the second request asked only for the rest
    stats = hub.control.stats()
    assert stats["statuses"].get("download 206") == 1 and stats["requests"]["download"] == 2
    assert stats["download_bytes_sent"] <= 2 * size - result.bytes_resumed
    assert sorted(tree_of(tmp_path / "m")) == [BIG]  # no partial left behind


def test_a_partial_left_by_an_interrupted_call_is_resumed_or_restarted(
    hub: Any, alice: HubClient, published: Path, tmp_path: Path
):
    data = (published / BIG).read_bytes()
    partial = tmp_path / "m" / "weights" / ".model.bin.incomplete"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(data[:MIB])
    result = alice.download_model("alice/demo", tmp_path / "m", allow_patterns="*.bin")
    assert (result.bytes_resumed, result.bytes_downloaded) == (MIB, len(data) - MIB)
    assert hub.control.stats()["download_bytes_sent"] == len(data) - MIB
    assert (tmp_path / "m" / BIG).read_bytes() == data and not partial.exists()

    (tmp_path / "m" / BIG).unlink()
    partial.write_bytes(b"\0" * MIB)  # stale bytes: the sha256 check catches them, and it starts over
    result = alice.download_model("alice/demo", tmp_path / "m", allow_patterns="*.bin")
    assert (result.bytes_resumed, result.bytes_downloaded) == (0, 2 * len(data) - MIB)
    assert (tmp_path / "m" / BIG).read_bytes() == data and not partial.exists()


def test_bytes_that_do_not_match_the_listed_sha256_fail_the_call(
    hub: Any, alice: HubClient, published: Path, tmp_path: Path
):
    hub.control.set_faults([{"route": "download", "effect": "corrupt_body", "times": 1}])
    mirror = tmp_path / "m"
    files = listed(alice)  # published's files, and the hub's .gitattributes in the modes that write one
    # One worker fetches the largest file first (ties in path order): that one gets the fault.
    sizes = {f.path: f.size for f in alice.get_model_files("alice/demo", recursive=True) if f.is_file}
    first = min(sizes, key=lambda path: (-sizes[path], path))
    with raises(DownloadError, match=f"1 of {len(files)} files failed") as err:
        alice.download_model("alice/demo", mirror, max_workers=1)
    ((path, reason),) = err.value.failures
    assert path == first and "sha256" in reason
    assert err.value.operation == "download_model" and err.value.model_id == "alice/demo"
    assert pickle.loads(pickle.dumps(err.value)).failures == err.value.failures
    expected = dict(files)
    del expected[first]
    assert tree_of(mirror) == expected  # the bad file was not placed, nor left as a partial; the others were
    # A whole-file mismatch is not retried: the hub serves those bytes.
    assert hub.control.requests("download") == len(files)

    result = alice.download_model("alice/demo", mirror)  # fault spent: the next run completes the mirror
    assert [f.path for f in result.files if f.action == "downloaded"] == [first]


def test_bad_arguments_and_missing_models_are_refused(hub: Any, alice: HubClient, published: Path, tmp_path: Path):
    (tmp_path / "a-file").write_text("x")
    with raises(InvalidParameter, match="not a folder"):
        alice.download_model("alice/demo", tmp_path / "a-file")
    with raises(InvalidParameter):
        alice.download_model("alice/demo/extra", tmp_path / "m")
    with raises(InvalidParameter, match="max_workers"):
        alice.download_model("alice/demo", tmp_path / "m", max_workers=0)
    with raises(InvalidParameter, match="allow_patterns"):
        alice.download_model("alice/demo", tmp_path / "m", allow_patterns=[""])
    assert hub.control.requests() == 0
    with raises(NotExistError):
        alice.download_model("alice/demo", tmp_path / "m", revision="no-such-branch")
    with raises(NotExistError):
        alice.download_model("alice/missing", tmp_path / "m")
    assert not (tmp_path / "m").exists()  # nothing created for a download that never started


def test_listing_paths_cannot_leave_the_local_dir(tmp_path: Path):
    assert local_path(tmp_path, "a/b.bin") == tmp_path / "a" / "b.bin"
    for bad in ("../escape", "a/../../b", "/etc/passwd", "a//b", "./a", "a\\..\\b", "", "a/\x00"):
        with raises(RequestError, match="unsafe"):
            local_path(tmp_path, bad)
