"""The hub's own `.gitattributes`: written at creation, with the first content commit, or never."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from local_hub import HubControl
from local_hub.hub_files import GITATTRIBUTES, HUB_FILES_MODES, INITIAL_COMMIT_MESSAGE
from tests.helpers.hub import ADMIN_TOKEN, RunningHub, start_local_hub
from tests.helpers.hub_http import HubWriter, api, download, list_files, paths, sha


def commits(hub: RunningHub, model_id: str) -> list[dict]:
    response = api(hub, "GET", f"/api/v1/models/{model_id}/commits", params={"Ref": "master"})
    return response.json()["Data"]["Commit"] if response.status_code == 200 else []


def test_the_file_tracks_the_usual_large_files_with_lfs() -> None:
    lines = GITATTRIBUTES.decode().splitlines()
    patterns = {line.split()[0] for line in lines}
    assert {"*.bin", "*.safetensors", "*.pt", "*.pth", "*.ckpt", "*.h5", "*.onnx", "*.msgpack", "*.pkl"} <= patterns
    assert {"*.model", "*.zip", "*.tar.*", "*.gz"} <= patterns
    assert all(line.endswith(" filter=lfs diff=lfs merge=lfs -text") for line in lines)


def test_on_create_starts_every_repo_with_one_commit_holding_it(hub: RunningHub) -> None:
    hub.control.configure(gitattributes="on-create")
    writer = HubWriter(hub)
    writer.create("alice/fresh")
    (first,) = commits(hub, "alice/fresh")
    assert first["Message"] == INITIAL_COMMIT_MESSAGE
    assert paths(list_files(hub, "alice/fresh")) == [".gitattributes"]
    assert download(hub, "alice/fresh", ".gitattributes").content == GITATTRIBUTES
    writer.commit("alice/fresh", {"README.md": b"hi\n"})
    assert paths(list_files(hub, "alice/fresh")) == [".gitattributes", "README.md"]
    assert len(commits(hub, "alice/fresh")) == 2
    # The commit counter counts what clients commit; the hub's own commit shows in the total only.
    stats = hub.control.stats()
    assert (stats["commits"], stats["commits_total"]) == (1, 2)


def test_on_first_commit_adds_it_to_the_first_content_commit_unless_it_brings_its_own(hub: RunningHub) -> None:
    hub.control.configure(gitattributes="on-first-commit")
    writer = HubWriter(hub)
    writer.create("alice/later")
    assert commits(hub, "alice/later") == []
    writer.commit("alice/later", {"README.md": b"hi\n"})
    assert len(commits(hub, "alice/later")) == 1  # the same commit
    assert {f["Path"]: f["Sha256"] for f in list_files(hub, "alice/later")} == {
        ".gitattributes": sha(GITATTRIBUTES),
        "README.md": sha(b"hi\n"),
    }
    writer.commit("alice/later", {"b.txt": b"b"}, delete=(".gitattributes",))  # only the first commit gets it
    assert paths(list_files(hub, "alice/later")) == ["README.md", "b.txt"]
    mine = b"*.pt filter=lfs diff=lfs merge=lfs -text\n"
    writer.create("alice/own")
    writer.commit("alice/own", {".gitattributes": mine, "a.txt": b"a"})
    assert download(hub, "alice/own", ".gitattributes").content == mine


def test_off_writes_nothing(hub: RunningHub) -> None:
    hub.control.configure(gitattributes="off")
    writer = HubWriter(hub)
    writer.create("alice/bare")
    assert commits(hub, "alice/bare") == []
    writer.commit("alice/bare", {"README.md": b"hi\n"})
    assert paths(list_files(hub, "alice/bare")) == ["README.md"]


def test_the_mode_is_set_live_and_checked(hub: RunningHub) -> None:
    for mode in HUB_FILES_MODES:
        assert hub.control.configure(gitattributes=mode)["gitattributes"] == mode
    response = requests.put(
        f"{hub.url}/_local_hub/config",
        json={"gitattributes": "sometimes"},
        headers={"X-Local-Hub-Admin": ADMIN_TOKEN},
        timeout=10,
    )
    assert response.status_code == 400 and "on-create, on-first-commit, off" in response.text


@pytest.mark.parametrize("mode", HUB_FILES_MODES)
def test_the_command_line_flag_sets_the_mode(tmp_path: Path, mode: str) -> None:
    with start_local_hub(tmp_path, "--gitattributes", mode) as process:
        assert HubControl(process.url, ADMIN_TOKEN).configure()["gitattributes"] == mode


def test_the_default_is_on_create(tmp_path: Path) -> None:
    with start_local_hub(tmp_path) as process:
        assert HubControl(process.url, ADMIN_TOKEN).configure()["gitattributes"] == "on-create"
