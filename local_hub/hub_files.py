"""The files the hub manages itself: the `.gitattributes` it injects (one per repo type), and when.

The real hub injects a `.gitattributes` that tracks large files with LFS (protocol.md §20; the
official SDK exempts it from plugin manifests because "the hub injects it"). *When* it does so is
UNCERTAIN, so local_hub offers each plausible behaviour as a mode, and the client is tested in all:

- `on-create`: repo creation makes a first commit on `master` that holds the file (what Hugging
  Face does with its "initial commit"). The default.
- `on-first-commit`: the file is added to the repo's first content commit, unless that commit
  brings its own `.gitattributes`.
- `off`: the hub never writes it.
"""

from __future__ import annotations

from typing import Literal, get_args

HubFilesMode = Literal["on-create", "on-first-commit", "off"]
HUB_FILES_MODES: tuple[str, ...] = get_args(HubFilesMode)
GITATTRIBUTES_PATH = ".gitattributes"
INITIAL_COMMIT_MESSAGE = "Initial commit"

# The usual large-file patterns (Hugging Face's default list, protocol.md §20), each tracked by LFS.
_LFS_PATTERNS = [
    "*.7z",
    "*.arrow",
    "*.bin",
    "*.bz2",
    "*.ckpt",
    "*.ftz",
    "*.gz",
    "*.h5",
    "*.joblib",
    "*.lfs.*",
    "*.mlmodel",
    "*.model",
    "*.msgpack",
    "*.npy",
    "*.npz",
    "*.onnx",
    "*.ot",
    "*.parquet",
    "*.pb",
    "*.pickle",
    "*.pkl",
    "*.pt",
    "*.pth",
    "*.rar",
    "*.safetensors",
    "saved_model/**/*",
    "*.tar",
    "*.tar.*",
    "*.tflite",
    "*.tgz",
    "*.wasm",
    "*.xz",
    "*.zip",
    "*.zst",
    "*tfevents*",
]
# A dataset's file: the same list plus the suffixes SDK 1.40 sends to LFS for datasets whatever their size
# (`DATASET_LFS_SUFFIX`, protocol.md §21.7: media, archives, `.jsonl`). The real hub's dataset file is
# UNCERTAIN; this choice makes the hub's own file and the SDK's LFS choice agree, so a client that reads the
# file to decide what goes to LFS decides as the SDK does. `*.csv` (and `*.json`, `*.txt`) stay out: the SDK
# commits small ones inline, and a file tracking them would claim LFS for blobs that are not.
_DATASET_LFS_PATTERNS = [
    "*.aac",
    "*.audio",
    "*.bmp",
    "*.flac",
    "*.gif",
    "*.jack",
    "*.jpeg",
    "*.jpg",
    "*.jsonl",
    "*.lz4",
    "*.mp3",
    "*.mp4",
    "*.ogg",
    "*.pcm",
    "*.png",
    "*.raw",
    "*.sam",
    "*.tiff",
    "*.wav",
    "*.webm",
    "*.webp",
]


def _gitattributes(patterns: list[str]) -> bytes:
    return "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in patterns).encode()


GITATTRIBUTES = _gitattributes(_LFS_PATTERNS)
DATASET_GITATTRIBUTES = _gitattributes(_LFS_PATTERNS + [p for p in _DATASET_LFS_PATTERNS if p not in _LFS_PATTERNS])


def hub_files_mode(value: object) -> HubFilesMode:
    """Check a mode name from the CLI or the control plane.

    Raises:
        ValueError: Not one of `on-create`, `on-first-commit`, `off`.

    Example:
        >>> hub_files_mode("off")
        'off'
    """
    if value not in HUB_FILES_MODES:
        raise ValueError(f"gitattributes mode must be one of {', '.join(HUB_FILES_MODES)}, got {value!r}")
    return value  # type: ignore[return-value]
