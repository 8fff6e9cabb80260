"""Model folders on disk, and comparing them with what the hub holds.

Blob content is random on purpose: the session hub's blob store outlives its per-test reset, so bytes
it has seen before would not be uploaded again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub_tasks import HubClient

from local_hub.hub_files import GITATTRIBUTES, GITATTRIBUTES_PATH

MIB = 1 << 20
# The hub's own .gitattributes as a listing shows it: (path, (sha256, size)).
HUB_GITATTRIBUTES = (GITATTRIBUTES_PATH, (hashlib.sha256(GITATTRIBUTES).hexdigest(), len(GITATTRIBUTES)))
CONFIG = b'{"framework": "pytorch", "task": "text-generation"}\n'


def blob(size: int) -> bytes:
    """Fresh random bytes: the hub's blob store outlives its per-test reset, so content must be unique."""
    return os.urandom(size)


def write_files(folder: Path, files: dict[str, bytes | str]) -> None:
    """Write path -> content below `folder` (parents created)."""
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


def make_folder(root: Path, files: dict[str, bytes | str] | None = None, *, config: bytes | None = CONFIG) -> Path:
    """A model folder: configuration.json (unless `config=None`) plus `files`."""
    root.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (root / "configuration.json").write_bytes(config)
    write_files(root, files or {})
    return root


def model_dir(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    """A publishable folder: configuration.json plus `files` (path -> content), a README when none."""
    return make_folder(root, files or {"README.md": "# demo\n"})


def model_folder(root: Path, lfs: int = 2, lfs_size: int = 200 * 1024) -> Path:
    """A typical small model: README, config, a nested text file and `lfs` unique LFS blobs."""
    files: dict[str, bytes | str] = {
        "README.md": "# demo\n",
        "config.json": '{"hidden": 8}\n',
        "tokenizer/vocab.txt": "\n".join(f"tok{i}" for i in range(50)),
    }
    for i in range(lfs):
        files[f"weights/part-{i}.safetensors"] = blob(lfs_size)
    return make_folder(root, files)


def manifest(folder: Path) -> dict[str, tuple[str, int]]:
    """rel POSIX path -> (sha256, size) of every file below `folder`."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out[path.relative_to(folder).as_posix()] = (hashlib.sha256(data).hexdigest(), len(data))
    return out


def tree_of(root: Path) -> dict[str, str]:
    """rel POSIX path -> sha256 of every file below `root` (hidden partials included, so leftovers show)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def remote_all(client: HubClient, model_id: str, revision: str = "master") -> dict[str, tuple[str, int]]:
    """rel path -> (sha256, size) of every file of a revision, as the hub lists it, its own files included."""
    return {f.path: (f.sha256, f.size) for f in client.get_model_files(model_id, revision, recursive=True) if f.is_file}


def without_hub_files(files: dict[str, tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """`files` minus the `.gitattributes` the hub wrote itself (whatever its mode), never one a folder brought."""
    return {path: entry for path, entry in files.items() if (path, entry) != HUB_GITATTRIBUTES}


def remote(client: HubClient, model_id: str, revision: str = "master") -> dict[str, tuple[str, int]]:
    """The files of a revision that a publish put there (compare with `manifest`): `remote_all` minus
    the hub's own `.gitattributes`, so a comparison holds in every mode of the hub."""
    return without_hub_files(remote_all(client, model_id, revision))
