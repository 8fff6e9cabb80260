"""Signed CDN URLs: which downloads are redirected, the `auth_key` that signs them, and OSS-style errors.

The real hub answers a file download with a 302 to a CDN host whose URL carries
`auth_key=<ts>-<rand>-<uid>-<hash>&filename=<name>` and needs no credentials (protocol.md §22.1,
third-party report; the Aliyun CDN "type A" shape). local_hub signs `<path>-<expires>-<rand>-0` with
an HMAC-SHA256 secret drawn once per hub process, so a URL outlives neither its expiry nor the
process that minted it, and any change to its path or expiry breaks the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from typing import Literal, get_args
from xml.sax.saxutils import escape

DownloadRedirect = Literal["off", "lfs", "all"]
DOWNLOAD_REDIRECT_MODES: tuple[str, ...] = get_args(DownloadRedirect)
# Where blobs live on the CDN host, named by their sha256 (the real hub's `/prod/lfs-objects/..`).
CDN_PREFIX = "/prod/lfs-objects"
# The real hub's signed URLs were seen to last about 20-30 minutes (protocol.md §22 "Not established").
DEFAULT_CDN_URL_TTL = 1800.0


def download_redirect_mode(value: object) -> DownloadRedirect:
    """Check a `--download-redirect` mode from the CLI or the control plane.

    Raises:
        ValueError: Not one of `off`, `lfs`, `all`.

    Example:
        >>> download_redirect_mode("all")
        'all'
    """
    if value not in DOWNLOAD_REDIRECT_MODES:
        raise ValueError(f"download_redirect must be one of {', '.join(DOWNLOAD_REDIRECT_MODES)}, got {value!r}")
    return value  # type: ignore[return-value]


def url_ttl(value: object) -> float:
    """Check a signed URL's lifetime in seconds (0 mints URLs that have already expired).

    Raises:
        ValueError: Negative, infinite or not a number.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"cdn_url_ttl_seconds must be a number of seconds >= 0, got {value!r}")
    return float(value)


def redirects(mode: str, is_lfs: bool) -> bool:
    """Whether the file route answers a file with a redirect to the CDN.

    Which files the real hub redirects is UNCERTAIN. `lfs` (the default under `--hosts`) redirects
    the files stored as LFS objects: the store records that per file (`is_lfs`, from the commit's
    `type: lfs` action, §10.5), so no `.gitattributes` rule has to be guessed again here; the CDN is
    the LFS object store's front, and small inline files are served by the API host itself. `all`
    covers a hub that puts every file behind its CDN.

    Example:
        >>> redirects("lfs", is_lfs=False), redirects("all", is_lfs=False)
        (False, True)
    """
    return mode == "all" or (mode == "lfs" and is_lfs)


def blob_path(sha256: str) -> str:
    """The CDN path of a blob."""
    return f"{CDN_PREFIX}/{sha256}"


class UrlSigner:
    """Mints and checks `auth_key` values.

    Args:
        secret: The HMAC key; a fresh random one when None (one per hub process).
        clock: Seconds since the epoch.

    Example:
        >>> signer = UrlSigner(b"k", clock=lambda: 1000.0)
        >>> key = signer.sign("/prod/lfs-objects/ab", ttl=60)
        >>> key.split("-")[0], signer.check("/prod/lfs-objects/ab", key), signer.check("/other", key)
        ('1060', None, 'bad_signature')
    """

    def __init__(self, secret: bytes | None = None, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._clock = clock

    def _mac(self, path: str, expires: str, rand: str) -> str:
        return hmac.new(self._secret, f"{path}-{expires}-{rand}-0".encode(), hashlib.sha256).hexdigest()

    def sign(self, path: str, ttl: float) -> str:
        """An `auth_key` for `path`, valid for `ttl` seconds (whole seconds: it expires at
        `floor(now + ttl)`, so a ttl of 0 gives one that is already expired)."""
        expires, rand = str(int(self._clock() + ttl)), secrets.token_hex(16)
        return f"{expires}-{rand}-0-{self._mac(path, expires, rand)}"

    def check(self, path: str, auth_key: str | None) -> str | None:
        """None for a valid key; otherwise why not: `bad_signature` (missing, malformed, or not ours
        for this path and expiry) or `expired`."""
        parts = (auth_key or "").split("-")
        if len(parts) != 4 or not parts[0].isdigit() or parts[2] != "0":
            return "bad_signature"
        expires, rand, _, mac = parts
        if not hmac.compare_digest(mac.encode(), self._mac(path, expires, rand).encode()):
            return "bad_signature"
        if self._clock() >= int(expires):
            return "expired"
        return None


def oss_error(code: str, message: str, request_id: str, host_id: str) -> bytes:
    """An OSS-style XML error body (`<Error><Code>..</Code><Message>..</Message>..</Error>`).

    Example:
        >>> b"<Code>AccessDenied</Code>" in oss_error("AccessDenied", "no", "r1", "cdn.hub.test")
        True
    """
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
        f"  <Code>{escape(code)}</Code>\n  <Message>{escape(message)}</Message>\n"
        f"  <RequestId>{escape(request_id)}</RequestId>\n  <HostId>{escape(host_id)}</HostId>\n</Error>\n"
    ).encode()
