"""The local, hub-free parts of a publish: planning, commit splitting, the LFS rule, tree comparison,
folder checks and scanning, and the hash cache."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from hub_tasks import InvalidParameter
from hub_tasks.files import IgnoreRules, normalize_patterns, normalize_regexes, sha256_file
from hub_tasks.push.hashcache import HashCache
from hub_tasks.push.plan import (
    COMMIT_MAX_ACTIONS,
    COMMIT_MAX_BYTES,
    INLINE_MAX,
    LFS_THRESHOLD,
    commit_batches,
    is_lfs,
    managed,
    plan_push,
    to_operation,
    tree_differences,
)
from hub_tasks.push.scan import LocalFile, check_folder, scan_folder
from hub_tasks.types import FileChange, PushOptions, RepoFile
from tests.helpers.permissions import bound_by_permissions

CONFIG = b'{"framework": "pytorch"}'


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def repo_file(path: str, sha256: str, size: int) -> RepoFile:
    return RepoFile(Path=path, Sha256=sha256, Size=size)


def folder_with(root: Path, files: dict[str, str | bytes], config: bytes | None = CONFIG) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (root / "configuration.json").write_bytes(config)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root.resolve()


def local_file(path: Path, rel: str = "f") -> LocalFile:
    info = os.stat(path)
    return LocalFile(rel, str(path), info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)


# -- is_lfs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "size", "lfs"),
    [
        ("model.safetensors", 0, True),  # weight suffixes always go LFS
        ("sub/pytorch_model.BIN", 5, True),  # case-insensitive
        ("archive.tar", 1, True),
        ("notes.txt", LFS_THRESHOLD, False),  # exactly the threshold stays inline
        ("notes.txt", LFS_THRESHOLD + 1, True),
        ("README.md", LFS_THRESHOLD * 10, False),  # inline names stay inline up to the commit budget
        ("deep/config.json", 1_000_000, False),
        ("configuration.json", INLINE_MAX, False),
        ("configuration.json", INLINE_MAX + 1, True),  # too big for a commit: LFS anyway
        (".gitattributes", 100, False),
        ("safetensors", 10, False),  # a name, not a suffix
    ],
)
def test_is_lfs(path: str, size: int, lfs: bool) -> None:
    assert is_lfs(path, size) is lfs


# -- plan_push ---------------------------------------------------------------------------------------
def test_plan_push_classifies_every_file() -> None:
    local = {
        "same.txt": (sha("same"), 4),
        "changed.txt": (sha("new"), 3),
        "resized.bin": (sha("x"), 9),
        "added/model.safetensors": (sha("w"), 1),
    }
    remote = {
        "same.txt": repo_file("same.txt", sha("same"), 4),
        "changed.txt": repo_file("changed.txt", sha("old"), 3),
        "resized.bin": repo_file("resized.bin", sha("x"), 8),
        "zz-gone.txt": repo_file("zz-gone.txt", sha("gone"), 4),
        "a-gone.txt": repo_file("a-gone.txt", sha("gone"), 7),
    }
    plan = plan_push(local, remote)
    assert [(c.path, c.change, c.lfs) for c in plan.uploads] == [
        ("added/model.safetensors", "added", True),
        ("changed.txt", "changed", False),
        ("resized.bin", "changed", True),
    ]
    deletes = [(c.path, c.change, c.size) for c in plan.deletes]
    assert deletes == [("a-gone.txt", "deleted", 7), ("zz-gone.txt", "deleted", 4)]
    assert plan.unchanged == 1 and not plan.empty
    assert [c.path for c in plan.changes()] == sorted(c.path for c in plan.uploads + plan.deletes)
    kept = plan_push(local, remote, delete_missing=False)
    assert kept.deletes == [] and kept.uploads == plan.uploads


def test_plan_push_of_an_identical_tree_is_empty() -> None:
    local = {"a": (sha("a"), 1), "b/c": (sha("c"), 1)}
    remote = {p: repo_file(p, s, n) for p, (s, n) in local.items()}
    plan = plan_push(local, remote)
    assert plan.empty and plan.unchanged == 2 and plan.changes() == []
    assert plan_push({}, {}).empty


def test_to_operation() -> None:
    inline = FileChange(path="a.txt", change="added", size=2, sha256=sha("hi"), lfs=False)
    assert to_operation(inline, b"hi").to_wire()["content"] == "aGk="
    lfs = FileChange(path="w.bin", change="changed", size=5, sha256=sha("w"), lfs=True)
    wire = to_operation(lfs, b"ignored").to_wire()
    assert (wire["type"], wire["sha256"], wire["content"]) == ("lfs", sha("w"), "")
    gone = to_operation(FileChange(path="x", change="deleted"))
    assert (gone.action, gone.path) == ("delete", "x")


# -- commit_batches ----------------------------------------------------------------------------------
def test_commit_batches_respect_the_action_limit_and_keep_path_order() -> None:
    changes = [FileChange(path=f"f{i:05d}", change="deleted") for i in reversed(range(2 * COMMIT_MAX_ACTIONS + 1))]
    batches = commit_batches(changes)
    assert [len(b) for b in batches] == [COMMIT_MAX_ACTIONS, COMMIT_MAX_ACTIONS, 1]
    flat = [c.path for b in batches for c in b]
    assert flat == sorted(flat)
    assert commit_batches([]) == []
    assert [len(b) for b in commit_batches(changes[:COMMIT_MAX_ACTIONS])] == [COMMIT_MAX_ACTIONS]


def test_commit_batches_respect_the_byte_budget_of_inline_content() -> None:
    size = 2 * 1024 * 1024  # base64 makes it ~2.7 MiB: three fit in 8 MiB, four do not
    inline = [FileChange(path=f"README-{i}.md", change="added", size=size, lfs=False) for i in range(7)]
    batches = commit_batches(inline)
    assert [len(b) for b in batches] == [2, 2, 2, 1]
    lfs = [FileChange(path=f"w{i}.bin", change="added", size=10**9, lfs=True) for i in range(50)]
    assert len(commit_batches(lfs)) == 1  # LFS pointers cost no content bytes
    huge = [FileChange(path="README.md", change="added", size=COMMIT_MAX_BYTES, lfs=False)]
    assert commit_batches(huge) == [huge]  # a single action always gets a batch of its own


# -- tree_differences --------------------------------------------------------------------------------
def test_tree_differences() -> None:
    local = {"a": (sha("a"), 1), "b": (sha("b"), 1), "c": (sha("c"), 1)}
    remote = {
        "a": repo_file("a", sha("a"), 1),
        "b": repo_file("b", sha("B"), 1),
        "extra": repo_file("extra", sha("e"), 1),
    }
    problems = tree_differences(local, remote)
    assert len(problems) == 3
    assert problems[0].startswith("b: hub has 1 bytes")
    assert problems[1] == "c: missing on the hub"
    assert problems[2] == "extra: on the hub but not in the folder"
    assert tree_differences(local, remote, delete_missing=False) == problems[:2]
    assert tree_differences(local, {p: repo_file(p, s, n) for p, (s, n) in local.items()}) == []


# -- check_folder --------------------------------------------------------------------------------------
def test_check_folder_accepts_a_model_folder(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "m", {})
    assert check_folder(tmp_path / "m") == folder
    assert check_folder(str(tmp_path / "m" / ".." / "m")) == folder


@pytest.mark.parametrize(
    ("config", "match"),
    [(None, "missing"), (b"nope", "not valid JSON"), (b"[1]", "JSON object"), (b"\x80", "not valid JSON")],
)
def test_check_folder_refuses_a_bad_configuration(tmp_path: Path, config: bytes | None, match: str) -> None:
    folder_with(tmp_path / "m", {}, config=config)
    with pytest.raises(InvalidParameter, match=match):
        check_folder(tmp_path / "m")


def test_check_folder_refuses_missing_folders_and_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="does not exist"):
        check_folder(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidParameter, match="is a file"):
        check_folder(tmp_path / "file")


# -- normalize_patterns --------------------------------------------------------------------------------
def test_normalize_patterns() -> None:
    assert normalize_patterns(None) == []
    assert normalize_patterns("*.log") == ["*.log"]
    assert normalize_patterns(["a", "b/*"]) == ["a", "b/*"]
    assert normalize_patterns(("a",)) == ["a"]
    assert normalize_patterns(p for p in ["g"]) == ["g"]
    for bad in (5, [5], ["ok", None], [""], b"*.bin", object()):
        with pytest.raises(InvalidParameter, match="ignore_file_pattern"):
            normalize_patterns(bad)  # type: ignore[arg-type]


# -- scan_folder ---------------------------------------------------------------------------------------
def test_scan_is_sorted_and_skips_git_cache_and_sdk_state(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path / "m",
        {
            "b.txt": "b",
            "a/z.txt": "z",
            "a/b/c.txt": "c",
            ".git/HEAD": "ref",
            "sub/.git/x": "x",
            ".cache/blob": "x",
            ".ms_upload_progress": "{}",
            "a/.ms_upload_cache": "{}",
            ".gitattributes": "*.bin filter=lfs",
            "empty": "",
        },
    )
    files = scan_folder(folder)
    assert [f.path for f in files] == [".gitattributes", "a/b/c.txt", "a/z.txt", "b.txt", "configuration.json", "empty"]
    first = files[1]
    assert (first.size, first.abspath) == (1, str(folder / "a" / "b" / "c.txt"))


def test_scan_ignore_patterns_match_relative_paths_basenames_and_folders(tmp_path: Path) -> None:
    folder = folder_with(
        tmp_path / "m", {"x.log": "", "deep/y.log": "", "logs/keep.txt": "", "out/ckpt/a.pt": "", "out/b.pt": ""}
    )
    paths = lambda globs: [f.path for f in scan_folder(folder, IgnoreRules(globs=tuple(globs)))]  # noqa: E731
    assert paths(["*.log"]) == ["configuration.json", "logs/keep.txt", "out/b.pt", "out/ckpt/a.pt"]
    assert paths(["logs"]) == ["configuration.json", "deep/y.log", "out/b.pt", "out/ckpt/a.pt", "x.log"]
    assert paths(["out/ckpt"]) == ["configuration.json", "deep/y.log", "logs/keep.txt", "out/b.pt", "x.log"]
    assert paths(["deep/*", "out/b.pt"]) == ["configuration.json", "logs/keep.txt", "out/ckpt/a.pt", "x.log"]
    assert paths(["out/*.pt"]) == ["configuration.json", "deep/y.log", "logs/keep.txt", "x.log"]  # fnmatch: * spans /


def test_scan_ignore_regexes_are_searched_in_relative_paths(tmp_path: Path) -> None:
    files = {"checkpoint-12/w.bin": "", "checkpoint-x/w.bin": "", "runs/checkpoint-3.pt": "", "a.tmp": "", "b.txt": ""}
    folder = folder_with(tmp_path / "m", files)
    paths = lambda regexes: [f.path for f in scan_folder(folder, IgnoreRules(regexes=tuple(regexes)))]  # noqa: E731
    # the seed's top-level names (a folder is left out whole) ... and a match anywhere in the path
    assert paths([r"checkpoint-\d+"]) == ["a.tmp", "b.txt", "checkpoint-x/w.bin", "configuration.json"]
    assert paths([r"^checkpoint-\d+$"]) == [
        "a.tmp",
        "b.txt",
        "checkpoint-x/w.bin",
        "configuration.json",
        "runs/checkpoint-3.pt",
    ]
    assert paths([r"\.tmp$", "^b"]) == [
        "checkpoint-12/w.bin",
        "checkpoint-x/w.bin",
        "configuration.json",
        "runs/checkpoint-3.pt",
    ]


@pytest.mark.parametrize("bad", ["*.log", "(", "[a-"])
def test_an_invalid_regex_is_refused_and_points_to_globs(bad: str) -> None:
    with pytest.raises(InvalidParameter, match=r"not a valid regular expression.*ignore_patterns"):
        normalize_regexes(bad)
    with pytest.raises(InvalidParameter, match="ignore_file_pattern"):
        PushOptions(ignore_file_pattern=[bad])


def test_a_mirror_plan_never_deletes_top_level_dot_entries_or_ignored_paths() -> None:
    local = {"a.txt": (sha("a.txt"), 1)}
    remote = {
        p: repo_file(p, sha(p), 1)
        for p in ("a.txt", ".gitattributes", ".github/workflow.yml", "sub/.keep", "logs/run.log", "old.bin")
    }
    ignored = IgnoreRules(regexes=(r"^logs/",))
    assert [c.path for c in plan_push(local, remote, ignored=ignored).deletes] == ["old.bin", "sub/.keep"]
    assert tree_differences(local, remote, ignored=ignored) == [
        f"{p}: on the hub but not in the folder" for p in ("old.bin", "sub/.keep")
    ]
    assert managed("weights/a.bin") and not managed(".gitattributes")
    assert not managed("x.log", ignored=lambda p: True)


def test_scan_skips_the_given_paths(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "m", {"cache.sqlite": "x", "cache.sqlite-wal": "y", "keep": "z"})
    skip = [str(folder / "cache.sqlite"), str(folder / "cache.sqlite-wal"), str(folder / "cache.sqlite-shm")]
    assert [f.path for f in scan_folder(folder, skip_paths=skip)] == ["configuration.json", "keep"]


def test_scan_follows_symlinks_inside_and_refuses_ones_outside(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "m", {"real/data.txt": "d"})
    (folder / "alias.txt").symlink_to(folder / "real" / "data.txt")
    (folder / "mirror").symlink_to(folder / "real", target_is_directory=True)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    files = {f.path: f for f in scan_folder(folder)}
    # Links inside are published as copies (the target too); the link back to the root is not followed.
    assert set(files) == {"alias.txt", "configuration.json", "mirror/data.txt", "real/data.txt"}
    assert files["alias.txt"].abspath == str(folder / "real" / "data.txt")

    (tmp_path / "secret.txt").write_text("s")
    (folder / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(InvalidParameter, match="outside the model folder"):
        scan_folder(folder)
    (folder / "leak.txt").unlink()
    (folder / "up").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(InvalidParameter, match="outside the model folder"):
        scan_folder(folder)


@pytest.mark.parametrize(
    "name", [".env", ".env.local", "id_rsa", "id_ecdsa.pub", "k.pem", "k.key", "a.p12", "a.pfx", ".netrc", "x/.npmrc"]
)
def test_scan_refuses_secret_looking_files(tmp_path: Path, name: str) -> None:
    folder = folder_with(tmp_path / "m", {name: "secret"})
    with pytest.raises(InvalidParameter, match="looks like a secret"):
        scan_folder(folder)
    assert name in [f.path for f in scan_folder(folder, allow_secret_files=True)]
    assert name in [f.path for f in scan_folder(folder, allow_secret_files=[name.rsplit("/", 1)[-1]])]
    assert name not in [f.path for f in scan_folder(folder, IgnoreRules(globs=(name,)))]
    with pytest.raises(InvalidParameter):
        scan_folder(folder, allow_secret_files=["nothing-matches"])


def test_environment_like_names_that_are_not_secrets_are_fine(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "m", {"env.py": "", "environment.yml": "", "keys.json": "", "pem.txt": ""})
    assert len(scan_folder(folder)) == 5


def test_scan_refuses_unreadable_files(tmp_path: Path) -> None:
    """In a child bound by file permissions (as root too: tests/helpers/permissions.py)."""
    folder = folder_with(tmp_path / "m", {"locked": "x", "open.txt": "y"})
    (folder / "locked").chmod(0)
    call = "    from hub_tasks.push.scan import scan_folder\n    result = len(scan_folder(args))"
    try:
        outcome = bound_by_permissions(call, str(folder))
        (folder / "locked").chmod(0o644)
        readable = bound_by_permissions(call, str(folder))
    finally:
        (folder / "locked").chmod(0o644)
    assert outcome["error"] == "InvalidParameter" and "cannot be read" in outcome["text"], outcome
    assert readable == {"error": None, "result": 3}  # the same child reads it once it may (and the config)


def test_scan_does_not_loop_through_links_between_folders(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "m", {"a/x.txt": "x", "b/y.txt": "y"})
    (folder / "a" / "to-b").symlink_to(folder / "b", target_is_directory=True)
    (folder / "b" / "to-a").symlink_to(folder / "a", target_is_directory=True)
    (folder / "b" / "self").symlink_to(folder / "b", target_is_directory=True)
    assert [f.path for f in scan_folder(folder)] == [
        "a/to-b/y.txt",
        "a/x.txt",
        "b/to-a/x.txt",
        "b/y.txt",
        "configuration.json",
    ]


def test_scan_refuses_fifos_and_dangling_links(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "m", {})
    (folder / "dangling").symlink_to(folder / "nowhere")
    with pytest.raises(InvalidParameter, match="cannot be read"):
        scan_folder(folder)
    (folder / "dangling").unlink()
    os.mkfifo(folder / "pipe")
    with pytest.raises(InvalidParameter, match="not a regular file"):
        scan_folder(folder)


# -- hashing and the hash cache ------------------------------------------------------------------------
def test_sha256_file_reports_progress(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = os.urandom(100_000)
    path.write_bytes(data)
    seen: list[int] = []
    assert sha256_file(str(path), seen.append) == hashlib.sha256(data).hexdigest()
    assert sum(seen) == len(data)
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(str(tmp_path / "empty")) == hashlib.sha256(b"").hexdigest()


def test_hash_cache_remembers_unchanged_files(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    want = hashlib.sha256(b"weights").hexdigest()
    cache = HashCache(tmp_path / "c" / "hashes.sqlite")
    assert cache.hash(local_file(path)) == (want, False)
    seen: list[int] = []
    assert cache.hash(local_file(path), seen.append) == (want, True)
    assert seen == [len(b"weights")]  # a hit still reports the bytes as done
    cache.close()
    reopened = HashCache(tmp_path / "c" / "hashes.sqlite")
    assert reopened.lookup(local_file(path)) == want
    path.write_bytes(b"WEIGHTS")  # same size, new mtime
    os.utime(path, ns=(1, 1))
    assert reopened.lookup(local_file(path)) is None
    assert reopened.hash(local_file(path)) == (hashlib.sha256(b"WEIGHTS").hexdigest(), False)
    reopened.close()


def test_hash_cache_files_and_disabled_cache(tmp_path: Path) -> None:
    cache = HashCache(tmp_path / "h.sqlite")
    assert cache.files() == [str(tmp_path / f"h.sqlite{s}") for s in ("", "-wal", "-shm", "-journal")]
    cache.close()
    off = HashCache(None)
    path = tmp_path / "f"
    path.write_bytes(b"x")
    assert off.files() == [] and off.lookup(local_file(path)) is None
    assert off.hash(local_file(path)) == (hashlib.sha256(b"x").hexdigest(), False)
    off.store(local_file(path), "0" * 64)
    off.close()


def test_a_corrupt_hash_cache_is_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "hashes.sqlite"
    db.write_bytes(b"garbage, not sqlite" * 1000)
    path = tmp_path / "f"
    path.write_bytes(b"data")
    cache = HashCache(db)
    assert cache.hash(local_file(path)) == (hashlib.sha256(b"data").hexdigest(), False)
    assert cache.hash(local_file(path))[1] is True
    cache.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM hashes").fetchone()[0] == 1


def test_a_bad_cached_value_is_not_trusted(tmp_path: Path) -> None:
    db = tmp_path / "hashes.sqlite"
    path = tmp_path / "f"
    path.write_bytes(b"data")
    cache = HashCache(db)
    cache.store(local_file(path), "not-a-hash")
    assert cache.lookup(local_file(path)) is None
    cache.close()


def test_a_file_changing_while_hashed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"before")
    stale = local_file(path)
    path.write_bytes(b"after, and longer")
    with pytest.raises(InvalidParameter, match="changed while it was being hashed"):
        HashCache(None).hash(stale)
