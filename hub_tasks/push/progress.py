"""Thread-safe byte and file counters of a push, per phase, for a callback and a throttled log line."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hub_tasks.types import ProgressEvent

# The push's own logger, so its progress lines sit with the rest of the push's log.
log = logging.getLogger("hub_tasks.push.engine")
LOG_EVERY_SECONDS = 5.0


def format_size(nbytes: int) -> str:
    """A byte count as people read it: bytes below 1 KiB, else KiB, MiB or GiB with one decimal.

    Example:
        >>> [format_size(n) for n in (0, 900, 1536, 5 * 2**20, 3 * 2**30 + 2**29)]
        ['0 B', '900 B', '1.5 KiB', '5.0 MiB', '3.5 GiB']
    """
    if nbytes < 1024:
        return f"{nbytes} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        nbytes /= 1024  # type: ignore[assignment]
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def describe(event: ProgressEvent) -> str:
    """A progress event as a log line's tail, e.g. `upload: 40% (4.0 of 10.0 MiB, 1 of 3 files)`.

    The percentage is of the bytes, or of the files when the phase has no bytes (empty files); it stays
    below 100 until the last file is counted done.

    Example:
        >>> describe(ProgressEvent(phase="upload", bytes_done=0, bytes_total=0, files_done=0, files_total=1))
        'upload: 0% (0 B of 0 B, 0 of 1 files)'
    """
    return (
        f"{event.phase}: {percent(event):.0f}% ({format_size(event.bytes_done)} of {format_size(event.bytes_total)},"
        f" {event.files_done} of {event.files_total} files)"
    )


def percent(event: ProgressEvent) -> float:
    """How far the phase is, 0-100: by bytes, by files when it has no bytes; 100 only once every file is done."""
    finished = event.files_done >= event.files_total and event.bytes_done >= event.bytes_total
    if finished:
        return 100.0
    if event.bytes_total:
        return min(99.0, 100.0 * event.bytes_done / event.bytes_total)
    return min(99.0, 100.0 * event.files_done / event.files_total) if event.files_total else 0.0


class Progress:
    """Thread-safe byte and file counters per phase; feeds the callback and a throttled log line.

    Hashing and uploading overlap (uploads start every 64 hashed blobs), so each phase keeps its
    own counters: [bytes_done, bytes_total, files_done, files_total].
    """

    def __init__(self, callback: Callable[[ProgressEvent], None] | None, model_id: str) -> None:
        self._callback = callback
        self._model_id = model_id
        self._lock = threading.Lock()
        self._last_log = 0.0
        self._counts: dict[str, list[int]] = {"hash": [0, 0, 0, 0], "upload": [0, 0, 0, 0]}

    def start(self, phase: str, bytes_total: int = 0, files_total: int = 0) -> None:
        """Begin a phase with known totals (uploads grow theirs with `expect`)."""
        with self._lock:
            self._counts[phase] = [0, bytes_total, 0, files_total]

    def expect(self, nbytes: int, files: int = 1, phase: str = "upload") -> None:
        """Raise the totals of a phase."""
        with self._lock:
            self._counts[phase][1] += nbytes
            self._counts[phase][3] += files

    def add(self, phase: str, nbytes: int = 0, files: int = 0) -> None:
        """Count work done in a phase and report it."""
        with self._lock:
            counts = self._counts[phase]
            counts[0] += nbytes
            counts[2] += files
            event = ProgressEvent(
                phase=phase,  # type: ignore[arg-type]
                bytes_done=min(counts[0], counts[1]),
                bytes_total=counts[1],
                files_done=counts[2],
                files_total=counts[3],
            )
            now = time.monotonic()
            due = now - self._last_log >= LOG_EVERY_SECONDS
            if due:
                self._last_log = now
        if due:
            log.info("%s %s", self._model_id, describe(event))
        if self._callback is not None:
            self._callback(event)
