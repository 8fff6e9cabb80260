"""The store and the blob store called directly: persistence, atomicity, blob writes, and layering.

This is the only test module allowed to reach into `local_hub.store` and `local_hub.blobs`.
"""

from __future__ import annotations

import ast
import ctypes
import mmap
import os
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from local_hub.blobs import BlobStore
from local_hub.errors import AlreadyExists, BadRequest, DatasetAlreadyExists, NotFound
from local_hub.state import HubOptions, HubState
from local_hub.store import CommitAction, validate_name, validate_ref_name, validate_repo_path
from tests.helpers.hub import TOKENS, start_local_hub
from tests.helpers.hub_http import create_model, download, list_files, paths, push, sha

PACKAGE = Path(__file__).resolve().parents[2] / "local_hub"


def new_state(data_dir: Path) -> HubState:
    return HubState(HubOptions(data_dir=data_dir, users={"alice": "tok-a", "bob": "tok-b"}, fsync=False))


def files_on_disk(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def cached_pages(path: Path) -> int:
    """How many of the file's pages sit in the page cache, by mincore(2) on a read-only mapping."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = path.stat().st_size
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    with open(path, "rb") as handle:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, handle.fileno(), 0)
        assert address not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        try:
            vector = ctypes.create_string_buffer(pages)
            assert libc.mincore(address, size, vector) == 0, os.strerror(ctypes.get_errno())
            return sum(byte & 1 for byte in vector.raw)
        finally:
            libc.munmap(address, size)


# -- store -------------------------------------------------------------------------------------
def test_state_survives_a_new_store_on_the_same_directory(tmp_path):
    state = new_state(tmp_path)
    store = state.store
    alice = store.user_for_token("tok-a")
    repo = store.create_repo("alice", "m", created_by="alice", visibility=1)
    blob = state.blobs.put_bytes(b"large weights")
    first = store.commit(
        repo,
        "master",
        "first",
        alice,
        [CommitAction("create", "a.txt", size=2, content=b"hi"), CommitAction("create", "w.bin", "lfs", 13, blob)],
    )
    store.create_tag(repo, "v1", "master")
    second = store.commit(repo, "master", "second", alice, [CommitAction("delete", "a.txt")])

    again = new_state(tmp_path)
    reopened = again.store.find_repo("alice", "m")
    assert (reopened.id, reopened.visibility, reopened.created_by, reopened.created_at) == (
        repo.id,
        1,
        "alice",
        repo.created_at,
    )
    assert again.store.resolve(reopened, "master") == second.id
    assert again.store.resolve(reopened, "v1") == first.id
    assert [e.path for e in again.store.tree(first.id)] == ["a.txt", "w.bin"]
    assert [(e.path, e.is_lfs, e.last_commit) for e in again.store.tree(second.id)] == [("w.bin", True, first.id)]
    history, total = again.store.history(second.id, 0, 10)
    assert [c.id for c in history] == [second.id, first.id] and total == 2
    assert again.blobs.has(blob, 13) and again.blobs.has(sha(b"hi"), 2)
    assert again.store.user_for_token("tok-a").git_token == alice.git_token  # the git token is stable
    assert again.store.commit_count() == 2


def test_a_failed_store_commit_changes_nothing(tmp_path):
    state = new_state(tmp_path)
    store = state.store
    alice = store.user_for_token("tok-a")
    repo = store.create_repo("alice", "m", created_by="alice")
    head = store.commit(repo, "master", "first", alice, [CommitAction("create", "a.txt", size=1, content=b"a")])
    bad = [CommitAction("delete", "a.txt"), CommitAction("create", "w.bin", "lfs", 5, "0" * 64)]
    with pytest.raises(BadRequest):
        store.commit(repo, "master", "bad", alice, bad)
    assert store.resolve(repo, "master") == head.id
    assert [e.path for e in store.tree(head.id)] == ["a.txt"]
    assert store.commit_count() == 1


# The repos table before repo types (a data dir of an older local_hub): a name was unique per owner.
OLD_REPOS = """
CREATE TABLE repos(
    id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, name TEXT NOT NULL,
    visibility INTEGER NOT NULL, license TEXT NOT NULL, chinese_name TEXT NOT NULL,
    description TEXT NOT NULL, original_model_id TEXT NOT NULL, created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE(owner, name));
INSERT INTO repos VALUES (7, 'alice', 'm', 1, 'MIT', '', '', '', 'alice', 1, 2);
"""


def test_a_data_dir_from_before_repo_types_keeps_its_models(tmp_path):
    with sqlite3.connect(tmp_path / "hub.db") as db:
        db.executescript(OLD_REPOS)
    store = new_state(tmp_path).store
    model = store.find_repo("alice", "m")
    assert (model.id, model.repo_type, model.visibility, model.license) == (7, "model", 1, "MIT")
    dataset = store.create_repo("alice", "m", created_by="alice", repo_type="dataset")  # its own name space
    assert dataset.id == 8 and store.find_repo("alice", "m", "dataset") == dataset
    with pytest.raises(AlreadyExists):
        store.create_repo("alice", "m", created_by="alice")
    with pytest.raises(DatasetAlreadyExists):
        store.create_repo("alice", "m", created_by="alice", repo_type="dataset")


def _reference_listing(files: list, root: str, recursive: bool, folders: bool) -> list[tuple[str, str, str]]:
    """(path, kind, commit) of a listing, computed from every file the plain way (the walk routes_repo did)."""
    prefix = f"{root}/" if root else ""
    newest: dict[str, object] = {}
    listed = []
    for entry in files:
        if not entry.path.startswith(prefix):
            continue
        parts = entry.path[len(prefix) :].split("/")
        depth = len(parts) - 1 if recursive else min(1, len(parts) - 1)
        for i in range(1, depth + 1):
            folder = prefix + "/".join(parts[:i])
            if folder not in newest or entry.committed_at > newest[folder].committed_at:
                newest[folder] = entry
        if recursive or len(parts) == 1:
            listed.append((entry.path, "blob", entry.last_commit))
    if folders or not recursive:
        listed += [(path, "tree", e.last_commit) for path, e in newest.items()]
    return sorted(listed)


def test_listings_cut_in_sql_match_a_walk_of_the_whole_tree(tmp_path):
    """2,500 files in nested folders over two commits (the second a second later, touching one folder):
    every listing shape the routes use, and its pages, against the plain walk of the whole tree."""
    state = new_state(tmp_path)
    store, alice = state.store, state.store.user_for_token("tok-a")
    repo = store.create_repo("alice", "big", created_by="alice", repo_type="dataset")
    actions = [CommitAction("create", f"d{i % 5}/s{i % 3}/f{i:04d}.txt", size=1, content=b"x") for i in range(1997)]
    actions += [CommitAction("create", f"top{i}.txt", size=1, content=b"x") for i in range(3)]
    store.commit(repo, "master", "first", alice, actions)
    state.options.clock_offset_seconds = 5  # the second commit comes later (the clock reads the option)
    more = [CommitAction("create", f"d1/s2/g{i:03d}.txt", size=1, content=b"y") for i in range(500)]
    head = store.commit(repo, "master", "second", alice, more).id
    files = store.tree(head)
    assert len(files) == 2500

    def shape(entries):
        return [(e.path, e.kind, e.last_commit) for e in entries]

    for root in ("", "d1", "d1/s2"):
        for recursive, folders in ((True, False), (False, True), (True, True)):
            expected = _reference_listing(files, root, recursive, folders)
            assert shape(store.list_tree(head, root, recursive=recursive, folders=folders)) == expected
            pages = [
                store.list_tree(head, root, recursive=recursive, folders=folders, offset=o, limit=200)
                for o in range(0, len(expected) + 200, 200)
            ]
            assert [e for page in pages for e in shape(page)] == expected and pages[-1] == []
    d1 = {e.path: e for e in store.list_tree(head, "", recursive=False, folders=True)}
    assert d1["d1"].last_commit == head and d1["d0"].last_commit != head  # a folder shows its newest change
    with pytest.raises(NotFound):
        store.list_tree(head, "d9", recursive=True, folders=False)


@pytest.mark.parametrize("name", ["", ".", "..", "a b", "a/b", "abc\n", "模型", "x" * 129, None])
def test_validate_name_rejects(name):
    with pytest.raises(BadRequest):
        validate_name(name, "model name")


@pytest.mark.parametrize("name", ["m", "M.v-1_x", "x" * 128, ".hidden"])
def test_validate_name_accepts(name):
    assert validate_name(name, "model name") == name


@pytest.mark.parametrize("name", ["", "a..b", " v", "v\n", "/v", "v/", "v.lock", "-v", "a//b", "a@{b", "a\\b"])
def test_validate_ref_name_rejects(name):
    with pytest.raises(BadRequest):
        validate_ref_name(name, "tag")


@pytest.mark.parametrize("path", ["", "/a", "a/", "a//b", "./a", "a/..", "a\\b", "a\x00b", None])
def test_validate_repo_path_rejects(path):
    with pytest.raises(BadRequest):
        validate_repo_path(path)


# -- blobs -------------------------------------------------------------------------------------
def test_blob_writer_abort_leaves_nothing(tmp_path):
    blobs = BlobStore(tmp_path, fsync=False)
    writer = blobs.writer()
    writer.write(b"half an upload")
    writer.abort()
    writer.abort()  # safe twice
    assert files_on_disk(tmp_path) == []
    assert not blobs.has(sha(b"half an upload"))


@pytest.mark.parametrize(("announced_sha", "announced_size"), [("0" * 64, 5), (None, 6)])
def test_blob_writer_refuses_a_mismatch_and_leaves_nothing(tmp_path, announced_sha, announced_size):
    blobs = BlobStore(tmp_path, fsync=False)
    writer = blobs.writer()
    writer.write(b"hello")
    with pytest.raises(BadRequest):
        writer.commit(announced_sha or sha(b"hello"), announced_size)
    assert files_on_disk(tmp_path) == []
    assert not blobs.has(sha(b"hello"))


def test_blob_writer_commit_stores_by_hash(tmp_path):
    blobs = BlobStore(tmp_path, fsync=True)
    writer = blobs.writer()
    for piece in (b"abc", b"", b"def"):
        writer.write(piece)
    digest = writer.commit(sha(b"abcdef"), 6)
    assert digest == sha(b"abcdef")
    assert files_on_disk(tmp_path) == [blobs.path_for(digest)]
    assert blobs.path_for(digest).read_bytes() == b"abcdef"
    assert blobs.has(digest, 6) and not blobs.has(digest, 7) and blobs.size_of(digest) == 6


@pytest.mark.skipif(sys.platform != "linux", reason="page cache residency is read with Linux's mincore")
def test_a_durable_blob_leaves_the_page_cache(tmp_path):
    probe = tmp_path / "probe"
    probe.write_bytes(os.urandom(1 << 20))
    with open(probe, "rb+") as handle:
        os.fsync(handle.fileno())
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    if cached_pages(probe):
        pytest.skip("this file system keeps clean pages cached (tmpfs?): nothing to drop")
    probe.unlink()
    blobs = BlobStore(tmp_path, fsync=True)
    data = os.urandom(3 << 20)
    writer = blobs.writer()
    for start in range(0, len(data), 1 << 20):
        writer.write(data[start : start + (1 << 20)])
    digest = writer.commit(sha(data), len(data))
    # fsynced, then dropped: the stored blob takes no page cache from the machine's clients.
    assert cached_pages(blobs.path_for(digest)) == 0
    assert blobs.path_for(digest).read_bytes() == data


def test_put_bytes_dedups(tmp_path):
    blobs = BlobStore(tmp_path, fsync=False)
    first = blobs.put_bytes(b"same bytes")
    stat = blobs.path_for(first).stat()
    assert blobs.put_bytes(b"same bytes") == first
    assert files_on_disk(tmp_path) == [blobs.path_for(first)]
    again = blobs.path_for(first).stat()
    assert (again.st_ino, again.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)  # not rewritten
    assert blobs.put_bytes(b"") == sha(b"") and blobs.has(sha(b""), 0)


def test_stale_temp_files_are_dropped_at_start(tmp_path):
    BlobStore(tmp_path, fsync=False).writer().write(b"crashed mid-upload")  # never committed nor aborted
    assert len(files_on_disk(tmp_path / "tmp")) == 1
    BlobStore(tmp_path, fsync=False)
    assert files_on_disk(tmp_path) == []


# -- a real server restart ---------------------------------------------------------------------
def test_state_survives_a_server_process_restart(tmp_path):
    weights = bytes(range(256)) * 64
    with start_local_hub(tmp_path) as process:
        hub = SimpleNamespace(url=process.url, tokens=dict(TOKENS))
        create_model(hub, "alice/kept", visibility=1)
        oid = push(hub, "alice/kept", {"README.md": b"# kept", "w/model.bin": weights}, lfs_paths=["w/model.bin"])
    with start_local_hub(tmp_path) as process:
        hub = SimpleNamespace(url=process.url, tokens=dict(TOKENS))
        files = list_files(hub, "alice/kept", Recursive="True")
        # The hub's own .gitattributes (the default mode, on-create) came with the repo's first commit.
        assert paths(files) == [".gitattributes", "README.md", "w", "w/model.bin"]
        assert {f["Revision"] for f in files if f["Path"] != ".gitattributes"} == {oid}
        assert download(hub, "alice/kept", "w/model.bin").content == weights
        assert download(hub, "alice/kept", "README.md", user="bob").status_code == 404  # still private


# -- layering ----------------------------------------------------------------------------------
def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


STATE_MODULES = (
    "store",
    "store_db",
    "store_repos",
    "store_trees",
    "store_history",
    "records",
    "repo_types",
    "hub_files",
    "blobs",
    "clock",
    "errors",
)


def test_store_imports_no_http_framework():
    """store.py and the local modules it builds on are plain Python: no starlette, no uvicorn."""
    store_imports = _imported_modules(PACKAGE / "store.py")
    assert {"local_hub.records", "local_hub.store_history"} <= store_imports  # the parse really saw the imports
    built_on = {m for name in STATE_MODULES for m in _imported_modules(PACKAGE / f"{name}.py")}
    local = {m for m in built_on if m.startswith("local_hub.")}
    assert local <= {f"local_hub.{name}" for name in STATE_MODULES}  # every module the store builds on is checked
    for module in STATE_MODULES:
        for imported in _imported_modules(PACKAGE / f"{module}.py"):
            top = imported.split(".")[0]
            assert top not in {"starlette", "uvicorn", "anyio", "httptools"}, f"{module}.py imports {imported}"


def test_local_hub_never_imports_hub_tasks():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 10
    for source in sources:
        for imported in _imported_modules(source):
            assert imported.split(".")[0] != "hub_tasks", f"{source.name} imports {imported}"
