"""Content-addressed blob store: files named by their sha256, written to a temp file and renamed."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from local_hub.errors import BadRequest

_HEX = frozenset("0123456789abcdef")
_IOV_MAX = 512  # buffers per writev call (Linux allows 1024)
# With fsync on, start the disk writing every this many bytes while the upload goes on, so that the
# final fsync only waits for the tail instead of the whole blob, and drop what is already on disk from
# the page cache (0 disables both).
WRITEBACK_AHEAD = 32 << 20


def is_sha256(value: object) -> bool:
    """True for a 64-character lowercase hex string."""
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


class BlobWriter:
    """Streams one blob to a temp file while hashing it; `commit()` verifies and renames it into place.

    Nothing is visible under the blob's name until `commit()` succeeds, so a dropped upload or a
    hash mismatch never leaves a half-written blob that a later commit could reference.

    Not thread-safe: one thread at a time (the upload route gives each upload its own writer thread).
    """

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="put-")
        self._file = os.fdopen(fd, "wb", buffering=0)
        self._fd = fd
        self._tmp = Path(name)
        self._hash = hashlib.sha256()
        self.size = 0
        self._dropped_at = 0  # the size at the last _drop_cache()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes (hashlib releases the GIL on large buffers, so callers batch chunks)."""
        self.write_many((data,))

    def write_many(self, chunks: Sequence[bytes | bytearray | memoryview]) -> None:
        """Append several buffers in order: hash each, then one `writev` for all, without joining them."""
        for chunk in chunks:
            self._hash.update(chunk)
        pending = [memoryview(c).cast("B") for c in chunks if len(c)]
        while pending:
            written = os.writev(self._fd, pending[:_IOV_MAX])
            self.size += written
            while pending and written >= len(pending[0]):  # drop what is fully written, keep a partial tail
                written -= len(pending[0])
                pending.pop(0)
            if written:
                pending[0] = pending[0][written:]
        if self._store.fsync and WRITEBACK_AHEAD and self.size - self._dropped_at >= WRITEBACK_AHEAD:
            self._dropped_at = self.size
            self._drop_cache()

    def _drop_cache(self) -> None:
        """Start writing the file's dirty pages, without waiting, and drop its clean ones from the page cache.

        On Linux POSIX_FADV_DONTNEED over the whole file starts writeback of the dirty pages
        (WB_SYNC_NONE) and drops the clean ones, i.e. what earlier calls sent to disk; pages still
        being written are skipped and dropped by a later call or after `commit()`'s fsync.

        A stored blob has no business in the page cache of the machine local_hub shares with its
        clients (a real hub keeps blobs in object storage, not in the publisher's memory). Keeping
        it also made the hub's cost depend on the machine: on a VM that reports free pages to its
        host (virtio-balloon free page reporting), writing a blob into memory freed more than two
        seconds earlier cost the kernel 3 to 5 CPU-s per 2 GiB against 0.6 into memory freed just
        now, so a 2 GiB upload's hub CPU swung with the client's timing. Dropping pages as they
        reach the disk recycles the same few MiB of recently freed memory instead.
        """
        with contextlib.suppress(AttributeError, OSError):
            os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_DONTNEED)

    def commit(self, expected_sha256: str | None = None, expected_size: int | None = None) -> str:
        """Verify the announced hash and size, fsync, and rename into place. Returns the sha256.

        Raises:
            BadRequest: The bytes do not match the announced sha256 or size (the temp file is removed).
        """
        digest = self._hash.hexdigest()
        try:
            if expected_size is not None and self.size != expected_size:
                raise BadRequest(f"blob size mismatch: received {self.size} bytes, announced {expected_size}")
            if expected_sha256 is not None and digest != expected_sha256:
                raise BadRequest(f"blob sha256 mismatch: received {digest}, announced {expected_sha256}")
            if self._store.fsync:
                os.fsync(self._fd)
                self._drop_cache()  # all clean now: the whole blob leaves the page cache
            self._file.close()
            target = self._store.path_for(digest)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, target)
            return digest
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the temp file; safe to call twice."""
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()


class BlobStore:
    """Blobs under `<root>/ab/cd/<sha256>`; global across repos, as the real hub's LFS store is.

    Args:
        root: Directory holding the blobs.
        fsync: Flush each blob to disk before acknowledging it ("nothing acknowledged is lost").

    Example:
        >>> import tempfile
        >>> store = BlobStore(tempfile.mkdtemp())
        >>> sha = store.put_bytes(b"hello")
        >>> store.has(sha, 5)
        True
    """

    def __init__(self, root: str | os.PathLike[str], fsync: bool = True) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        for stale in self.tmp_dir.iterdir():  # leftovers of a crash are never trusted
            with contextlib.suppress(OSError):
                stale.unlink()

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this hash lives (whether or not it exists)."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def has(self, sha256: str, size: int | None = None) -> bool:
        """True when the blob is stored (and has `size` bytes, when given)."""
        try:
            st = self.path_for(sha256).stat()
        except (FileNotFoundError, NotADirectoryError):
            return False
        return size is None or st.st_size == size

    def size_of(self, sha256: str) -> int | None:
        """Byte size of a stored blob, or None."""
        try:
            return self.path_for(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def writer(self) -> BlobWriter:
        """Start streaming a new blob."""
        return BlobWriter(self)

    def put_bytes(self, data: bytes) -> str:
        """Store a small blob held in memory (inline commit content). Returns its sha256."""
        digest = hashlib.sha256(data).hexdigest()
        if self.has(digest, len(data)):
            return digest
        writer = self.writer()
        writer.write(data)
        return writer.commit(digest, len(data))
