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
            log.info(
                "%s %s: %.1f / %.1f MiB, %d / %d files",
                self._model_id,
                event.phase,
                event.bytes_done / 2**20,
                event.bytes_total / 2**20,
                event.files_done,
                event.files_total,
            )
        if self._callback is not None:
            self._callback(event)
