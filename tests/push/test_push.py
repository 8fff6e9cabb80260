"""push_model against local_hub over HTTP: first publish, incremental re-publish, deletes, ignore patterns,
tags, branches, odd file names, the 2000-action split, the hash cache, progress, visibility, LFS dedup,
and the official SDK downloading exactly what was published."""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from hub_tasks import AlreadyExistsError, HubClient, InvalidParameter
from hub_tasks.push.plan import is_lfs
from hub_tasks.types import ProgressEvent, PushOptions, PushResult
from tests.helpers.clients import make_client, push
from tests.helpers.folders import (
    MIB,
    blob,
    make_folder,
    manifest,
    model_folder,
    remote,
    remote_all,
    without_hub_files,
    write_files,
)
from tests.helpers.hub import Counter, RunningHub, hub_own_files
from tests.helpers.sdk import sdk_snapshot

WRITES = ("create_model", "lfs_batch", "blob_put", "commit", "create_tag")


@pytest.fixture
def alice(hub: RunningHub) -> Any:
    with make_client(hub) as client:
        yield client


def lfs_bytes(folder: Path) -> int:
    return sum(size for path, (_, size) in manifest(folder).items() if is_lfs(path, size))


def assert_published(client: HubClient, model_id: str, folder: Path, result: PushResult, revision: str = "master"):
    assert result.verified
    assert remote(client, model_id, revision) == manifest(folder)
    if result.commit_id is not None:
        assert client.resolve_ref(model_id, revision) == result.commit_id


