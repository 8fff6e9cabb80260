"""Checking and scanning a model folder before anything remote happens.

Every refusal is an `InvalidParameter` (a `ValueError`, as in the SDK) that names the file and
the fix. The scan is deterministic: sorted POSIX paths relative to the folder.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hub_tasks.errors import InvalidParameter
from hub_tasks.files import IgnoreRules, matches

CONFIG_FILE = "configuration.json"
SKIPPED_DIRS = frozenset({".git", ".cache"})
# The official SDK's own upload state files are never published either (§10.7).
SKIPPED_FILES = frozenset({".ms_upload_cache", ".ms_upload_progress"})
SECRET_PATTERNS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".htpasswd",
)


@dataclass(frozen=True)
class LocalFile:
    """One file to publish: its repo path and what identifies its bytes on disk."""

    path: str  # POSIX path relative to the folder, as it will appear on the hub
    abspath: str  # the real path that is read (symlinks resolved)
    size: int
    mtime_ns: int
    inode: int
    device: int


def check_folder(model_dir: str | os.PathLike[str], what: str = "model_dir", *, require_config: bool = True) -> Path:
    """The folder exists, is a directory, and (for a model: `require_config`) holds a `configuration.json`
    with a JSON object. A dataset folder needs none (SDK 1.40 asks for none either).

    Never creates `configuration.json` in the user's folder (the old SDK did).

    Raises:
        InvalidParameter: Missing folder, not a folder, missing or invalid configuration.json.
    """
    folder = Path(model_dir).expanduser()
    if not folder.exists():
        raise InvalidParameter(f"{what} {str(folder)!r} does not exist: pass the folder to publish")
    if not folder.is_dir():
        raise InvalidParameter(f"{what} {str(folder)!r} is a file, not a folder: pass its parent folder")
    if not require_config:
        return folder.resolve()
    config = folder / CONFIG_FILE
    if not config.is_file():
        raise InvalidParameter(
            f"{config} is missing: a ModelScope model folder needs a configuration.json "
            '(e.g. {"framework": "pytorch", "task": "text-generation"})'
        )
    try:
        value = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidParameter(f"{config} is not valid JSON ({exc}): fix or regenerate it") from exc
    if not isinstance(value, dict):
        raise InvalidParameter(f"{config} must hold a JSON object, not {type(value).__name__}")
    return folder.resolve()


def scan_folder(
    folder: Path,
    ignored: Callable[[str], bool] = IgnoreRules(),
    allow_secret_files: bool | Iterable[str] = False,
    skip_paths: Iterable[str] = (),
) -> list[LocalFile]:
    """Every file to publish, sorted by repo path.

    Skips `.git/`, `.cache/`, the SDK's upload state files, `skip_paths` (our own cache files),
    and every folder or file whose relative path `ignored` (an `IgnoreRules`) accepts.

    Raises:
        InvalidParameter: A symlink leads outside the folder; a file looks like a secret and was
            not allowed; a file cannot be read; a path is not valid UTF-8.
    """
    skip = {os.path.realpath(p) for p in skip_paths}
    files: list[LocalFile] = []
    # The real folders above each folder still to walk: a link to one of them would loop forever. A link to
    # any other folder inside is published as a copy, like a link to a file (the target is published too).
    above: dict[str, frozenset[str]] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real_dir = os.path.realpath(dirpath)
        _inside(folder, real_dir, dirpath)
        chain = above.pop(dirpath, frozenset()) | {real_dir}
        rel_dir = PurePosixPath(Path(dirpath).relative_to(folder).as_posix())
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIPPED_DIRS
            and not ignored(str(rel_dir / d) if str(rel_dir) != "." else d)
            and os.path.realpath(os.path.join(dirpath, d)) not in chain
        )
        above.update((os.path.join(dirpath, d), chain) for d in dirnames)
        for name in sorted(filenames):
            rel = name if str(rel_dir) == "." else f"{rel_dir}/{name}"
            full = os.path.join(dirpath, name)
            if name in SKIPPED_FILES or ignored(rel):
                continue
            # One lstat per file: a file that is no link is where its folder really is (a realpath per file
            # costs a syscall per path component, most of a 20,000-file scan).
            try:
                info: os.stat_result | None = os.lstat(full)
            except OSError:
                info = None  # _local_file says why it cannot be read
            linked = info is None or stat.S_ISLNK(info.st_mode)
            real = os.path.realpath(full) if linked else os.path.join(real_dir, name)
            if real in skip:
                continue
            files.append(_local_file(folder, rel, full, real, None if linked else info, allow_secret_files))
    return sorted(files, key=lambda f: f.path)


def _inside(folder: Path, real: str, shown: str) -> None:
    root = str(folder)
    if real != root and not real.startswith(root + os.sep):
        raise InvalidParameter(
            f"{shown} is a symlink that leads outside the model folder (to {real}): copy the target into "
            "the folder or remove the link"
        )


def _local_file(
    folder: Path,
    rel: str,
    full: str,
    real: str,
    info: os.stat_result | None,
    allow_secret_files: bool | Iterable[str],
) -> LocalFile:
    """`info` is the file's own (l)stat when it is no link; a link is followed here."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidParameter(f"{full!r}: the file name is not valid UTF-8; rename it") from exc
    _inside(folder, real, full)
    if matches(rel, SECRET_PATTERNS) and not (
        allow_secret_files is True or (allow_secret_files and matches(rel, list(allow_secret_files)))
    ):
        raise InvalidParameter(
            f"{full} looks like a secret ({rel}); refusing to publish it. Remove it, add it to "
            "ignore_file_pattern, or pass allow_secret_files=[...] if it really belongs in the model"
        )
    try:
        info = info or os.stat(real)
    except OSError as exc:
        raise InvalidParameter(f"{full} cannot be read ({exc.strerror}): fix its permissions") from exc
    if not stat.S_ISREG(info.st_mode):
        raise InvalidParameter(f"{full} is not a regular file (a device, socket or fifo): remove it")
    if not os.access(real, os.R_OK):
        raise InvalidParameter(f"{full} cannot be read (permission denied): fix its permissions")
    return LocalFile(rel, real, info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev)
