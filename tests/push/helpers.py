"""Shared pieces of the push tests: fast-retry clients, folder builders, tree and stats comparisons,
and the official SDK's snapshot_download in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from pathlib import Path
from typing import Any

from hub_tasks import HubClient, HubSettings
from hub_tasks.types import PushResult
from tests.conftest import RunningHub, run_sdk, sdk_env

MIB = 1 << 20
CONFIG = b'{"framework": "pytorch", "task": "text-generation"}\n'
# Retries fast enough for a test suite; every other knob keeps its meaning.
FAST: dict[str, Any] = {
    "retry_attempts": 4,
    "retry_backoff_seconds": 0.01,
    "retry_backoff_max_seconds": 0.05,
    "retry_after_max_seconds": 0.2,
    "retry_max_total_wait_seconds": 5.0,
    "connect_timeout": 5.0,
    "read_timeout": 10.0,
}


def make_client(hub: RunningHub, user: str | None = "alice", **overrides: Any) -> HubClient:
    """A client for `hub` with `user`'s token (None: anonymous) and fast retries."""
    settings = HubSettings(endpoint=hub.url, **{**FAST, **overrides})
    return HubClient(token=hub.tokens[user] if user else None, settings=settings)


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


def remote(client: HubClient, model_id: str, revision: str = "master") -> dict[str, tuple[str, int]]:
    """rel path -> (sha256, size) of every file of a revision, as the hub lists it."""
    return {f.path: (f.sha256, f.size) for f in client.get_model_files(model_id, revision, recursive=True) if f.is_file}


def push(client: HubClient, model_id: str, folder: Path, cache: Path | None, **options: Any) -> PushResult:
    """`client.push_model` with an explicit hash cache (never the user's real one)."""
    return client.push_model(model_id, folder, hash_cache=cache, **options)


class Counter:
    """Differences of the hub's counters since construction (or the last `mark`)."""

    def __init__(self, hub: RunningHub) -> None:
        self.hub = hub
        self.mark()

    def mark(self) -> None:
        self.before = self.hub.control.stats()

    def delta(self) -> dict[str, Any]:
        """Counter name -> increase; `requests` is route -> increase (only routes that moved)."""
        now = self.hub.control.stats()
        out: dict[str, Any] = {
            key: now[key] - self.before.get(key, 0) for key, value in now.items() if isinstance(value, int)
        }
        routes = set(now["requests"]) | set(self.before["requests"])
        moved = {r: now["requests"].get(r, 0) - self.before["requests"].get(r, 0) for r in routes}
        out["requests"] = {r: n for r, n in moved.items() if n}
        return out


SNAPSHOT = """
import hashlib, json, os, sys
from modelscope.hub.snapshot_download import snapshot_download

model_id, revision, cache = sys.argv[1:4]
path = snapshot_download(model_id, revision=revision, cache_dir=cache)
files = {}
for dirpath, _, names in os.walk(path):
    for name in names:
        full = os.path.join(dirpath, name)
        rel = os.path.relpath(full, path).replace(os.sep, "/")
        with open(full, "rb") as handle:
            data = handle.read()
        files[rel] = [hashlib.sha256(data).hexdigest(), len(data)]
print(json.dumps(files))
"""


def sdk_snapshot(hub: RunningHub, tmp_path: Path, model_id: str, revision: str = "master") -> dict[str, tuple]:
    """What the official SDK's snapshot_download fetches: rel path -> (sha256, size), SDK bookkeeping left out."""
    cache = tmp_path / "sdk-download"
    script = (
        "import sys; sys.argv = ['snap', "
        + ", ".join(json.dumps(a) for a in (model_id, revision, str(cache)))
        + "]\n"
        + textwrap.dedent(SNAPSHOT)
    )
    files = run_sdk(script, sdk_env(hub, tmp_path, hub.tokens["alice"]), timeout=120)
    return {rel: tuple(v) for rel, v in files.items() if rel not in (".mdl", ".msc", ".mv")}