# -- first publish, re-publish, incremental changes ---------------------------------------------
def test_first_publish_creates_the_repo_and_uploads_every_file(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model", lfs=3)
    counter = Counter(hub)
    result = push(alice, "alice/first", folder, tmp_path / "hashes.sqlite", commit_message="first")
    files = manifest(folder)
    assert_published(alice, "alice/first", folder, result)
    assert result.created_repo and not result.noop
    counts = (result.files_added, result.files_changed, result.files_deleted, result.files_unchanged)
    assert counts == (len(files), 0, 0, 0)
    assert result.commit_ids == [result.commit_id]
    assert result.bytes_uploaded == lfs_bytes(folder) == 3 * 200 * 1024
    assert result.bytes_inline == sum(s for p, (_, s) in files.items() if not is_lfs(p, s))
    assert result.model_url == alice.model_url("alice/first")
    assert [c.path for c in result.changes] == sorted(files)
    assert {c.change for c in result.changes} == {"added"}
    delta = counter.delta()
    assert delta["commits"] == 1
    assert delta["blob_bytes_received"] == result.bytes_uploaded
    assert delta["requests"]["blob_put"] == 3
    assert delta["requests"]["create_model"] == 1
    assert alice.list_commits("alice/first")[0].title == "first"


def test_identical_republish_makes_no_commit_and_sends_no_blob_bytes(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model")
    first = push(alice, "alice/same", folder, tmp_path / "hashes.sqlite")
    counter = Counter(hub)
    again = push(alice, "alice/same", folder, tmp_path / "hashes.sqlite")
    assert again.noop and again.commit_id is None and again.commit_ids == []
    assert not again.created_repo and again.verified
    assert again.changes == [] and again.files_unchanged == len(manifest(folder))
    assert (again.bytes_uploaded, again.bytes_inline) == (0, 0)
    delta = counter.delta()
    assert delta["commits"] == 0 and delta["blob_bytes_received"] == 0
    for route in ("lfs_batch", "blob_put", "commit", "create_model"):
        assert route not in delta["requests"], delta["requests"]
    assert alice.resolve_ref("alice/same") == first.commit_id


def test_one_changed_lfs_file_sends_exactly_that_file(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model", lfs=4)
    push(alice, "alice/inc", folder, tmp_path / "hashes.sqlite")
    changed = blob(300 * 1024)
    (folder / "weights/part-2.safetensors").write_bytes(changed)
    counter = Counter(hub)
    result = push(alice, "alice/inc", folder, tmp_path / "hashes.sqlite")
    assert_published(alice, "alice/inc", folder, result)
    assert [(c.path, c.change) for c in result.changes] == [("weights/part-2.safetensors", "changed")]
    assert (result.files_changed, result.files_added, result.files_deleted) == (1, 0, 0)
    assert result.files_unchanged == len(manifest(folder)) - 1
    assert result.bytes_uploaded == len(changed) and result.bytes_inline == 0
    delta = counter.delta()
    assert delta["blob_bytes_received"] == len(changed)
    assert delta["requests"]["blob_put"] == 1 and delta["commits"] == 1


def test_one_changed_small_file_goes_inline_without_blob_traffic(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model")
    push(alice, "alice/inline", folder, tmp_path / "hashes.sqlite")
    (folder / "README.md").write_text("# demo, second edition\n")
    counter = Counter(hub)
    result = push(alice, "alice/inline", folder, tmp_path / "hashes.sqlite")
    assert_published(alice, "alice/inline", folder, result)
    assert [(c.path, c.change, c.lfs) for c in result.changes] == [("README.md", "changed", False)]
    assert result.bytes_inline == len("# demo, second edition\n") and result.bytes_uploaded == 0
    delta = counter.delta()
    assert delta["blob_bytes_received"] == 0 and delta["commits"] == 1
    assert "blob_put" not in delta["requests"] and "lfs_batch" not in delta["requests"]


def test_a_deleted_local_file_disappears_remotely_unless_delete_missing_is_false(
    hub: RunningHub, alice: HubClient, tmp_path: Path
):
    folder = model_folder(tmp_path / "model", lfs=2)
    push(alice, "alice/del", folder, tmp_path / "hashes.sqlite")
    (folder / "weights/part-1.safetensors").unlink()
    (folder / "tokenizer/vocab.txt").unlink()
    kept = push(alice, "alice/del", folder, tmp_path / "hashes.sqlite", delete_missing=False)
    assert kept.noop and kept.files_deleted == 0
    assert {"weights/part-1.safetensors", "tokenizer/vocab.txt"} <= set(remote(alice, "alice/del"))

    (folder / "extra.txt").write_text("new\n")
    kept = push(alice, "alice/del", folder, tmp_path / "hashes.sqlite", delete_missing=False)
    assert [(c.path, c.change) for c in kept.changes] == [("extra.txt", "added")]
    gone = {"weights/part-1.safetensors", "tokenizer/vocab.txt"}
    assert set(remote(alice, "alice/del")) == set(manifest(folder)) | gone

    counter = Counter(hub)
    result = push(alice, "alice/del", folder, tmp_path / "hashes.sqlite")
    assert_published(alice, "alice/del", folder, result)
    assert [(c.path, c.change) for c in result.changes] == [
        ("tokenizer/vocab.txt", "deleted"),
        ("weights/part-1.safetensors", "deleted"),
    ]
    assert result.files_deleted == 2 and result.bytes_uploaded == 0
    assert counter.delta()["blob_bytes_received"] == 0


@pytest.mark.parametrize(
    ("pattern", "ignored"),
    [
        ("*.log", {"train.log", "logs/deep/run.log"}),  # one glob, matched against basenames at any depth
        (["logs/*", "*.tmp"], {"logs/deep/run.log", "logs/keep.txt", "a/b/scratch.tmp"}),  # a list; a relative path
        ("logs", {"logs/deep/run.log", "logs/keep.txt"}),  # a folder by name
        (("scratch.tmp", "a/b/*"), {"a/b/scratch.tmp", "a/b/c.txt"}),  # any iterable; nested relative path
    ],
)
def test_ignore_patterns_match_relative_paths_and_basenames(
    hub: RunningHub, alice: HubClient, tmp_path: Path, pattern: Any, ignored: set[str]
):
    files = {"train.log": "l", "logs/deep/run.log": "l", "logs/keep.txt": "k", "a/b/scratch.tmp": "t", "a/b/c.txt": "c"}
    folder = make_folder(tmp_path / "model", {**files, "weights.bin": blob(100)})
    result = push(alice, "alice/ignore", folder, None, ignore_patterns=pattern)
    published = set(remote(alice, "alice/ignore"))
    assert published == set(manifest(folder)) - ignored
    assert {c.path for c in result.changes} == published


def test_ignore_file_pattern_is_a_regex_as_in_the_seed_and_ignored_remote_files_are_kept(
    hub: RunningHub, alice: HubClient, tmp_path: Path
):
    files = {"checkpoint-100/w.bin": blob(10), "checkpoint-200/w.bin": blob(10), "model.bin": blob(10)}
    folder = make_folder(tmp_path / "model", files)
    push(alice, "alice/regex", folder, None, ignore_patterns="*.bin")  # only the config
    push(alice, "alice/regex", folder, None)  # everything
    assert set(remote(alice, "alice/regex")) == set(manifest(folder))
    # A seed user's regex leaves the checkpoints out of the publish, and out of its deletes too.
    (folder / "model.bin").write_bytes(blob(10))
    result = push(alice, "alice/regex", folder, None, ignore_file_pattern=r"checkpoint-\d+")
    assert {c.path for c in result.changes} == {"model.bin"}
    assert set(remote(alice, "alice/regex")) == set(manifest(folder))
    alice.verify_folder("alice/regex", folder, ignore_file_pattern=r"checkpoint-\d+", hash_cache=None)


def test_a_mirror_publish_keeps_the_remote_top_level_dot_entries(hub: RunningHub, alice: HubClient, tmp_path: Path):
    hub_files = {".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n", ".github/ci.yml": "on: push\n"}
    push(alice, "alice/dots", make_folder(tmp_path / "v1", {**hub_files, "a.txt": "a"}), None)
    result = push(alice, "alice/dots", make_folder(tmp_path / "v2", {"b.txt": "b"}), None)
    assert {(c.path, c.change) for c in result.changes} == {("a.txt", "deleted"), ("b.txt", "added")}
    assert set(remote(alice, "alice/dots")) == {"configuration.json", "b.txt", *hub_files}
    # Unchanged folder: no commit, and verification passes with the hub's dot files in place.
    assert push(alice, "alice/dots", tmp_path / "v2", None).noop
    # A folder with its own .gitattributes replaces the hub's.
    mine = make_folder(tmp_path / "v3", {"b.txt": "b", ".gitattributes": "*.pt filter=lfs diff=lfs merge=lfs -text\n"})
    assert {c.path for c in push(alice, "alice/dots", mine, None).changes} == {".gitattributes"}


def test_the_hubs_own_gitattributes_is_left_alone_unless_the_folder_brings_one(
    hub: RunningHub, alice: HubClient, tmp_path: Path
):
    """Whatever the hub's mode: a default (mirror) publish keeps the file the hub wrote, an unchanged folder
    makes no commit and verifies, and a folder's own .gitattributes replaces the hub's."""
    own = hub_own_files(hub)
    folder = model_folder(tmp_path / "model")
    first = push(alice, "alice/attrs", folder, None)
    assert first.verified and ".gitattributes" not in {c.path for c in first.changes}
    everything = remote_all(alice, "alice/attrs")
    assert {p: everything[p] for p in own} == {p: (hashlib.sha256(c).hexdigest(), len(c)) for p, c in own.items()}
    again = push(alice, "alice/attrs", folder, None)
    assert again.noop and again.verified and remote_all(alice, "alice/attrs") == everything
    alice.verify_folder("alice/attrs", folder, hash_cache=None)
    mine = "*.pt filter=lfs diff=lfs merge=lfs -text\n"
    write_files(folder, {".gitattributes": mine})
    replaced = push(alice, "alice/attrs", folder, None)
    assert {(c.path, c.change) for c in replaced.changes} == {(".gitattributes", "changed" if own else "added")}
    assert remote_all(alice, "alice/attrs")[".gitattributes"] == manifest(folder)[".gitattributes"]
    assert push(alice, "alice/attrs", folder, None).noop


# -- tags and branches ---------------------------------------------------------------------------
def test_tag_is_created_on_the_new_commit_and_republishing_with_it_is_a_noop(
    hub: RunningHub, alice: HubClient, tmp_path: Path
):
    folder = model_folder(tmp_path / "model")
    result = push(alice, "alice/tagged", folder, tmp_path / "hashes.sqlite", tag="v1.0")
    assert result.tag == "v1.0"
    assert alice.resolve_ref("alice/tagged", "v1.0") == result.commit_id
    assert alice.get_model_branches_and_tags("alice/tagged") == (["master"], ["v1.0"])
    assert remote(alice, "alice/tagged", "v1.0") == manifest(folder)

    counter = Counter(hub)
    again = push(alice, "alice/tagged", folder, tmp_path / "hashes.sqlite", tag="v1.0")
    assert again.noop and again.tag == "v1.0"
    assert counter.delta()["commits"] == 0

    (folder / "README.md").write_text("v2\n")
    second = push(alice, "alice/tagged", folder, tmp_path / "hashes.sqlite", tag="v2.0")
    assert alice.resolve_ref("alice/tagged", "v2.0") == second.commit_id != result.commit_id
    assert alice.resolve_ref("alice/tagged", "v1.0") == result.commit_id


def test_tagging_an_unchanged_folder_tags_the_current_head(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model")
    first = push(alice, "alice/late-tag", folder, None)
    again = push(alice, "alice/late-tag", folder, None, tag="v1")
    assert again.noop and again.tag == "v1"
    assert alice.resolve_ref("alice/late-tag", "v1") == first.commit_id


def test_tag_conflict_is_detected_before_any_upload(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model")
    first = push(alice, "alice/conflict", folder, tmp_path / "hashes.sqlite", tag="v1")
    write_files(folder, {"weights/new.safetensors": blob(150 * 1024), "README.md": "changed\n"})
    counter = Counter(hub)
    with pytest.raises(AlreadyExistsError, match="v1"):
        push(alice, "alice/conflict", folder, tmp_path / "hashes.sqlite", tag="v1")
    delta = counter.delta()
    for route in ("lfs_batch", "blob_put", "commit", "create_tag"):
        assert route not in delta["requests"], delta["requests"]
    assert delta["blob_bytes_received"] == 0 and delta["commits"] == 0
    assert alice.resolve_ref("alice/conflict") == first.commit_id
    # An unchanged folder cannot take the tag either once the branch has moved past it.
    second = push(alice, "alice/conflict", folder, tmp_path / "hashes.sqlite")
    with pytest.raises(AlreadyExistsError, match="current head"):
        push(alice, "alice/conflict", folder, tmp_path / "hashes.sqlite", tag="v1")
    assert alice.resolve_ref("alice/conflict", "v1") == first.commit_id != second.commit_id


def test_publish_to_an_existing_branch_leaves_master_alone(hub: RunningHub, alice: HubClient, tmp_path: Path):
    main = model_folder(tmp_path / "main")
    base = push(alice, "alice/branches", main, None)
    hub.control.create_branch("alice/branches", "dev", "master")
    dev = make_folder(tmp_path / "dev", {"README.md": "dev build\n", "weights/dev.safetensors": blob(120 * 1024)})
    result = push(alice, "alice/branches", dev, None, revision="dev", tag="dev-1")
    assert_published(alice, "alice/branches", dev, result, revision="dev")
    assert result.revision == "dev" and result.files_deleted > 0
    assert alice.resolve_ref("alice/branches", "master") == base.commit_id
    assert remote(alice, "alice/branches", "master") == manifest(main)
    assert alice.resolve_ref("alice/branches", "dev-1") == result.commit_id


def test_publish_to_a_missing_branch_creates_it_from_masters_head(hub: RunningHub, alice: HubClient, tmp_path: Path):
    main = model_folder(tmp_path / "main")
    base = push(alice, "alice/newbranch", main, None)
    master_tree = remote_all(alice, "alice/newbranch")
    feature = make_folder(tmp_path / "feature", {"README.md": "feature\n", "weights/f.safetensors": blob(90 * 1024)})
    counter = Counter(hub)
    result = push(alice, "alice/newbranch", feature, None, revision="feature/x", tag="feature-1")
    assert result.created_branch and not result.created_repo
    assert_published(alice, "alice/newbranch", feature, result, revision="feature/x")
    # One commit on top of master's head; master itself is untouched, the hub's own files carried over.
    assert [c.id for c in alice.list_commits("alice/newbranch", "feature/x")][1] == base.commit_id
    assert alice.resolve_ref("alice/newbranch", "master") == base.commit_id
    assert remote_all(alice, "alice/newbranch", "master") == master_tree
    assert remote_all(alice, "alice/newbranch", "feature/x").get(".gitattributes") == master_tree.get(".gitattributes")
    assert alice.resolve_ref("alice/newbranch", "feature-1") == result.commit_id
    delta = counter.delta()
    assert delta["requests"]["git_receive_pack"] == 1 and delta["commits"] == 1
    # Again: the branch exists now, so nothing is created and nothing changes.
    again = push(alice, "alice/newbranch", feature, None, revision="feature/x")
    assert again.noop and not again.created_branch
    # An unchanged folder to a new branch: the branch is made at master's head, and no commit.
    same = push(alice, "alice/newbranch", main, None, revision="same")
    assert same.created_branch and same.noop and alice.resolve_ref("alice/newbranch", "same") == base.commit_id


def test_a_new_repo_gets_the_branch_when_the_hub_starts_it_with_a_commit(hub, alice: HubClient, tmp_path: Path):
    """A new repo's branch needs a commit on master to start from: the hub's own first commit
    (`on-create`) is one; without it the publish refuses, and removes the empty repo it made."""
    folder = model_folder(tmp_path / "model")
    mode = hub.control.configure()["gitattributes"]
    if mode == "on-create":
        result = push(alice, "alice/brand-new", folder, None, revision="feature")
        assert result.created_repo and result.created_branch
        assert_published(alice, "alice/brand-new", folder, result, revision="feature")
        assert alice.get_model_branches_and_tags("alice/brand-new")[0] == ["master", "feature"]
    else:
        with pytest.raises(InvalidParameter, match="publish to master first") as info:
            push(alice, "alice/brand-new", folder, None, revision="feature")
        assert "removed again" in str(info.value)
        assert not alice.model_exists("alice/brand-new")
        assert hub.control.requests("commit") == 0  # (its blobs went up while it hashed: unreferenced)


def test_a_missing_branch_that_cannot_be_made_is_refused_before_any_write(hub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model")
    push(alice, "alice/refs", folder, None, tag="v1")
    hub.control.configure(gitattributes="off")
    alice.create_model("alice/empty", visibility=5)
    counter = Counter(hub)
    cases = [
        ("alice/refs", "v1", "is a tag"),  # a tag is not a branch, and a branch may not take its name
        ("alice/refs", "HEAD", "read as something else"),
        ("alice/refs", "f" * 40, "read as something else"),
        ("alice/refs", "a/.b", "check-ref-format"),
        ("alice/empty", "dev", "publish to master first"),  # an empty repo has nothing to branch from
    ]
    for model_id, revision, match in cases:
        with pytest.raises(InvalidParameter, match=match):
            push(alice, model_id, folder, None, revision=revision)
    delta = counter.delta()
    assert not set(delta["requests"]) & {*WRITES, "git_receive_pack"}, delta["requests"]


def test_publish_to_a_tag_name_is_refused(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model")
    push(alice, "alice/tagrev", folder, None, tag="v1")
    (folder / "README.md").write_text("changed\n")
    counter = Counter(hub)
    with pytest.raises(InvalidParameter, match="is a tag"):
        push(alice, "alice/tagrev", folder, None, revision="v1")
    assert not set(counter.delta()["requests"]) & set(WRITES)


# -- contents ------------------------------------------------------------------------------------
def test_nested_dirs_empty_files_and_non_ascii_names_match_what_the_sdk_downloads(
    hub: RunningHub, alice: HubClient, tmp_path: Path
):
    folder = make_folder(
        tmp_path / "model",
        {
            "README.md": "# naïve\n",
            "empty.txt": b"",
            "a/b/c/d/deep.txt": "deep\n",
            "a/b/empty.bin": b"",
            "模型/权重.safetensors": blob(90 * 1024),
            "données/é ü ✓.txt": "ünïcode ✓\n",
            "big/inline-by-name/config.json": '{"x": 1}',
            "big/large.txt": blob(70 * 1024),  # LFS by size
            "odd names/with space & #hash %20 +plus.txt": "odd\n",
            "odd names/weights (copy) #1.safetensors": blob(2000),
        },
    )
    result = push(alice, "alice/odd", folder, tmp_path / "hashes.sqlite")
    assert_published(alice, "alice/odd", folder, result)
    assert without_hub_files(sdk_snapshot(hub, tmp_path, "alice/odd")) == manifest(folder)


def test_more_than_2000_files_publish_in_several_commits(hub: RunningHub, alice: HubClient, tmp_path: Path):
    files = {f"shard-{i // 500}/f{i:04d}.txt": f"{i}\n" for i in range(2100)}
    folder = make_folder(tmp_path / "model", files)
    counter = Counter(hub)
    result = push(alice, "alice/many", folder, tmp_path / "hashes.sqlite")
    assert len(result.commit_ids) == 2 and result.commit_id == result.commit_ids[-1]
    assert result.files_added == 2101
    assert_published(alice, "alice/many", folder, result)
    assert counter.delta()["commits"] == 2
    titles = [c.title for c in alice.list_commits("alice/many")]
    assert titles[:2] == ["upload model (batch 2/2)", "upload model (batch 1/2)"]  # then the hub's own, if any
    again = push(alice, "alice/many", folder, tmp_path / "hashes.sqlite")
    assert again.noop and again.hash_cache_hits == 2101


def test_published_folder_is_byte_identical_through_the_sdk(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model", lfs=2, lfs_size=MIB + 17)
    write_files(folder, {"tokenizer/merges.txt": blob(5000), "model.bin": blob(3)})
    push(alice, "alice/sdk", folder, None, tag="v1")
    want = manifest(folder)
    assert without_hub_files(sdk_snapshot(hub, tmp_path, "alice/sdk", "v1")) == want


# -- hash cache ----------------------------------------------------------------------------------
def test_hash_cache_avoids_rereading_unchanged_files(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model", lfs=2)
    cache = tmp_path / "hashes.sqlite"
    total = sum(size for _, size in manifest(folder).values())
    first = push(alice, "alice/cache", folder, cache)
    assert (first.hash_cache_hits, first.bytes_hashed) == (0, total)
    second = push(alice, "alice/cache", folder, cache)
    assert second.noop
    assert (second.hash_cache_hits, second.bytes_hashed) == (len(manifest(folder)), 0)

    (folder / "README.md").write_text("touched\n")
    third = push(alice, "alice/cache", folder, cache)
    assert third.hash_cache_hits == len(manifest(folder)) - 1
    assert third.bytes_hashed == len("touched\n")

    no_cache = push(alice, "alice/cache", folder, None)
    assert no_cache.noop and no_cache.hash_cache_hits == 0
    assert no_cache.bytes_hashed == sum(size for _, size in manifest(folder).values())


def test_a_corrupt_hash_cache_is_ignored_and_rebuilt(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model")
    cache = tmp_path / "hashes.sqlite"
    push(alice, "alice/corrupt", folder, cache)
    cache.write_bytes(b"this is not an sqlite database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{cache}{suffix}").unlink(missing_ok=True)
    rebuilt = push(alice, "alice/corrupt", folder, cache)
    assert rebuilt.noop and rebuilt.hash_cache_hits == 0
    assert rebuilt.bytes_hashed == sum(size for _, size in manifest(folder).values())
    cached = push(alice, "alice/corrupt", folder, cache)
    assert cached.hash_cache_hits == len(manifest(folder)) and cached.bytes_hashed == 0


def test_a_hash_cache_inside_the_model_folder_is_not_published(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model")
    cache = folder / "hashes.sqlite"
    push(alice, "alice/cache-inside", folder, cache)
    again = push(alice, "alice/cache-inside", folder, cache)
    assert again.noop
    assert not any(p.startswith("hashes.sqlite") for p in remote(alice, "alice/cache-inside"))


# -- progress, visibility, dedup, the result -----------------------------------------------------
def test_progress_reports_hashing_and_uploading_to_completion(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model", lfs=3, lfs_size=2 * MIB + 5)
    events: list[ProgressEvent] = []
    lock = threading.Lock()

    def record(event: ProgressEvent) -> None:
        with lock:
            events.append(event)

    push(alice, "alice/progress", folder, None, progress=record)
    hashes = [e for e in events if e.phase == "hash"]
    uploads = [e for e in events if e.phase == "upload"]
    total = sum(size for _, size in manifest(folder).values())
    assert hashes and uploads
    assert hashes[-1].bytes_done == hashes[-1].bytes_total == total
    assert hashes[-1].files_done == hashes[-1].files_total == len(manifest(folder))
    assert max(e.bytes_done for e in uploads) == uploads[-1].bytes_total == 3 * (2 * MIB + 5)
    assert max(e.files_done for e in uploads) == 3
    for event in events:
        assert 0 <= event.bytes_done <= event.bytes_total
    assert all(a.bytes_done <= b.bytes_done for a, b in itertools.pairwise(hashes))


def test_progress_phases_stay_apart_when_uploads_start_during_hashing(
    hub: RunningHub, alice: HubClient, tmp_path: Path
) -> None:
    # More than 64 changed LFS files: blob uploads begin while later files are still being hashed.
    folder = make_folder(tmp_path / "model", {f"shards/s{i:03d}.bin": blob(64 * 1024) for i in range(80)})
    events: list[ProgressEvent] = []
    lock = threading.Lock()

    def record(event: ProgressEvent) -> None:
        with lock:
            events.append(event)

    push(alice, "alice/many-lfs", folder, None, progress=record)
    last = {e.phase: e for e in events}
    total = sum(size for _, size in manifest(folder).values())
    assert (last["hash"].bytes_done, last["hash"].files_done) == (total, 81)
    assert (last["hash"].bytes_total, last["hash"].files_total) == (total, 81)
    assert (last["upload"].bytes_done, last["upload"].bytes_total) == (80 * 64 * 1024, 80 * 64 * 1024)
    assert last["upload"].files_done == last["upload"].files_total == 80
    assert max(e.files_done for e in events if e.phase == "upload") == 80


def test_a_new_repo_gets_the_requested_visibility_and_metadata(hub: RunningHub, alice: HubClient, tmp_path: Path):
    folder = model_folder(tmp_path / "model", lfs=0)
    result = push(alice, "alice/private", folder, None, visibility=1, license="MIT", chinese_name="私有模型", tag="v0")
    assert result.created_repo
    info = alice.get_model("alice/private")
    assert (info.visibility, info.license, info.display_name) == (1, "MIT", "私有模型")
    with make_client(hub, "bob") as bob:
        assert not bob.model_exists("alice/private")
    public = push(alice, "alice/public", folder, None)
    assert public.created_repo and alice.get_model("alice/public").visibility == 5


def test_publishing_into_an_empty_existing_repo_keeps_its_settings(hub: RunningHub, alice: HubClient, tmp_path: Path):
    alice.create_model("alice/empty", visibility=3, license="MIT")
    folder = model_folder(tmp_path / "model", lfs=1)
    result = push(alice, "alice/empty", folder, None, visibility=5, tag="v1")
    assert not result.created_repo and result.tag == "v1"
    assert_published(alice, "alice/empty", folder, result)
    assert (alice.get_model("alice/empty").visibility, alice.get_model("alice/empty").license) == (3, "MIT")


def test_listings_longer_than_the_hub_returns_are_walked(hub: RunningHub, tmp_path: Path):
    files = {f"d{i // 20}/f{i:03d}.txt": f"{i}" for i in range(150)}
    folder = make_folder(tmp_path / "model", {**files, "top.bin": blob(10)})
    hub.control.configure(tree_limit=40)
    try:
        with make_client(hub, tree_limit=40) as client:
            first = push(client, "alice/walk", folder, tmp_path / "hashes.sqlite")
            assert_published(client, "alice/walk", folder, first)
            (folder / "d3" / "f070.txt").unlink()
            (folder / "d7" / "f140.txt").write_text("changed")
            second = push(client, "alice/walk", folder, tmp_path / "hashes.sqlite")
            assert [(c.path, c.change) for c in second.changes] == [
                ("d3/f070.txt", "deleted"),
                ("d7/f140.txt", "changed"),
            ]
            assert_published(client, "alice/walk", folder, second)
            assert push(client, "alice/walk", folder, tmp_path / "hashes.sqlite").noop
    finally:
        hub.control.configure(tree_limit=3000)


def test_publishing_into_a_group_namespace(hub: RunningHub, tmp_path: Path):
    folder = model_folder(tmp_path / "model", lfs=1)
    with make_client(hub, "carol") as carol:
        result = push(carol, "team/shared", folder, None)
        assert_published(carol, "team/shared", folder, result)


def test_identical_files_upload_their_blob_once(hub: RunningHub, alice: HubClient, tmp_path: Path):
    same = blob(300 * 1024)
    folder = make_folder(tmp_path / "model", {"a/model.safetensors": same, "b/model.safetensors": same})
    counter = Counter(hub)
    result = push(alice, "alice/dedup", folder, None)
    assert_published(alice, "alice/dedup", folder, result)
    delta = counter.delta()
    assert delta["requests"]["blob_put"] == 1 and delta["blob_bytes_received"] == len(same)
    assert result.bytes_uploaded == len(same)
    # A blob the hub already holds (here: from another repo) is reused, never re-sent.
    other = make_folder(tmp_path / "other", {"copy.safetensors": same})
    counter.mark()
    reused = push(alice, "alice/dedup-2", other, None)
    assert (reused.bytes_uploaded, reused.bytes_reused) == (0, len(same))
    assert counter.delta()["blob_bytes_received"] == 0


def test_push_result_noop_property() -> None:
    common = {"model_id": "a/b", "revision": "master", "model_url": "http://hub/models/a/b"}
    assert PushResult(commit_id=None, **common).noop
    assert not PushResult(commit_id="0" * 40, commit_ids=["0" * 40], **common).noop


def test_push_folder_function_and_client_method_agree(hub: RunningHub, alice: HubClient, tmp_path: Path):
    from hub_tasks.push.engine import push_folder

    folder = model_folder(tmp_path / "model", lfs=1)
    options = PushOptions(hash_cache=None, commit_message="via function")
    result = push_folder(alice, "alice/fn", folder, options)
    assert_published(alice, "alice/fn", folder, result)
    assert alice.push_model("alice/fn", os.fspath(folder), hash_cache=None).noop
