"""The pure part of a publish: which files go as LFS blobs, what changes, and how commits are split.

No I/O here; `engine.py` feeds it hashes and listings and executes what it returns.

The mirror rule lives here too: a publish with `delete_missing` deletes the remote files the folder
lacks, but only those it manages (`managed`): never a top-level dot entry (`.gitattributes` that the
hub writes itself, `.gitignore`, ...; the seed never deleted them either), and never a path the
publish's ignore rules match ("ignored" means "not managed by this publish", not "delete it").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from hub_tasks.types import CommitOperation, FileChange, RepoFile

# protocol.md §10.2 (new client rules): these names always travel inline in the commit ...
INLINE_NAMES = frozenset(
    {
        "readme.md",
        ".gitattributes",
        ".gitignore",
        "configuration.json",
        "configuration.yaml",
        "configuration.yml",
        "dataset_infos.json",
        "config.json",
        ".msc",
        ".mdl",
    }
)
# ... files above 64 KiB and files with a model-weight suffix go as LFS blobs ...
LFS_THRESHOLD = 64 * 1024
LFS_SUFFIXES = (
    ".7z",
    ".arrow",
    ".bin",
    ".bz2",
    ".ckpt",
    ".ftz",
    ".gz",
    ".h5",
    ".joblib",
    ".mlmodel",
    ".model",
    ".msgpack",
    ".npy",
    ".npz",
    ".onnx",
    ".ot",
    ".parquet",
    ".pb",
    ".pickle",
    ".pkl",
    ".pt",
    ".pth",
    ".rar",
    ".safetensors",
    ".tar",
    ".tflite",
    ".tgz",
    ".wasm",
    ".xz",
    ".zip",
    ".zst",
)
# A dataset's small files go as LFS blobs by a longer list of suffixes (data, images, audio: SDK 1.40's
# DATASET_LFS_SUFFIX, protocol.md §21.7); `.jsonl` is one, which a model commits inline.
DATASET_LFS_SUFFIXES = (
    ".7z", ".aac", ".arrow", ".audio", ".bmp", ".bin", ".bz2", ".flac", ".ftz", ".gif", ".gz", ".h5", ".jack",
    ".jpeg", ".jpg", ".png", ".jsonl", ".joblib", ".lz4", ".msgpack", ".npy", ".npz", ".ot", ".parquet", ".pb",
    ".pickle", ".pcm", ".pkl", ".raw", ".rar", ".sam", ".tar", ".tgz", ".wasm", ".wav", ".webm", ".webp", ".zip",
    ".zst", ".tiff", ".mp3", ".mp4", ".ogg",
)  # fmt: skip
SUFFIXES_BY_REPO_TYPE = {"model": LFS_SUFFIXES, "dataset": DATASET_LFS_SUFFIXES}
# ... except that an inline file this large would not fit the commit budget, so it goes LFS anyway.
INLINE_MAX = 4 * 1024 * 1024
COMMIT_MAX_ACTIONS = 2000  # the hub's limit: more is a 422 (§10.5)
COMMIT_MAX_BYTES = 8 * 1024 * 1024  # the SDK's request budget for one commit body (§10.6)
_ACTION_OVERHEAD = 192
_ENVELOPE_OVERHEAD = 512


def is_lfs(path: str, size: int, repo_type: str = "model") -> bool:
    """Whether a file of a model (or dataset) travels as an LFS blob (True) or inline in the commit (False).

    Example:
        >>> is_lfs("weights/model.safetensors", 10), is_lfs("README.md", 10), is_lfs("data.txt", 100_000)
        (True, False, True)
        >>> is_lfs("train.jsonl", 10), is_lfs("train.jsonl", 10, "dataset")
        (False, True)
    """
    name = path.rsplit("/", 1)[-1].lower()
    if size > INLINE_MAX:
        return True
    if name in INLINE_NAMES:
        return False
    return size > LFS_THRESHOLD or name.endswith(SUFFIXES_BY_REPO_TYPE[repo_type])


@dataclass
class PushPlan:
    """What a publish must do to make the remote revision equal the folder."""

    uploads: list[FileChange] = field(default_factory=list)  # added or changed, sorted by path
    deletes: list[FileChange] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        """Nothing to commit."""
        return not self.uploads and not self.deletes

    def changes(self) -> list[FileChange]:
        """Every change, sorted by path."""
        return sorted(self.uploads + self.deletes, key=lambda c: c.path)


def managed(path: str, ignored: Callable[[str], bool] = lambda _: False) -> bool:
    """Whether a mirror publish may delete the remote file `path` when the folder lacks it.

    Example:
        >>> managed("weights/a.bin"), managed(".gitattributes"), managed("sub/.keep")
        (True, False, True)
        >>> managed("logs/run.log", lambda p: p.endswith(".log"))
        False
    """
    return not path.split("/", 1)[0].startswith(".") and not ignored(path)


def plan_push(
    local: Mapping[str, tuple[str, int]],
    remote: Mapping[str, RepoFile],
    delete_missing: bool = True,
    ignored: Callable[[str], bool] = lambda _: False,
    repo_type: str = "model",
) -> PushPlan:
    """Compare the folder's manifest (path -> (sha256, size)) with the remote files; with
    `delete_missing`, the remote files the folder lacks are deleted when `managed`. `repo_type`
    decides which small files go as LFS blobs (`is_lfs`).

    Example:
        >>> plan = plan_push({"a.txt": ("0" * 64, 1)}, {})
        >>> [(c.path, c.change) for c in plan.uploads]
        [('a.txt', 'added')]
    """
    plan = PushPlan()
    for path in sorted(local):
        sha, size = local[path]
        theirs = remote.get(path)
        if theirs is not None and theirs.sha256 == sha and theirs.size == size:
            plan.unchanged += 1
            continue
        change = "added" if theirs is None else "changed"
        plan.uploads.append(
            FileChange(path=path, change=change, size=size, sha256=sha, lfs=is_lfs(path, size, repo_type))
        )
    if delete_missing:
        for path in sorted(set(remote) - set(local)):
            if managed(path, ignored):
                plan.deletes.append(FileChange(path=path, change="deleted", size=remote[path].size))
    return plan


def _action_bytes(change: FileChange) -> int:
    inline = 0 if change.change == "deleted" or change.lfs else (change.size + 2) // 3 * 4
    return _ACTION_OVERHEAD + len(change.path.encode()) + inline


def commit_batches(changes: Iterable[FileChange]) -> list[list[FileChange]]:
    """Split changes into as few commits as the hub's limits allow (2000 actions, ~8 MiB body).

    Example:
        >>> len(commit_batches(FileChange(path=f"f{i}", change="deleted") for i in range(4500)))
        3
    """
    batches: list[list[FileChange]] = [[]]
    budget = _ENVELOPE_OVERHEAD
    for change in sorted(changes, key=lambda c: c.path):
        cost = _action_bytes(change)
        if batches[-1] and (len(batches[-1]) >= COMMIT_MAX_ACTIONS or budget + cost > COMMIT_MAX_BYTES):
            batches.append([])
            budget = _ENVELOPE_OVERHEAD
        batches[-1].append(change)
        budget += cost
    return [b for b in batches if b]


def to_operation(change: FileChange, content: bytes | None = None) -> CommitOperation:
    """The commit action for one change (`content` for inline files)."""
    if change.change == "deleted":
        return CommitOperation(action="delete", path=change.path)
    return CommitOperation(
        action="create",
        path=change.path,
        size=change.size,
        sha256=change.sha256,
        lfs=change.lfs,
        content=None if change.lfs else content,
    )


def tree_differences(
    local: Mapping[str, tuple[str, int]],
    remote: Mapping[str, RepoFile],
    delete_missing: bool = True,
    ignored: Callable[[str], bool] = lambda _: False,
) -> list[str]:
    """Human-readable differences between the manifest and a remote listing (empty when equal); a
    remote file the publish does not manage is no difference."""
    problems = []
    for path, (sha, size) in sorted(local.items()):
        theirs = remote.get(path)
        if theirs is None:
            problems.append(f"{path}: missing on the hub")
        elif (theirs.sha256, theirs.size) != (sha, size):
            problems.append(
                f"{path}: hub has {theirs.size} bytes sha256 {theirs.sha256[:12]}, local {size} bytes sha256 {sha[:12]}"
            )
    if delete_missing:
        problems.extend(
            f"{path}: on the hub but not in the folder"
            for path in sorted(set(remote) - set(local))
            if managed(path, ignored)
        )
    return problems
